//! `Accounting`: shards and bytes a store holds, and the capacity and disk checks a put passes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{ShardStoreConfig, ShardStoreError, disk_space};

/// Counts of what the store holds, kept in memory and rebuilt from the index at open.
pub(crate) struct Accounting {
    path: PathBuf,
    capacity_bytes: Option<u64>,
    reserve_disk_bytes: u64,
    used_bytes: AtomicU64,
    shards: AtomicU64,
}

impl Accounting {
    pub(crate) fn new(config: &ShardStoreConfig) -> Self {
        Self {
            path: config.path.clone(),
            capacity_bytes: config.capacity_bytes,
            reserve_disk_bytes: config.reserve_disk_bytes,
            used_bytes: AtomicU64::new(0),
            shards: AtomicU64::new(0),
        }
    }

    /// Sets the counts found by scanning the index at open.
    pub(crate) fn set(&self, shards: u64, used_bytes: u64) {
        self.shards.store(shards, Ordering::SeqCst);
        self.used_bytes.store(used_bytes, Ordering::SeqCst);
    }

    pub(crate) fn shards(&self) -> u64 {
        self.shards.load(Ordering::SeqCst)
    }

    pub(crate) fn used_bytes(&self) -> u64 {
        self.used_bytes.load(Ordering::SeqCst)
    }

    /// Takes `grow` bytes from the capacity and the disk, or refuses. A refused or failed write
    /// gives them back with [`Accounting::release`].
    pub(crate) fn reserve(&self, grow: u64) -> Result<(), ShardStoreError> {
        let used = self.used_bytes.fetch_add(grow, Ordering::SeqCst) + grow;
        if let Some(capacity) = self.capacity_bytes
            && used > capacity
        {
            self.release(grow);
            return Err(ShardStoreError::Full(format!(
                "{grow} more bytes would exceed the configured capacity of {capacity} bytes ({} in use)",
                used - grow
            )));
        }
        let available = match disk_space::available(&self.path) {
            Ok(available) => available,
            Err(e) => {
                self.release(grow);
                return Err(e);
            }
        };
        if available < grow.saturating_add(self.reserve_disk_bytes) {
            self.release(grow);
            return Err(ShardStoreError::Full(format!(
                "{available} bytes free on disk, {grow} needed plus a reserve of {}",
                self.reserve_disk_bytes
            )));
        }
        Ok(())
    }

    /// Gives back bytes taken by [`Accounting::reserve`] or freed by a delete.
    pub(crate) fn release(&self, bytes: u64) {
        self.used_bytes.fetch_sub(bytes, Ordering::SeqCst);
    }

    /// Records a stored shard of `stored` bytes that replaced one of `previous` bytes (if any),
    /// after [`Accounting::reserve`] took the growth.
    pub(crate) fn stored(&self, stored: u64, previous: Option<u64>) {
        match previous {
            Some(previous) => self.release(previous.saturating_sub(stored)),
            None => {
                self.shards.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Records a deleted shard of `stored` bytes.
    pub(crate) fn deleted(&self, stored: u64) {
        self.release(stored);
        self.shards.fetch_sub(1, Ordering::SeqCst);
    }
}
