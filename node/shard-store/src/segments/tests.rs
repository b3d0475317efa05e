//! Unit tests of the segment store: the RocksDB layout's cases (round trips, accounting,
//! capacity, bit rot, the on-disk format), and group commit under many threads.

use std::path::{Path, PathBuf};

use super::index::{LOCATIONS_CF, SEGMENT_RECORDS_CF};
use super::*;
use crate::Faults;
use crate::FaultyShardStore;
use crate::contract_tests;
use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use proptest::prelude::*;

pub(super) use crate::contract_tests::key;

/// A config for a store in `dir`: no disk reserve, and no background compaction, so the tests
/// say when segments are compacted.
pub(super) fn config(dir: &Path) -> ShardStoreConfig {
    let mut config = contract_tests::config(dir);
    config.background_compaction = false;
    config
}

fn open_with(mut config: ShardStoreConfig) -> SegmentShardStore {
    config.background_compaction = false;
    SegmentShardStore::open(config).unwrap()
}

fn open(dir: &Path) -> SegmentShardStore {
    SegmentShardStore::open(config(dir)).unwrap()
}

/// Where the record of `key` lies, and the path of its segment.
fn place(store: &SegmentShardStore, key: &ShardKey) -> (Location, PathBuf) {
    let at = location(&store.inner.db, &key.to_bytes()).unwrap().unwrap();
    (at, store.inner.segments.path(at.segment))
}

fn raw_record(store: &SegmentShardStore, key: &ShardKey) -> Vec<u8> {
    let (at, path) = place(store, key);
    let mut record = vec![0; at.len as usize];
    std::fs::File::open(path).unwrap().read_exact_at(&mut record, at.offset).unwrap();
    record
}

/// Overwrites a stored record in place without recomputing its checksum: how tests model rot.
fn put_raw_record(store: &SegmentShardStore, key: &ShardKey, record: &[u8]) {
    let (at, path) = place(store, key);
    assert_eq!(record.len(), at.len as usize);
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, record, at.offset).unwrap();
}

#[test]
fn put_get_delete_round_trip() {
    contract_tests::put_get_delete_round_trip(open_with);
}

#[test]
fn shards_and_accounting_survive_reopen() {
    let (_dir, store) = contract_tests::shards_and_accounting_survive_reopen(open_with, RECORD_OVERHEAD);
    // The overwritten record is dead space in the segment, and counted as such again.
    assert_eq!(store.dead_bytes(), (10 + RECORD_OVERHEAD) as u64);
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
    let (_dir, store) = contract_tests::a_full_disk_refuses_shards(open_with);
    assert_eq!(store.dead_bytes(), 0, "a refused shard is not written at all");
}
#[test]
fn shard_bodies_go_to_segment_files_not_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.segment_bytes = 2 << 20;
    let store = SegmentShardStore::open(config).unwrap();
    for n in 0..8 {
        store.put(&key(n, 0), &random(512 << 10, n.into())).unwrap();
    }
    // Three records of 512 KiB fit a 2 MiB segment.
    assert_eq!(store.segment_count(), 3);
    let seg_bytes: u64 = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(seg_bytes >= 8 * (512 << 10), "{seg_bytes} bytes of segments");
    let blob_files = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "blob"))
        .count();
    assert_eq!(blob_files, 0);
    assert_eq!(store.get(&key(3, 0)).unwrap(), Some(random(512 << 10, 3)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Bit rot anywhere in a stored record (data, checksum, key, length, version or magic) is
    /// reported as `Corrupt`, never returned as data, and costs no other shard.
    #[test]
    fn a_flipped_bit_anywhere_is_detected(len in 0usize..20_000, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let (k, neighbour) = (key(1, 2), key(1, 3));
        store.put(&k, &random(len, len as u64)).unwrap();
        store.put(&neighbour, &random(100, 5)).unwrap();
        let mut record = raw_record(&store, &k);
        let at = position.index(record.len());
        record[at] ^= 1 << bit;
        put_raw_record(&store, &k, &record);
        let result = store.get(&k);
        prop_assert!(matches!(result, Err(ShardStoreError::Corrupt { .. })), "flip at {} gave {:?}", at, result.map(|d| d.map(|d| d.len())));
        prop_assert_eq!(store.get(&neighbour).unwrap(), Some(random(100, 5)));
    }
}

#[test]
fn a_record_pointed_at_under_another_key_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(&key(1, 0), b"shard zero").unwrap();
    store.put(&key(1, 1), b"shard one!").unwrap();
    // The index of one shard pointing at the other's record, as a misdirected write would.
    let (at, _) = place(&store, &key(1, 0));
    let db = &store.inner.db;
    db.put_cf(cf(db, LOCATIONS_CF).unwrap(), key(1, 1).to_bytes(), at.encode()).unwrap();
    assert!(matches!(store.get(&key(1, 1)), Err(ShardStoreError::Corrupt { .. })));
}

#[test]
fn concurrent_puts_from_many_threads_are_all_durable() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.segment_bytes = 4 << 20;
    let threads = 16u32;
    let per_thread = 40u32;
    {
        let store = Arc::new(SegmentShardStore::open(config.clone()).unwrap());
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        let n = t * 1000 + i;
                        store.put(&key(n, 0), &random(1000 + (n as usize % 70_000), n.into())).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(store.usage().unwrap().shards, u64::from(threads * per_thread));
        assert_eq!(store.dead_bytes(), 0, "every reserved range was acknowledged");
    }
    let store = SegmentShardStore::open(config).unwrap();
    for t in 0..threads {
        for i in 0..per_thread {
            let n = t * 1000 + i;
            assert_eq!(
                store.get(&key(n, 0)).unwrap(),
                Some(random(1000 + (n as usize % 70_000), n.into())),
                "{n}"
            );
        }
    }
    assert_eq!(store.usage().unwrap().shards, u64::from(threads * per_thread));
}

#[test]
fn the_faulty_wrapper_works_over_segments() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyShardStore::new(open(dir.path()), 4).fail_writes(0.5);
    let mut stored = 0;
    for n in 0..100 {
        match faulty.put(&key(n, 0), b"x") {
            Ok(()) => stored += 1,
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                assert_eq!(faulty.inner().get(&key(n, 0)).unwrap(), None);
            }
        }
    }
    assert_eq!(faulty.usage().unwrap().shards, stored);
    faulty.set_faults(Faults { rot_reads: 1.0, ..Faults::default() });
    let read = (0..100).find_map(|n| faulty.inner().get(&key(n, 0)).unwrap().map(|_| n)).unwrap();
    assert!(matches!(faulty.get(&key(read, 0)), Err(ShardStoreError::Corrupt { .. })));
    faulty.set_faults(Faults { full: true, ..Faults::default() });
    assert!(matches!(faulty.put(&key(500, 0), b"y"), Err(ShardStoreError::Full(_))));
}

/// The on-disk format stays readable: a record's bytes, its location entry, its
/// `segment_records` entry, a segment header and the column families' names are committed in
/// `tests/golden/segment_record.txt` (see `cairn_proto::golden`; `CAIRN_BLESS=1` records a new
/// kind). A node of the next release serves the shards this one stored.
#[test]
fn the_segment_format_stays_readable() {
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
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/segment_record.txt"),
        "a shard as the segment shard store keeps it",
    );
    g.check_with(
        "record",
        &shard,
        |shard| {
            store.put(&key, shard).unwrap();
            raw_record(&store, &key)
        },
        |bytes| {
            put_raw_record(&store, &key, bytes);
            store.get(&key).map_err(|e| e.to_string())?.ok_or_else(|| "no shard".into())
        },
    );
    let at = Location { segment: 0x0102_0304, offset: 0x1_0000_0040, len: 0x0001_0203 };
    g.check_with(
        "location",
        &at,
        |at| at.encode().to_vec(),
        |bytes| Location::decode(bytes).map_err(|e| e.to_string()),
    );
    g.check_with(
        "segment_record",
        &(at, key.to_bytes()),
        |(at, key)| [&at.place()[..], &at.record_entry(key)[..]].concat(),
        |bytes| {
            let (place, entry) = bytes.split_at(16);
            index::decode_record_entry(place, entry).map_err(|e| e.to_string())
        },
    );
    g.check_with(
        "segment_header",
        &7u64,
        |id| segment::header(*id).to_vec(),
        |bytes| {
            let id: [u8; 8] = bytes[20..28].try_into().map_err(|_| "short header".to_string())?;
            (bytes[..] == segment::header(u64::from_le_bytes(id))[..])
                .then(|| u64::from_le_bytes(id))
                .ok_or_else(|| "not a segment header".into())
        },
    );
    g.check_with(
        "segment_name",
        &1u64,
        |id| segment::file_name(*id).into_bytes(),
        |bytes| {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(segment::parse_name)
                .ok_or_else(|| "not a segment name".into())
        },
    );
    for (name, cf) in [("cf/locations", LOCATIONS_CF), ("cf/segment_records", SEGMENT_RECORDS_CF)] {
        g.check_with(
            name,
            &cf.to_owned(),
            |cf| cf.as_bytes().to_vec(),
            |bytes| String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string()),
        );
    }
    g.finish();
}

#[test]
fn a_read_of_a_compacted_segment_finds_it_gone_and_the_shard_moved() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.segment_bytes = 1 << 20;
    let store = SegmentShardStore::open(config).unwrap();
    for n in 0..12 {
        store.put(&key(n, 0), &random(200_000, n.into())).unwrap();
    }
    let (old, _) = place(&store, &key(0, 0));
    for n in 1..12 {
        store.delete(&key(n, 0)).unwrap();
    }
    let report = store.compact().unwrap();
    assert!(
        report.segments_removed >= 1 && report.bytes_copied == 200_000 + RECORD_OVERHEAD as u64,
        "{report:?}"
    );
    // What a get that read the location just before the compaction meets: the file is gone, so
    // it reads the location again (see `Inner::get`) and finds the shard where it was moved.
    assert!(matches!(store.inner.read(&key(0, 0), old), Err(ReadError::Gone)));
    assert_ne!(place(&store, &key(0, 0)).0.segment, old.segment);
    assert_eq!(store.get(&key(0, 0)).unwrap(), Some(random(200_000, 0)));
    assert!(!store.inner.segments.path(old.segment).exists());
}

#[test]
fn background_compaction_deletes_a_dead_segment_and_stops_with_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.segment_bytes = 1 << 20;
    config.background_compaction = true;
    let store = SegmentShardStore::open(config).unwrap();
    for n in 0..10 {
        store.put(&key(n, 0), &random(300_000, n.into())).unwrap();
    }
    let before = store.segment_count();
    // The deletes empty the first, sealed, segments: the commit wakes the compaction thread.
    for n in 0..6 {
        store.delete(&key(n, 0)).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.segment_count() >= before {
        assert!(std::time::Instant::now() < deadline, "the background compaction never ran");
        std::thread::yield_now();
    }
    for n in 6..10 {
        assert_eq!(store.get(&key(n, 0)).unwrap(), Some(random(300_000, n.into())));
    }
    // Dropping joins the thread; the database can be opened again at once.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.usage().unwrap().shards, 4);
}
