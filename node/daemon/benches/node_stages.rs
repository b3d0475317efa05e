//! Throughput of the node-side stages of the block pipeline, each alone, and of the whole
//! in-process pipeline (chunk → hash → compress → seal → encode → store, and back), on one core.
//! Run with `make bench`; numbers are written down in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::hint::black_box;
use std::time::Duration;

use cairn_block_codec::{BlockPipeline, EcProfile, ErasureCoder, MasterKey};
use cairn_proto::sample_data::{random, text};
use cairn_proto::{AccountId, BlockId, EncodedBlock, StreamChunker};
use cairn_shard_store::{RocksShardStore, ShardKey, ShardStore, ShardStoreConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const BLOCK: usize = 1 << 20;
const FILE: usize = 16 << 20;
const ACCOUNT: AccountId = AccountId(1);
const PROFILES: [&str; 3] = ["2+1", "4+2", "8+3"];

fn master() -> MasterKey {
    MasterKey::from_bytes([3; 32])
}

fn sealing(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    group.throughput(Throughput::BytesDecimal(BLOCK as u64));
    let plain = random(BLOCK, 1);
    let id = BlockId::of(&plain);
    let block = EncodedBlock::raw(plain).unwrap();
    let key = master().account_key(ACCOUNT);
    group.bench_function("seal_1MiB", |b| b.iter(|| key.seal(&id, black_box(&block))));
    let sealed = key.seal(&id, &block);
    group.bench_function("open_1MiB", |b| b.iter(|| key.open(&id, black_box(&sealed)).unwrap()));
    group.finish();
}

/// Our coder (framing included) beside the two Reed-Solomon crates on bare buffers.
fn erasure(c: &mut Criterion) {
    let mut group = c.benchmark_group("erasure");
    let data = random(BLOCK, 2);
    group.throughput(Throughput::BytesDecimal(BLOCK as u64));
    for name in PROFILES {
        let profile: EcProfile = name.parse().unwrap();
        let (k, m) = (profile.data_shards(), profile.parity_shards());
        let coder = ErasureCoder::new(profile);
        group.bench_function(BenchmarkId::new("cairn_encode", name), |b| {
            b.iter(|| coder.encode(black_box(&data)))
        });

        let shards = coder.encode(&data);
        // Lose m data shards: the worst case, every one must be rebuilt.
        let survivors: Vec<&[u8]> = shards[m..].iter().map(|s| s.bytes.as_slice()).collect();
        group.bench_function(BenchmarkId::new("cairn_decode_degraded", name), |b| {
            b.iter(|| coder.decode(black_box(survivors.iter().copied())).unwrap())
        });
        let all: Vec<&[u8]> = shards.iter().map(|s| s.bytes.as_slice()).collect();
        group.bench_function(BenchmarkId::new("cairn_decode_intact", name), |b| {
            b.iter(|| coder.decode(black_box(all.iter().copied())).unwrap())
        });

        let shard_len = BLOCK.div_ceil(k).next_multiple_of(2);
        let originals: Vec<Vec<u8>> = data
            .chunks(shard_len)
            .map(|c| {
                let mut v = c.to_vec();
                v.resize(shard_len, 0);
                v
            })
            .collect();
        let rse = reed_solomon_erasure::galois_8::ReedSolomon::new(k, m).unwrap();
        let mut parity = vec![vec![0u8; shard_len]; m];
        group.bench_function(BenchmarkId::new("rs_erasure_encode", name), |b| {
            b.iter(|| rse.encode_sep(black_box(&originals), &mut parity).unwrap())
        });
        group.bench_function(BenchmarkId::new("rs_simd_encode", name), |b| {
            b.iter(|| reed_solomon_simd::encode(k, m, black_box(&originals)).unwrap())
        });
        let recovery = reed_solomon_simd::encode(k, m, &originals).unwrap();
        group.bench_function(BenchmarkId::new("rs_simd_decode_degraded", name), |b| {
            b.iter(|| {
                let kept = originals.iter().enumerate().skip(m);
                reed_solomon_simd::decode(k, m, black_box(kept), recovery.iter().enumerate()).unwrap()
            })
        });
    }
    group.finish();
}

fn store_config(dir: &std::path::Path, blob_files: bool) -> ShardStoreConfig {
    let mut config = ShardStoreConfig::new(dir);
    config.reserve_disk_bytes = 0;
    config.blob_files = blob_files;
    config
}

fn shard_store(c: &mut Criterion) {
    let mut group = c.benchmark_group("shard_store");
    let shard = random(512 << 10, 4);
    group.throughput(Throughput::BytesDecimal(shard.len() as u64));
    for blob_files in [true, false] {
        let label = if blob_files { "blobdb" } else { "sst" };
        let dir = tempfile::tempdir().unwrap();
        let store = RocksShardStore::open(store_config(dir.path(), blob_files)).unwrap();
        let mut n = 0u32;
        let key = |n: u32| ShardKey {
            account: ACCOUNT,
            block: BlockId::of(&n.to_le_bytes()),
            generation: 1,
            index: 0,
        };
        group.bench_function(BenchmarkId::new("put_synced_512KiB", label), |b| {
            b.iter(|| {
                n += 1;
                store.put(&key(n), black_box(&shard)).unwrap()
            })
        });
        let written = n.max(1);
        let mut i = 0u32;
        group.bench_function(BenchmarkId::new("get_verified_512KiB", label), |b| {
            b.iter(|| {
                i = i % written + 1;
                store.get(&key(i)).unwrap()
            })
        });
    }
    group.finish();
}

/// Everything a file goes through, on one core. `compute` stops before the store, `stored`
/// includes a synced put of every shard and, back, a verified get of k shards per block.
fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::BytesDecimal(FILE as u64));
    for (kind, file) in [("random", random(FILE, 5)), ("text", text(FILE, 5))] {
        for name in ["2+1", "4+2"] {
            let pipeline = BlockPipeline::new(master(), name.parse().unwrap());
            let label = format!("{kind}/{name}");
            let encode_file = |file: &[u8]| {
                let mut blocks = Vec::new();
                for chunk in StreamChunker::new(file) {
                    let chunk = chunk.unwrap();
                    let block = EncodedBlock::compress(&chunk.data, 3).unwrap();
                    blocks.push((chunk.id, pipeline.encode(ACCOUNT, &chunk.id, &block).unwrap()));
                }
                blocks
            };
            group.bench_function(BenchmarkId::new("forward_compute", &label), |b| {
                b.iter(|| encode_file(black_box(&file)))
            });

            let encoded = encode_file(&file);
            group.bench_function(BenchmarkId::new("back_compute", &label), |b| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(FILE);
                    for (id, shards) in &encoded {
                        out.extend(
                            pipeline.decode(ACCOUNT, id, shards.iter().map(|s| s.bytes.as_slice())).unwrap(),
                        );
                    }
                    out
                })
            });

            let dir = tempfile::tempdir().unwrap();
            let store = RocksShardStore::open(store_config(dir.path(), true)).unwrap();
            let key =
                |id: &BlockId, index: u8| ShardKey { account: ACCOUNT, block: *id, generation: 1, index };
            group.bench_function(BenchmarkId::new("forward_stored", &label), |b| {
                b.iter(|| {
                    for (id, shards) in encode_file(black_box(&file)) {
                        for shard in shards {
                            store.put(&key(&id, shard.index), &shard.bytes).unwrap();
                        }
                    }
                })
            });
            let k = pipeline.profile().data_shards() as u8;
            group.bench_function(BenchmarkId::new("back_stored", &label), |b| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(FILE);
                    for (id, _) in &encoded {
                        let shards: Vec<Vec<u8>> =
                            (0..k).map(|i| store.get(&key(id, i)).unwrap().unwrap()).collect();
                        out.extend(pipeline.decode(ACCOUNT, id, shards.iter().map(Vec::as_slice)).unwrap());
                    }
                    assert_eq!(out.len(), FILE);
                    out
                })
            });
        }
    }
    group.finish();
}

fn setup(c: &mut Criterion) {
    // Measure with the allocator settings the node runs with.
    cairn_node::allocator::keep_freed_buffers();
    let _ = c;
}

criterion_group! {
    name = stages;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = setup, sealing, erasure, shard_store, pipeline
}
criterion_main!(stages);
