//! `ShardStoreConfig`: how to open a shard store, whichever layout keeps the shards.

use std::path::PathBuf;

/// Default size of one segment file: large enough that a sealed segment's file-system metadata
/// and its share of the index are negligible, small enough that compacting one takes seconds.
pub const DEFAULT_SEGMENT_BYTES: u64 = 256 << 20;

/// How to open a shard store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardStoreConfig {
    /// Directory of the store: the RocksDB database, and the `segments/` folder beside its files.
    pub path: PathBuf,
    /// Most bytes of shard records to hold; `None` for as much as the disk allows.
    pub capacity_bytes: Option<u64>,
    /// Free disk space to leave untouched, so RocksDB can still flush and compact, and segments
    /// be compacted, when the store has refused new shards.
    pub reserve_disk_bytes: u64,
    /// Keep shard values of the RocksDB layout in blob files (BlobDB) instead of SST files. The
    /// segment store writes no shard into RocksDB; there this is only the layout of the `shards`
    /// column family that an older release filled.
    pub blob_files: bool,
    /// Size past which the segment store starts a new segment file.
    pub segment_bytes: u64,
    /// Run segment compaction on a background thread of the store (tests turn it off and call
    /// `compact` themselves, so what it does happens at a known point).
    pub background_compaction: bool,
}

impl ShardStoreConfig {
    /// Defaults for a store at `path`: no capacity limit, 1 GiB disk reserve, blob files on,
    /// 256 MiB segments compacted in the background.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            capacity_bytes: None,
            reserve_disk_bytes: 1 << 30,
            blob_files: true,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            background_compaction: true,
        }
    }
}
