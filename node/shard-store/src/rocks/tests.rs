//! Unit tests of the RocksDB shard store: round trips, accounting, capacity, bit rot.

use super::*;
use crate::contract_tests::{self, key};
use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use proptest::prelude::*;

fn open_with(config: ShardStoreConfig) -> RocksShardStore {
    RocksShardStore::open(config).unwrap()
}

fn open(dir: &Path) -> RocksShardStore {
    open_with(contract_tests::config(dir))
}

#[test]
fn put_get_delete_round_trip() {
    contract_tests::put_get_delete_round_trip(open_with);
}

#[test]
fn shards_and_accounting_survive_reopen() {
    contract_tests::shards_and_accounting_survive_reopen(open_with, RECORD_OVERHEAD);
}

#[test]
fn list_pages_through_every_shard_in_order() {
    contract_tests::list_pages_through_every_shard_in_order(open_with, RECORD_OVERHEAD);
}

#[test]
fn capacity_is_enforced_and_nothing_half_written_remains() {
    contract_tests::capacity_is_enforced_and_nothing_half_written_remains(open_with, RECORD_OVERHEAD);
}

#[test]
fn a_full_disk_refuses_shards() {
    contract_tests::a_full_disk_refuses_shards(open_with);
}
#[test]
fn rocksdb_blob_files_hold_large_shards() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for n in 0..8 {
        store.put(&key(n, 0), &random(512 << 10, n.into())).unwrap();
    }
    store.db.flush_cf(store.cf(SHARDS_CF).unwrap()).unwrap();
    let blobs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "blob"))
        .count();
    assert!(blobs > 0, "no blob files after flush");
    assert_eq!(store.get(&key(3, 0)).unwrap(), Some(random(512 << 10, 3)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Bit rot anywhere in a stored record (version, checksum or data) is reported as
    /// `Corrupt`, never returned as data.
    #[test]
    fn a_flipped_bit_anywhere_is_detected(len in 0usize..20_000, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let k = key(1, 2);
        store.put(&k, &random(len, len as u64)).unwrap();
        let mut record = store.raw_record(&k);
        let at = position.index(record.len());
        record[at] ^= 1 << bit;
        store.put_raw_record(&k, &record);
        let result = store.get(&k);
        prop_assert!(matches!(result, Err(ShardStoreError::Corrupt { .. })), "flip at {} gave {:?}", at, result.map(|d| d.map(|d| d.len())));
    }
}

#[test]
fn a_shard_copied_under_another_key_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(&key(1, 0), b"shard zero").unwrap();
    let record = store.raw_record(&key(1, 0));
    store.put_raw_record(&key(1, 1), &record);
    assert!(matches!(store.get(&key(1, 1)), Err(ShardStoreError::Corrupt { .. })));
}

/// The on-disk record stays readable: today's bytes of a shard's record, its index entry, its
/// key and the column families' names are committed in `tests/golden/shard_record.txt`, and
/// this store must read them as the same shard and write the same shard as the same bytes (see
/// `cairn_proto::golden`; `CAIRN_BLESS=1` records a new kind). A node of the next release
/// serves the shards this one stored: the record changes by a new version byte, never in place.
#[test]
fn the_on_disk_record_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let key = ShardKey {
        account: AccountId(71),
        block: BlockId::of(b"one"),
        generation: 0x9e4e_7a71_0000_0091,
        index: 5,
    };
    let shard = b"a shard: sealed, erasure-coded bytes".to_vec();
    let mut g = cairn_proto::golden::Golden::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/shard_record.txt"),
        "a shard as the RocksDB shard store keeps it",
    );
    // Written by `put`, read by `get` from the record an earlier release left.
    g.check_with(
        "record",
        &shard,
        |shard| {
            store.put(&key, shard).unwrap();
            store.raw_record(&key)
        },
        |bytes| {
            store.put_raw_record(&key, bytes);
            store.get(&key).map_err(|e| e.to_string())?.ok_or_else(|| "no shard".into())
        },
    );
    // The index entry `put` writes beside it, as `list` reads it.
    let index = store.cf(INDEX_CF).unwrap();
    g.check_with(
        "index",
        &((shard.len() + RECORD_OVERHEAD) as u64),
        |_| store.db.get_cf(index, key.to_bytes()).unwrap().unwrap(),
        |bytes| {
            store.db.put_cf(index, key.to_bytes(), bytes).unwrap();
            Ok(store.list(None, 2).map_err(|e| e.to_string())?[0].stored_len)
        },
    );
    g.check_with(
        "key",
        &key,
        |k| k.to_bytes().to_vec(),
        |bytes| ShardKey::from_bytes(bytes).ok_or_else(|| "not a shard key".into()),
    );
    for (name, cf) in [("cf/shards", SHARDS_CF), ("cf/index", INDEX_CF)] {
        g.check_with(
            name,
            &cf.to_owned(),
            |cf| cf.as_bytes().to_vec(),
            |bytes| String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string()),
        );
    }
    g.finish();
}

/// Bytes of write-ahead log in the store's folder.
fn wal_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "log"))
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

#[test]
fn old_write_ahead_logs_are_retired() {
    // The index column family takes a few bytes per shard and would almost never fill its
    // memtable; a WAL is deleted only once every column family with data in it has flushed,
    // so without a cap on the WAL every shard byte stayed on disk twice until a restart.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let shard = random(1 << 20, 9);
    let written = 4 * MAX_TOTAL_WAL_BYTES;
    for n in 0..u32::try_from(written >> 20).unwrap() {
        store.put(&key(n, 0), &shard).unwrap();
    }
    let wal = wal_bytes(dir.path());
    // The cap, plus the log being written when it was last checked.
    assert!(
        wal <= 2 * MAX_TOTAL_WAL_BYTES,
        "{} MiB of WAL after writing {} MiB of shards (cap {} MiB)",
        wal >> 20,
        written >> 20,
        MAX_TOTAL_WAL_BYTES >> 20
    );
}
