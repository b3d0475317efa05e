//! [`Inner`]: the segment store's state, shared by its operations (`mod.rs`), the commits that
//! make them durable (`commit.rs`) and compaction (`compaction.rs`), each of which adds its
//! own methods.

use std::sync::atomic::{AtomicBool, AtomicU64};

use parking_lot::Mutex;
use rocksdb::{DB, WriteOptions};

use super::appender::Appender;
use super::background::Background;
use super::change::Change;
use super::group_commit::GroupCommit;
use super::index::{LOCATIONS_CF, SEGMENT_RECORDS_CF};
use super::segment::Segments;
use crate::ShardStoreConfig;
use crate::accounting::Accounting;
use crate::key_locks::KeyLocks;
use crate::rocks::{INDEX_CF, SHARDS_CF};

/// Every column family of the store.
pub(super) const ALL_CFS: [&str; 4] = [SHARDS_CF, INDEX_CF, LOCATIONS_CF, SEGMENT_RECORDS_CF];

/// The store's state, shared with its compaction thread.
pub(crate) struct Inner {
    pub(super) config: ShardStoreConfig,
    pub(super) db: DB,
    pub(super) accounting: Accounting,
    pub(super) locks: KeyLocks,
    pub(super) segments: Segments,
    pub(super) appender: Appender,
    pub(super) commits: GroupCommit<Change>,
    pub(super) sync_write: WriteOptions,
    /// Set when a RocksDB write failed (see `commit.rs`).
    pub(super) write_failed: AtomicBool,
    /// The `shards` family held records at open: a shard not in a segment may be there.
    pub(super) legacy: AtomicBool,
    /// One compaction at a time.
    pub(super) compaction: Mutex<()>,
    /// Corrupt records compaction met (and moved as they were, for the scrubber to find).
    pub(super) compaction_errors: AtomicU64,
    pub(super) background: Background,
}
