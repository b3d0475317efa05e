//! `KeyLocks`: a striped lock per shard key, so that a put or delete reads the shard's previous
//! length and updates the accounting without another put or delete of the same key between.

use parking_lot::{Mutex, MutexGuard};

use crate::ShardKey;

/// Stripes: enough that puts of different shards rarely wait on each other.
const STRIPES: usize = 256;

/// One mutex per stripe of keys.
pub(crate) struct KeyLocks {
    stripes: Vec<Mutex<()>>,
}

impl KeyLocks {
    pub(crate) fn new() -> Self {
        Self { stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }

    /// Holds `key`'s stripe until the guard drops.
    pub(crate) fn lock(&self, key: &ShardKey) -> MutexGuard<'_, ()> {
        let block = key.block.as_bytes();
        let stripe = (usize::from(block[0]) << 8) | (usize::from(block[1]) ^ usize::from(key.index));
        self.stripes[stripe % STRIPES].lock()
    }
}
