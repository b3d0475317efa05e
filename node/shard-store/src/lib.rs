//! The shard store: where a node keeps the shards it was given, checksummed and fsync'd.
//!
//! [`ShardStore`] is the small trait the rest of the node uses. [`SegmentShardStore`] is the real
//! implementation: shard bodies written once, into append-only segment files, indexed in
//! RocksDB. [`RocksShardStore`] is the layout of earlier releases (shards as RocksDB BlobDB
//! values), which the segment store still reads. [`FaultyShardStore`] wraps any store with
//! injected failures for tests. The trait is synchronous: file and RocksDB calls block, so async
//! callers run them on a blocking pool.

mod accounting;
mod body_files;
mod config;
#[cfg(test)]
mod contract_tests;
mod disk_space;
pub mod faulty;
pub mod key;
mod key_locks;
pub mod rocks;
pub mod segments;

pub use body_files::body_files;
pub use config::{DEFAULT_SEGMENT_BYTES, ShardStoreConfig};
pub use faulty::{Faults, FaultyShardStore};
pub use key::ShardKey;
pub use rocks::RocksShardStore;
pub use segments::{CompactionReport, SegmentShardStore};

/// A stored shard as listed for the scrubber: its key and stored length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardEntry {
    /// Which shard.
    pub key: ShardKey,
    /// Bytes the shard occupies in the store, checksum included.
    pub stored_len: u64,
}

/// How full a store is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreUsage {
    /// Shards held.
    pub shards: u64,
    /// Bytes of shard records held.
    pub used_bytes: u64,
    /// The configured limit, if any.
    pub capacity_bytes: Option<u64>,
    /// Free space on the disk holding the store.
    pub disk_available_bytes: u64,
    /// Errors the storage engine's background work met since the store opened (a compaction
    /// that found a corrupt record): the scrubber hurries when this grows.
    pub background_errors: u64,
}

/// Why a shard operation failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ShardStoreError {
    /// The stored bytes do not match their checksum. The shard must be rebuilt from the others;
    /// it is never served.
    #[error("shard {key} is corrupt: {reason}")]
    Corrupt {
        /// Which shard.
        key: ShardKey,
        /// What did not match.
        reason: String,
    },
    /// The store refuses the shard: its capacity or its disk is exhausted. Place it elsewhere.
    #[error("shard store is full: {0}")]
    Full(String),
    /// The storage engine failed; the operation may succeed if retried.
    #[error("shard store I/O: {context}: {message}")]
    Io {
        /// What was being done, as a plain verb phrase.
        context: &'static str,
        /// The engine's message.
        message: String,
    },
    /// A failure injected by [`FaultyShardStore`].
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

impl ShardStoreError {
    /// True if the same call may succeed later on this node; false means "rebuild the shard"
    /// (corrupt) or "use another node" (full).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Injected(_))
    }
}

/// A node's shard storage.
pub trait ShardStore: Send + Sync {
    /// Stores `shard` under `key`, replacing any previous shard there. Returns only once the
    /// shard is durable (synced to disk). Refuses with [`ShardStoreError::Full`] when it would
    /// exceed the store's capacity or the disk's free space.
    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), ShardStoreError>;

    /// Reads a shard and verifies its checksum; `Ok(None)` if there is none under `key`.
    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError>;

    /// Removes a shard; `Ok(false)` if there was none.
    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError>;

    /// Up to `limit` shards in key order, starting after `after` (from the first when `None`):
    /// the scrubber's cursor.
    fn list(&self, after: Option<&ShardKey>, limit: usize) -> Result<Vec<ShardEntry>, ShardStoreError>;

    /// How full the store is.
    fn usage(&self) -> Result<StoreUsage, ShardStoreError>;
}

impl<S: ShardStore + ?Sized> ShardStore for std::sync::Arc<S> {
    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), ShardStoreError> {
        (**self).put(key, shard)
    }
    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
        (**self).get(key)
    }
    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError> {
        (**self).delete(key)
    }
    fn list(&self, after: Option<&ShardKey>, limit: usize) -> Result<Vec<ShardEntry>, ShardStoreError> {
        (**self).list(after, limit)
    }
    fn usage(&self) -> Result<StoreUsage, ShardStoreError> {
        (**self).usage()
    }
}
