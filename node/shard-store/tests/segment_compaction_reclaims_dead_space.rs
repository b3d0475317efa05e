//! Segment compaction: dead space from deletes and overwrites is reclaimed, and every live shard
//! stays readable — while puts, overwrites, deletes and reads run on other threads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_proto::sample_data::random;
use cairn_proto::{AccountId, BlockId};
use cairn_shard_store::{SegmentShardStore, ShardKey, ShardStore, ShardStoreConfig};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const SEGMENT_BYTES: u64 = 1 << 20;

fn key(n: u32) -> ShardKey {
    ShardKey { account: AccountId(9), block: BlockId::of(&n.to_le_bytes()), generation: 1, index: 0 }
}

fn open(dir: &Path) -> SegmentShardStore {
    let mut config = ShardStoreConfig::new(dir);
    config.reserve_disk_bytes = 0;
    config.background_compaction = false;
    config.segment_bytes = SEGMENT_BYTES;
    SegmentShardStore::open(config).unwrap()
}

/// The shard `n` holds at `version`.
fn shard(n: u32, version: u32) -> Vec<u8> {
    random(20_000 + (n as usize * 7919) % 60_000, u64::from(n) << 32 | u64::from(version))
}

#[test]
fn compaction_reclaims_dead_space_and_keeps_every_live_shard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for n in 0..120 {
        store.put(&key(n), &shard(n, 0)).unwrap();
    }
    // Three of every four shards deleted, and some of the rest overwritten.
    for n in (0..120).filter(|n| n % 4 != 0) {
        assert!(store.delete(&key(n)).unwrap());
    }
    for n in (0..120).filter(|n| n % 8 == 0) {
        store.put(&key(n), &shard(n, 1)).unwrap();
    }
    let (dead, segments) = (store.dead_bytes(), store.segment_count());
    let used = store.usage().unwrap().used_bytes;
    let report = store.compact().unwrap();
    assert!(report.segments_removed > 0 && report.bytes_reclaimed > report.bytes_copied, "{report:?}");
    assert!(store.dead_bytes() < dead / 2, "{} dead bytes left of {dead}", store.dead_bytes());
    assert!(store.segment_count() < segments);
    assert_eq!(store.usage().unwrap().used_bytes, used, "compaction moves shards, it does not change them");
    let check = |store: &SegmentShardStore| {
        for n in 0..120 {
            let expected = match n {
                n if n % 8 == 0 => Some(shard(n, 1)),
                n if n % 4 == 0 => Some(shard(n, 0)),
                _ => None,
            };
            assert_eq!(store.get(&key(n)).unwrap(), expected, "shard {n}");
        }
        assert_eq!(store.usage().unwrap().shards, 30);
    };
    check(&store);
    // A second compaction finds nothing more worth doing.
    assert_eq!(store.compact().unwrap().segments_removed, 0);
    drop(store);
    let store = open(dir.path());
    check(&store);
    let on_disk: u64 = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(on_disk < 3 * used + 2 * SEGMENT_BYTES, "{on_disk} bytes of segments for {used} live");
}

#[test]
fn compaction_races_puts_deletes_and_reads() {
    let seed = std::env::var("CAIRN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_250_611u64);
    println!("seed {seed} (set CAIRN_SEED to replay)");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    // Shards 0..100 are never touched again: readers must always find them whole. Between
    // them, filler shards that a thread deletes while the reader runs, so the segments holding
    // the stable shards are compacted under the reader's feet.
    let stable = 0..100u32;
    let fillers = |n: u32| 500 + 3 * n..500 + 3 * n + 3;
    for n in stable.clone() {
        store.put(&key(n), &shard(n, 0)).unwrap();
        for f in fillers(n) {
            store.put(&key(f), &shard(f, 0)).unwrap();
        }
    }
    let writers = 4u32;
    let done = Arc::new(AtomicBool::new(false));
    let deleter = {
        let (store, stable) = (store.clone(), stable.clone());
        std::thread::spawn(move || {
            for n in stable.rev() {
                for f in fillers(n) {
                    assert!(store.delete(&key(f)).unwrap(), "filler {f}");
                }
            }
        })
    };
    // Each writer owns its own keys, so its model of them is the truth at the end.
    let writer_threads: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed + u64::from(w));
                let mut model = std::collections::BTreeMap::new();
                for version in 1..=300u32 {
                    let n = 1000 + w * 100 + rng.random_range(0..40);
                    if rng.random_bool(0.3) {
                        let existed = model.remove(&n).is_some();
                        assert_eq!(store.delete(&key(n)).unwrap(), existed, "delete {n}");
                    } else {
                        store.put(&key(n), &shard(n, version)).unwrap();
                        model.insert(n, version);
                    }
                }
                model
            })
        })
        .collect();
    let reader = {
        let (store, done, stable) = (store.clone(), done.clone(), stable.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                for n in stable.clone().step_by(3) {
                    assert_eq!(store.get(&key(n)).unwrap(), Some(shard(n, 0)), "stable shard {n}");
                    reads += 1;
                }
            }
            reads
        })
    };
    // The writers' overwrites and deletes make the dead space; compact until they are done.
    let compactor = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let mut removed = 0;
            while !done.load(Ordering::SeqCst) {
                removed += store.compact().unwrap().segments_removed;
            }
            removed
        })
    };
    let models: Vec<_> = writer_threads.into_iter().map(|t| t.join().unwrap()).collect();
    deleter.join().unwrap();
    done.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
    let removed = compactor.join().unwrap() + store.compact().unwrap().segments_removed;
    assert!(removed > 0, "compaction never ran into dead space; the test proves nothing");

    let check = |store: &SegmentShardStore| {
        for n in stable.clone() {
            assert_eq!(store.get(&key(n)).unwrap(), Some(shard(n, 0)), "stable shard {n}");
            for f in fillers(n) {
                assert_eq!(store.get(&key(f)).unwrap(), None, "filler {f}");
            }
        }
        let mut live = stable.len() as u64;
        for (w, model) in models.iter().enumerate() {
            for n in 1000 + w as u32 * 100..1000 + w as u32 * 100 + 40 {
                assert_eq!(store.get(&key(n)).unwrap(), model.get(&n).map(|v| shard(n, *v)), "shard {n}");
            }
            live += model.len() as u64;
        }
        assert_eq!(store.usage().unwrap().shards, live);
        assert_eq!(store.list(None, 10_000).unwrap().len() as u64, live);
    };
    check(&store);
    drop(store);
    let store = open(dir.path());
    check(&store);
    // What compaction leaves: no sealed segment below half live, so at most about as many dead
    // bytes as live ones, plus the active segment.
    let used = store.usage().unwrap().used_bytes;
    assert!(
        store.dead_bytes() <= used + SEGMENT_BYTES,
        "{} dead bytes beside {used} live",
        store.dead_bytes()
    );
}
