//! `FaultyShardStore`: any shard store, with failures injected on purpose.
//!
//! Tests wrap the real store in it to prove that the layers above cope with a disk that errors,
//! lies, stalls or fills up: `FaultyShardStore::new(store, seed).fail_writes(0.05)`.
//! Randomness is seeded, so a failing test replays with the same seed.

use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{ShardEntry, ShardKey, ShardStore, ShardStoreError, StoreUsage};

/// Which faults to inject, and how often. Probabilities are in `0.0..=1.0`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Chance that a `put` fails (before reaching the inner store) with a retryable error.
    pub fail_writes: f64,
    /// Chance that a `get` fails with a retryable error.
    pub fail_reads: f64,
    /// Chance that a `get` returns the shard with one bit flipped. This models corruption the
    /// store's own checksum cannot see (in memory, or on the wire) and so checks the layers above.
    pub corrupt_reads: f64,
    /// Chance that a `get` reports the shard as corrupt, as a rotten disk would.
    pub rot_reads: f64,
    /// Delay added to every call, as a slow or overloaded disk.
    pub delay: Duration,
    /// Refuse every `put` as full, as a full disk would.
    pub full: bool,
}

/// A shard store that misbehaves on request.
pub struct FaultyShardStore<S> {
    inner: S,
    faults: Mutex<Faults>,
    rng: Mutex<SmallRng>,
}

impl<S> std::fmt::Debug for FaultyShardStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyShardStore").field("faults", &*self.faults.lock()).finish_non_exhaustive()
    }
}

impl<S: ShardStore> FaultyShardStore<S> {
    /// Wraps `inner` with no faults yet; `seed` drives every random choice.
    pub fn new(inner: S, seed: u64) -> Self {
        Self { inner, faults: Mutex::new(Faults::default()), rng: Mutex::new(SmallRng::seed_from_u64(seed)) }
    }

    /// Fails this fraction of writes.
    pub fn fail_writes(self, probability: f64) -> Self {
        self.faults.lock().fail_writes = probability;
        self
    }

    /// Fails this fraction of reads.
    pub fn fail_reads(self, probability: f64) -> Self {
        self.faults.lock().fail_reads = probability;
        self
    }

    /// Flips a bit in this fraction of returned shards.
    pub fn corrupt_reads(self, probability: f64) -> Self {
        self.faults.lock().corrupt_reads = probability;
        self
    }

    /// Reports this fraction of reads as corrupt.
    pub fn rot_reads(self, probability: f64) -> Self {
        self.faults.lock().rot_reads = probability;
        self
    }

    /// Delays every call.
    pub fn delay(self, delay: Duration) -> Self {
        self.faults.lock().delay = delay;
        self
    }

    /// Replaces the faults while the store is in use (for example, "the disk fills up now").
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock() = faults;
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn roll(&self, probability: f64) -> bool {
        probability > 0.0 && self.rng.lock().random_bool(probability.min(1.0))
    }

    fn pause(&self) -> Faults {
        let faults = self.faults.lock().clone();
        if !faults.delay.is_zero() {
            std::thread::sleep(faults.delay);
        }
        faults
    }
}

impl<S: ShardStore> ShardStore for FaultyShardStore<S> {
    fn put(&self, key: &ShardKey, shard: &[u8]) -> Result<(), ShardStoreError> {
        let faults = self.pause();
        if faults.full {
            return Err(ShardStoreError::Full("injected: disk full".into()));
        }
        if self.roll(faults.fail_writes) {
            return Err(ShardStoreError::Injected("write failed"));
        }
        self.inner.put(key, shard)
    }

    fn get(&self, key: &ShardKey) -> Result<Option<Vec<u8>>, ShardStoreError> {
        let faults = self.pause();
        if self.roll(faults.fail_reads) {
            return Err(ShardStoreError::Injected("read failed"));
        }
        let shard = self.inner.get(key)?;
        if shard.is_some() && self.roll(faults.rot_reads) {
            return Err(ShardStoreError::Corrupt { key: *key, reason: "injected bit rot".into() });
        }
        Ok(shard.map(|mut data| {
            if !data.is_empty() && self.roll(faults.corrupt_reads) {
                let mut rng = self.rng.lock();
                let at = rng.random_range(0..data.len());
                data[at] ^= 1 << rng.random_range(0..8);
            }
            data
        }))
    }

    fn delete(&self, key: &ShardKey) -> Result<bool, ShardStoreError> {
        self.pause();
        self.inner.delete(key)
    }

    fn list(&self, after: Option<&ShardKey>, limit: usize) -> Result<Vec<ShardEntry>, ShardStoreError> {
        self.pause();
        self.inner.list(after, limit)
    }

    fn usage(&self) -> Result<StoreUsage, ShardStoreError> {
        self.inner.usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RocksShardStore, ShardStoreConfig};
    use cairn_proto::{AccountId, BlockId};

    fn store(dir: &std::path::Path) -> RocksShardStore {
        let mut config = ShardStoreConfig::new(dir);
        config.reserve_disk_bytes = 0;
        RocksShardStore::open(config).unwrap()
    }

    fn key(n: u32) -> ShardKey {
        ShardKey { account: AccountId(1), block: BlockId::of(&n.to_le_bytes()), generation: 1, index: 0 }
    }

    #[test]
    fn injected_write_failures_are_retryable_and_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let faulty = FaultyShardStore::new(store(dir.path()), 1).fail_writes(0.5);
        let (mut failed, mut stored) = (0, 0);
        for n in 0..200 {
            match faulty.put(&key(n), b"x") {
                Ok(()) => stored += 1,
                Err(e) => {
                    assert!(e.is_retryable(), "{e}");
                    assert_eq!(faulty.inner().get(&key(n)).unwrap(), None);
                    failed += 1;
                }
            }
        }
        assert!(failed > 50 && stored > 50, "{failed} failed, {stored} stored");
        assert_eq!(faulty.usage().unwrap().shards, stored);
    }

    #[test]
    fn corrupt_reads_flip_exactly_one_bit() {
        let dir = tempfile::tempdir().unwrap();
        let faulty = FaultyShardStore::new(store(dir.path()), 2).corrupt_reads(1.0);
        faulty.put(&key(1), &[0u8; 64]).unwrap();
        let read = faulty.get(&key(1)).unwrap().unwrap();
        let flipped: u32 = read.iter().map(|b| b.count_ones()).sum();
        assert_eq!(flipped, 1);
    }

    #[test]
    fn rot_and_full_are_reported_as_the_real_store_would() {
        let dir = tempfile::tempdir().unwrap();
        let faulty = FaultyShardStore::new(store(dir.path()), 3).rot_reads(1.0);
        faulty.put(&key(1), b"x").unwrap();
        assert!(matches!(faulty.get(&key(1)), Err(ShardStoreError::Corrupt { .. })));
        assert_eq!(faulty.get(&key(2)).unwrap(), None, "a missing shard is not rot");
        faulty.set_faults(Faults { full: true, ..Faults::default() });
        assert!(matches!(faulty.put(&key(3), b"y"), Err(ShardStoreError::Full(_))));
        assert_eq!(faulty.get(&key(1)).unwrap(), Some(b"x".to_vec()));
    }

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let dir = tempfile::tempdir().unwrap();
            let faulty = FaultyShardStore::new(store(dir.path()), seed).fail_writes(0.3);
            (0..50).map(|n| faulty.put(&key(n), b"x").is_ok()).collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
    }
}
