//! Upgrade: a node whose shards an earlier release stored in RocksDB (BlobDB values) opens its
//! store with the segment store and serves every one of them — get, list, usage, delete,
//! overwrite — while new shards go to segment files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use cairn_shard_store::{RocksShardStore, SegmentShardStore, ShardKey, ShardStore, ShardStoreConfig};

fn key(n: u32) -> ShardKey {
    ShardKey {
        account: AccountId(n as u64 % 3),
        block: BlockId::of(&n.to_le_bytes()),
        generation: 4,
        index: 1,
    }
}

fn config(dir: &Path) -> ShardStoreConfig {
    let mut config = ShardStoreConfig::new(dir);
    config.reserve_disk_bytes = 0;
    config.background_compaction = false;
    config
}

/// Small shards stay inline in RocksDB's SST files, large ones go to blob files: both kinds.
fn shard(n: u32, version: u64) -> Vec<u8> {
    random(
        if n.is_multiple_of(2) { 100 + n as usize } else { 40_000 + n as usize },
        u64::from(n) + (version << 32),
    )
}

#[test]
fn shards_stored_by_the_rocksdb_layout_read_back_after_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let (old_usage, old_list) = {
        let old = RocksShardStore::open(config(dir.path())).unwrap();
        for n in 0..30 {
            old.put(&key(n), &shard(n, 0)).unwrap();
        }
        assert!(old.delete(&key(29)).unwrap());
        old.flush_and_compact().unwrap();
        (old.usage().unwrap(), old.list(None, 100).unwrap())
    };

    let store = SegmentShardStore::open(config(dir.path())).unwrap();
    let usage = store.usage().unwrap();
    assert_eq!((usage.shards, usage.used_bytes), (old_usage.shards, old_usage.used_bytes));
    assert_eq!(store.list(None, 100).unwrap(), old_list);
    for n in 0..29 {
        assert_eq!(store.get(&key(n)).unwrap(), Some(shard(n, 0)), "shard {n}");
    }
    assert_eq!(store.get(&key(29)).unwrap(), None);

    // Deleting an old shard, overwriting old ones (they move to segments), adding new ones.
    assert!(store.delete(&key(0)).unwrap());
    assert!(!store.delete(&key(0)).unwrap());
    for n in [1, 2] {
        store.put(&key(n), &shard(n, 1)).unwrap();
    }
    for n in 100..105 {
        store.put(&key(n), &shard(n, 0)).unwrap();
    }
    let expected = |n: u32| match n {
        0 | 29 => None,
        1 | 2 => Some(shard(n, 1)),
        _ => Some(shard(n, 0)),
    };
    let check = |store: &SegmentShardStore| {
        for n in (0..30).chain(100..105) {
            assert_eq!(store.get(&key(n)).unwrap(), expected(n), "shard {n}");
        }
        let listed: Vec<ShardKey> = store.list(None, 100).unwrap().into_iter().map(|e| e.key).collect();
        let mut keys: Vec<ShardKey> =
            (0..30).chain(100..105).filter(|n| expected(*n).is_some()).map(key).collect();
        keys.sort_by_key(ShardKey::to_bytes);
        assert_eq!(listed, keys);
        assert_eq!(store.usage().unwrap().shards, keys.len() as u64);
        let bytes: u64 = store.list(None, 100).unwrap().iter().map(|e| e.stored_len).sum();
        assert_eq!(store.usage().unwrap().used_bytes, bytes);
    };
    check(&store);
    drop(store);
    let store = SegmentShardStore::open(config(dir.path())).unwrap();
    check(&store);
    // Compaction has nothing to do with the old shards, and leaves them be.
    store.flush_and_compact().unwrap();
    check(&store);
}
