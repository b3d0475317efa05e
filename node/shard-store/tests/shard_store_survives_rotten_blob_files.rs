//! Rot inside the shard store's own files costs the shards it hit, never the store.
//!
//! RocksDB's blob garbage collection re-reads old blob files during compaction. With a rotted
//! record among them, the compaction fails; by default RocksDB then stops taking any write, so
//! the scrubber could not delete the rotten shard and repair could not store its rebuilt copy
//! on this node (seen in the 30-minute chaos runs). Here a real store is rotted the way the
//! chaos nemesis does it, compacted, and must still take writes, report exactly the rotten
//! shards as corrupt, and compact cleanly once they are deleted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use cairn_shard_store::{RocksShardStore, ShardKey, ShardStore, ShardStoreConfig, ShardStoreError};

const SHARD_LEN: usize = 64 << 10;
const ROUNDS: u32 = 8;
const PER_ROUND: u32 = 6;

fn key(n: u32) -> ShardKey {
    ShardKey { account: AccountId(3), block: BlockId::of(&n.to_le_bytes()), generation: 1, index: 0 }
}

fn open(dir: &Path) -> RocksShardStore {
    let mut config = ShardStoreConfig::new(dir);
    config.reserve_disk_bytes = 0;
    RocksShardStore::open(config).unwrap()
}

/// The shards deleted before compacting, to leave garbage in every blob file.
fn deleted(n: u32) -> bool {
    n.is_multiple_of(PER_ROUND)
}

/// Flips one byte in every 40 000 of every blob file, past its header and before its footer, as
/// the chaos nemesis does: every shard value in it is hit.
fn rot_blob_files(dir: &Path) -> usize {
    let mut rotted = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "blob") {
            let mut bytes = std::fs::read(&path).unwrap();
            for at in (64..bytes.len().saturating_sub(64)).step_by(40_000) {
                bytes[at] ^= 0x5a;
            }
            std::fs::write(&path, bytes).unwrap();
            rotted += 1;
        }
    }
    rotted
}

#[test]
fn a_rotten_blob_record_costs_its_shard_not_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<u32> = (0..ROUNDS * PER_ROUND).collect();
    {
        let store = open(dir.path());
        // One flush per round: several blob files, so garbage collection has old ones to read.
        for round in 0..ROUNDS {
            for n in round * PER_ROUND..(round + 1) * PER_ROUND {
                store.put(&key(n), &random(SHARD_LEN, n.into())).unwrap();
            }
            store.flush_and_compact().unwrap();
        }
    }
    assert!(rot_blob_files(dir.path()) >= 2, "expected several blob files");

    let store = open(dir.path());
    // Shards written after the rot, in a blob file of their own: they must come through whole.
    let fresh: Vec<u32> = (500..500 + PER_ROUND).collect();
    for &n in &fresh {
        store.put(&key(n), &random(SHARD_LEN, n.into())).unwrap();
    }
    // Garbage in the old files, then a full compaction: it relocates the live blobs of the
    // oldest files, meets a rotten one, and fails.
    for n in all.iter().copied().filter(|n| deleted(*n)) {
        store.delete(&key(n)).unwrap();
    }
    let _ = store.flush_and_compact();
    assert!(store.background_errors() > 0, "the compaction met no rot; the test proves nothing");
    // The store still takes writes.
    store.put(&key(1000), &random(SHARD_LEN, 1000)).expect("a put after a failed compaction");

    // Exactly the rotten shards are corrupt; the rest read back whole.
    let mut corrupt = Vec::new();
    for n in all.iter().copied().filter(|n| !deleted(*n)) {
        match store.get(&key(n)) {
            Ok(Some(data)) => assert_eq!(data, random(SHARD_LEN, n.into()), "shard {n}"),
            Ok(None) => panic!("shard {n} vanished"),
            Err(ShardStoreError::Corrupt { .. }) => corrupt.push(n),
            Err(e) => panic!("shard {n}: {e}"),
        }
    }
    assert!(!corrupt.is_empty(), "the rot hit no live shard; the test proves nothing");

    // Deleting them (what the scrubber does) lets compaction finish, and the store stays sound.
    for &n in &corrupt {
        assert!(store.delete(&key(n)).unwrap());
    }
    let errors = store.background_errors();
    store.flush_and_compact().unwrap();
    assert_eq!(store.background_errors(), errors, "compaction still fails after the rot is deleted");
    store.put(&key(1001), &random(SHARD_LEN, 1001)).unwrap();
    drop(store);
    let store = open(dir.path());
    for n in all.iter().copied().filter(|n| !deleted(*n) && !corrupt.contains(n)) {
        assert_eq!(store.get(&key(n)).unwrap(), Some(random(SHARD_LEN, n.into())), "shard {n}");
    }
    for n in fresh.iter().copied().chain([1000, 1001]) {
        assert_eq!(store.get(&key(n)).unwrap(), Some(random(SHARD_LEN, n.into())), "shard {n}");
    }
    let expected = all.iter().filter(|n| !deleted(**n)).count() - corrupt.len() + fresh.len() + 2;
    assert_eq!(store.usage().unwrap().shards, expected as u64);
}
