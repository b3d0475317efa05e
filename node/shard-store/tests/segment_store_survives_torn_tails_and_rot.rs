//! A segment store's files after a crash or under rot: a torn tail costs nothing acknowledged,
//! and a rotten record costs its shard, never the store or another shard.
//!
//! A crash can leave anything after the last acknowledged record of the newest segment: a
//! record half written, or one whose index entry never made it. Both are modelled by writing
//! into the closed store's newest segment file. Rot is modelled as the chaos nemesis does it:
//! bytes flipped at a stride, past the file's 64-byte header.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use cairn_shard_store::{SegmentShardStore, ShardKey, ShardStore, ShardStoreConfig, ShardStoreError};

const SHARD_LEN: usize = 64 << 10;

fn key(n: u32) -> ShardKey {
    ShardKey { account: AccountId(3), block: BlockId::of(&n.to_le_bytes()), generation: 1, index: 0 }
}

fn open(dir: &Path) -> SegmentShardStore {
    let mut config = ShardStoreConfig::new(dir);
    config.reserve_disk_bytes = 0;
    config.background_compaction = false;
    config.segment_bytes = 512 << 10;
    SegmentShardStore::open(config).unwrap()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files
}

fn newest_segment(dir: &Path) -> PathBuf {
    segment_files(dir).pop().unwrap()
}

fn assert_all_read_back(store: &SegmentShardStore, shards: impl IntoIterator<Item = u32>) {
    for n in shards {
        assert_eq!(store.get(&key(n)).unwrap(), Some(random(SHARD_LEN, n.into())), "shard {n}");
    }
}

#[test]
fn a_torn_tail_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        for n in 0..10 {
            store.put(&key(n), &random(SHARD_LEN, n.into())).unwrap();
        }
    }
    // Garbage after the last record: a write the crash tore before anything pointed at it.
    let newest = newest_segment(dir.path());
    let acknowledged_len = std::fs::metadata(&newest).unwrap().len();
    std::fs::OpenOptions::new().append(true).open(&newest).unwrap().write_all(&random(10_000, 77)).unwrap();
    {
        let store = open(dir.path());
        assert_eq!(std::fs::metadata(&newest).unwrap().len(), acknowledged_len, "the tail was cut");
        assert_all_read_back(&store, 0..10);
        assert_eq!(store.usage().unwrap().shards, 10);
        // Written where the garbage was: must read back after the next reopen too.
        for n in 10..14 {
            store.put(&key(n), &random(SHARD_LEN, n.into())).unwrap();
        }
    }
    // A whole record, copied from the file, whose last bytes never reached the disk: as a put
    // whose sync the crash interrupted.
    let newest = newest_segment(dir.path());
    let bytes = std::fs::read(&newest).unwrap();
    let record = &bytes[bytes.len() - (SHARD_LEN + 90)..];
    let mut file = std::fs::OpenOptions::new().append(true).open(&newest).unwrap();
    file.write_all(&record[..record.len() - 40]).unwrap();
    drop(file);
    let store = open(dir.path());
    assert_all_read_back(&store, 0..14);
    assert_eq!(store.usage().unwrap().shards, 14);
    store.put(&key(14), &random(SHARD_LEN, 14)).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_all_read_back(&store, 0..15);
    assert_eq!(store.dead_bytes(), 0, "nothing but acknowledged records remains");
}

#[test]
fn a_segment_cut_short_of_its_header_is_started_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        for n in 0..3 {
            store.put(&key(n), &random(SHARD_LEN, n.into())).unwrap();
        }
    }
    // A new segment a crash left empty, as if its creation had not been synced.
    let newest = newest_segment(dir.path());
    let id: u64 = newest.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    std::fs::write(newest.with_file_name(format!("{:08}.seg", id + 1)), b"cairn").unwrap();
    let store = open(dir.path());
    assert_all_read_back(&store, 0..3);
    store.put(&key(3), &random(SHARD_LEN, 3)).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_all_read_back(&store, 0..4);
}

/// Flips one byte in every 200 000 of `file`, past its header: some of its records, not all.
fn rot(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    for at in (64..bytes.len()).step_by(200_000) {
        bytes[at] ^= 0x5a;
    }
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn a_rotten_record_costs_its_shard_not_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<u32> = (0..24).collect();
    {
        let store = open(dir.path());
        for &n in &all {
            store.put(&key(n), &random(SHARD_LEN, n.into())).unwrap();
        }
    }
    let files = segment_files(dir.path());
    assert!(files.len() >= 3, "expected several segments, got {}", files.len());
    rot(&files[0]);

    let store = open(dir.path());
    let mut corrupt = Vec::new();
    for &n in &all {
        match store.get(&key(n)) {
            Ok(Some(data)) => assert_eq!(data, random(SHARD_LEN, n.into()), "shard {n} read back wrong"),
            Ok(None) => panic!("shard {n} vanished"),
            Err(ShardStoreError::Corrupt { .. }) => corrupt.push(n),
            Err(e) => panic!("shard {n}: {e}"),
        }
    }
    assert!(!corrupt.is_empty(), "the rot hit no shard; the test proves nothing");
    // Only shards of the rotten segment: the first seven written (a 512 KiB segment holds seven
    // records of 64 KiB and their footers).
    assert!(corrupt.iter().all(|n| *n < 7) && corrupt.len() <= 3, "{corrupt:?}");

    // Deleting the healthy shards of the first segment makes it worth compacting: the rotten
    // records move as they are (still corrupt), and compaction counts them as errors.
    let first_segment: Vec<u32> = (0..7).filter(|n| !corrupt.contains(n)).collect();
    for n in &first_segment {
        store.delete(&key(*n)).unwrap();
    }
    let report = store.compact().unwrap();
    assert!(report.segments_removed >= 1, "{report:?}");
    assert!(store.usage().unwrap().background_errors > 0, "compaction met the rot silently");
    for &n in &corrupt {
        assert!(matches!(store.get(&key(n)), Err(ShardStoreError::Corrupt { .. })), "shard {n}");
    }
    // The scrubber deletes them; the store takes writes and serves the rest.
    for &n in &corrupt {
        assert!(store.delete(&key(n)).unwrap());
    }
    store.put(&key(100), &random(SHARD_LEN, 100)).unwrap();
    let healthy: Vec<u32> = (7..24).chain([100]).collect();
    assert_all_read_back(&store, healthy.iter().copied());
    drop(store);
    let store = open(dir.path());
    assert_all_read_back(&store, healthy.iter().copied());
    assert_eq!(store.usage().unwrap().shards, healthy.len() as u64);
}
