//! Write amplification and read speed of the shard store's layouts — segment files (what a node
//! uses), RocksDB with BlobDB, RocksDB with SST files only — past the point where a criterion
//! micro-benchmark stops: gigabytes of shards, flushed and compacted.
//!
//! `cargo run --release --example shard_store_amplification [GIB]` (part of `make bench`).
//! Prints, for each layout, the bytes the process wrote to disk per byte of shard stored (from
//! /proc/self/io), the synced put rate, and the verified get rate after everything is on disk.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A measurement tool: a panic is the report.

use std::time::Instant;

use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use cairn_shard_store::{RocksShardStore, SegmentShardStore, ShardKey, ShardStore, ShardStoreConfig};

const SHARD: usize = 512 << 10;

fn disk_writes() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines().find_map(|l| l.strip_prefix("write_bytes: ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn main() {
    cairn_node::allocator::keep_freed_buffers();
    let gib: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let count = ((gib * (1u64 << 30) as f64) / SHARD as f64) as u32;
    let shards: Vec<Vec<u8>> = (0..64).map(|i| random(SHARD, i)).collect();
    let key = |n: u32| ShardKey {
        account: AccountId(1),
        block: BlockId::of(&n.to_le_bytes()),
        generation: 1,
        index: 0,
    };
    println!("{count} shards of {} KiB ({gib} GiB) per layout", SHARD >> 10);

    for layout in [Layout::Segments, Layout::BlobDb, Layout::Sst] {
        let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
        let mut config = ShardStoreConfig::new(dir.path());
        config.reserve_disk_bytes = 0;
        config.blob_files = layout == Layout::BlobDb;
        let store = layout.open(config);

        let written_before = disk_writes();
        let start = Instant::now();
        for n in 0..count {
            store.put(&key(n), &shards[n as usize % shards.len()]).unwrap();
        }
        let put_secs = start.elapsed().as_secs_f64();
        store.flush_and_compact().unwrap();
        let written = disk_writes() - written_before;

        let start = Instant::now();
        let mut read = 0usize;
        for i in 0..count.min(2000) {
            // A scattered order, so reads are not served from what was written last.
            let n = (i.wrapping_mul(2_654_435_761)) % count;
            read += store.get(&key(n)).unwrap().unwrap().len();
        }
        let get_secs = start.elapsed().as_secs_f64();
        let stored = count as f64 * SHARD as f64;
        println!(
            "{:8}  put (synced) {:7.1} MB/s   disk writes {:.2}× the data   get (verified) {:7.1} MB/s",
            layout.name(),
            stored / put_secs / 1e6,
            written as f64 / stored,
            read as f64 / get_secs / 1e6,
        );
    }
}

/// A way of keeping shards on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Segment files, the index in RocksDB (`SegmentShardStore`).
    Segments,
    /// Shards as RocksDB values in blob files (`RocksShardStore`, BlobDB on).
    BlobDb,
    /// Shards as RocksDB values in SST files (`RocksShardStore`, BlobDB off).
    Sst,
}

/// A store of either kind, flushed and compacted the way each does it.
enum Store {
    Segments(SegmentShardStore),
    Rocks(Box<RocksShardStore>),
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Self::Segments => "segments",
            Self::BlobDb => "blobdb",
            Self::Sst => "sst",
        }
    }

    fn open(self, mut config: ShardStoreConfig) -> Store {
        match self {
            Self::Segments => {
                // Compaction runs in `flush_and_compact`, inside the measurement.
                config.background_compaction = false;
                Store::Segments(SegmentShardStore::open(config).unwrap())
            }
            Self::BlobDb | Self::Sst => Store::Rocks(Box::new(RocksShardStore::open(config).unwrap())),
        }
    }
}

impl Store {
    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), cairn_shard_store::ShardStoreError> {
        match self {
            Self::Segments(s) => s.put(key, shard),
            Self::Rocks(s) => s.put(key, shard),
        }
    }

    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, cairn_shard_store::ShardStoreError> {
        match self {
            Self::Segments(s) => s.get(key),
            Self::Rocks(s) => s.get(key),
        }
    }

    fn flush_and_compact(&self) -> Result<(), cairn_shard_store::ShardStoreError> {
        match self {
            Self::Segments(s) => s.flush_and_compact(),
            Self::Rocks(s) => s.flush_and_compact(),
        }
    }
}
