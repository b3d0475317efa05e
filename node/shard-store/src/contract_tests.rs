//! What every [`ShardStore`] layout promises, as test bodies each layout's tests run against
//! its own store: round trips, accounting across a reopen, listing, capacity and a full disk.
//! Each body returns the store (and its folder) for the layout's own further checks.

use std::path::Path;

use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use tempfile::TempDir;

use crate::{ShardKey, ShardStore, ShardStoreConfig, ShardStoreError};

/// The `n`th test block's shard `index`.
pub(crate) fn key(n: u32, index: u8) -> ShardKey {
    ShardKey { account: AccountId(7), block: BlockId::of(&n.to_le_bytes()), generation: 1, index }
}

/// A config for a store in `dir` with no disk reserve.
pub(crate) fn config(dir: &Path) -> ShardStoreConfig {
    let mut config = ShardStoreConfig::new(dir);
    config.reserve_disk_bytes = 0;
    config
}

pub(crate) fn put_get_delete_round_trip<S: ShardStore>(open: impl Fn(ShardStoreConfig) -> S) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let data = random(700_000, 1);
    store.put(&key(1, 0), &data).unwrap();
    assert_eq!(store.get(&key(1, 0)).unwrap(), Some(data));
    assert_eq!(store.get(&key(1, 1)).unwrap(), None);
    assert!(store.delete(&key(1, 0)).unwrap());
    assert!(!store.delete(&key(1, 0)).unwrap());
    assert_eq!(store.get(&key(1, 0)).unwrap(), None);
    assert_eq!(store.usage().unwrap().shards, 0);
    assert_eq!(store.usage().unwrap().used_bytes, 0);
    store.put(&key(2, 0), b"").unwrap();
    assert_eq!(store.get(&key(2, 0)).unwrap(), Some(Vec::new()), "an empty shard is a shard");
}

/// Three shards, one overwritten, then the store reopened: returned reopened.
pub(crate) fn shards_and_accounting_survive_reopen<S: ShardStore>(
    open: impl Fn(ShardStoreConfig) -> S,
    overhead: usize,
) -> (TempDir, S) {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [10usize, 5_000, 300_000];
    {
        let store = open(config(dir.path()));
        for (i, &len) in sizes.iter().enumerate() {
            store.put(&key(i as u32, 0), &random(len, i as u64)).unwrap();
        }
        // Overwriting a shard replaces it and does not count it twice.
        store.put(&key(0, 0), &random(20, 99)).unwrap();
    }
    let store = open(config(dir.path()));
    let usage = store.usage().unwrap();
    assert_eq!(usage.shards, 3);
    assert_eq!(usage.used_bytes, (20 + 5_000 + 300_000 + 3 * overhead) as u64);
    assert_eq!(store.get(&key(0, 0)).unwrap(), Some(random(20, 99)));
    assert_eq!(store.get(&key(2, 0)).unwrap(), Some(random(300_000, 2)));
    (dir, store)
}

pub(crate) fn list_pages_through_every_shard_in_order<S: ShardStore>(
    open: impl Fn(ShardStoreConfig) -> S,
    overhead: usize,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let mut keys: Vec<_> = (0..25).flat_map(|n| (0..3).map(move |i| key(n, i))).collect();
    for k in &keys {
        store.put(k, b"x").unwrap();
    }
    keys.sort_by_key(ShardKey::to_bytes);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(cursor.as_ref(), 10).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.iter().all(|e| e.stored_len == 1 + overhead as u64));
        cursor = page.last().map(|e| e.key);
        seen.extend(page.into_iter().map(|e| e.key));
    }
    assert_eq!(seen, keys);
}

pub(crate) fn capacity_is_enforced_and_nothing_half_written_remains<S: ShardStore>(
    open: impl Fn(ShardStoreConfig) -> S,
    overhead: usize,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.capacity_bytes = Some(3 * (1000 + overhead as u64));
    let store = open(config);
    for n in 0..3 {
        store.put(&key(n, 0), &[n as u8; 1000]).unwrap();
    }
    let err = store.put(&key(3, 0), &[3; 1000]).unwrap_err();
    assert!(matches!(err, ShardStoreError::Full(_)) && !err.is_retryable(), "{err}");
    assert!(err.to_string().contains("configured capacity"), "{err}");
    assert_eq!(store.get(&key(3, 0)).unwrap(), None);
    // Rewriting a shard in place needs no new room; freeing one makes room again.
    store.put(&key(0, 0), &[9; 1000]).unwrap();
    assert_eq!(store.get(&key(0, 0)).unwrap(), Some(vec![9; 1000]));
    store.delete(&key(1, 0)).unwrap();
    store.put(&key(3, 0), &[3; 1000]).unwrap();
    assert_eq!(store.usage().unwrap().shards, 3);
}

/// A store that behaves as on a full disk refuses a shard: returned after the refusal.
pub(crate) fn a_full_disk_refuses_shards<S: ShardStore>(
    open: impl Fn(ShardStoreConfig) -> S,
) -> (TempDir, S) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // A reserve larger than any disk: the store must behave as on a full disk.
    config.reserve_disk_bytes = u64::MAX / 2;
    let store = open(config);
    let err = store.put(&key(1, 0), b"data").unwrap_err();
    assert!(err.to_string().contains("free on disk"), "{err}");
    assert_eq!(store.usage().unwrap().used_bytes, 0);
    (dir, store)
}
