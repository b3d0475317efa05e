//! Throughput of the client-side stages of the block pipeline, each alone, on one core:
//! FastCDC cut points, blake3 ids, the streaming chunker (cut + copy + hash), and zstd.
//! Run with `make bench`; numbers are written down in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::hint::black_box;
use std::time::Duration;

use cairn_proto::chunking::cut_points;
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::sample_data::{random, text};
use cairn_proto::{BlockId, ChunkParams, EncodedBlock, StreamChunker};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const FILE: usize = 32 << 20;
const BLOCK: usize = 1 << 20;

fn inputs(len: usize) -> [(&'static str, Vec<u8>); 2] {
    [("random", random(len, 1)), ("text", text(len, 1))]
}

fn chunking(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunk");
    group.throughput(Throughput::BytesDecimal(FILE as u64));
    for (kind, data) in inputs(FILE) {
        group.bench_with_input(BenchmarkId::new("fastcdc_cut", kind), &data, |b, data| {
            b.iter(|| cut_points(black_box(data), ChunkParams::DEFAULT).unwrap().len())
        });
        group.bench_with_input(BenchmarkId::new("stream_chunker", kind), &data, |b, data| {
            b.iter(|| StreamChunker::new(black_box(&data[..])).map(|c| c.unwrap().data.len()).sum::<usize>())
        });
    }
    group.finish();
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    let data = random(4 * BLOCK, 2);
    group.throughput(Throughput::BytesDecimal(data.len() as u64));
    group.bench_function("blake3_4MiB", |b| b.iter(|| BlockId::of(black_box(&data))));
    group.finish();
}

fn compression(c: &mut Criterion) {
    let mut group = c.benchmark_group("zstd");
    group.throughput(Throughput::BytesDecimal(BLOCK as u64));
    for (kind, data) in inputs(BLOCK) {
        group.bench_with_input(BenchmarkId::new("compress", kind), &data, |b, data| {
            b.iter(|| EncodedBlock::compress(black_box(data), DEFAULT_ZSTD_LEVEL).unwrap())
        });
        let encoded = EncodedBlock::compress(&data, DEFAULT_ZSTD_LEVEL).unwrap();
        println!(
            "zstd-{DEFAULT_ZSTD_LEVEL} on {kind}: {} → {} bytes ({:?})",
            data.len(),
            encoded.payload.len(),
            encoded.codec
        );
        group.bench_with_input(BenchmarkId::new("decompress", kind), &encoded, |b, encoded| {
            b.iter(|| black_box(encoded).decompress().unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = stages;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = chunking, hashing, compression
}
criterion_main!(stages);
