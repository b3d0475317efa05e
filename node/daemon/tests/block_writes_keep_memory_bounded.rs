//! Back-pressure: 64 writers sending 4 MiB blocks to one node at once. The node holds at most
//! its configured budget of block bytes in memory and makes the rest wait (unread, so QUIC's
//! flow control holds the senders back), so its resident memory grows by a bounded amount —
//! not by the hundreds of MiB of blocks, sealed copies and shards the writers offered.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cairn_proto::sample_data::random;
use cairn_proto::{BlockId, EncodedBlock};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::blocks::ACCOUNT;
use tokio::task::JoinSet;

const WRITERS: usize = 64;
const BLOCK: usize = 4 << 20;

/// Resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_large_blocks_do_not_grow_memory_without_limit() {
    let settings =
        Settings { storage: "profile = \"2+1\"\nmax_inflight_bytes = 33554432".into(), ..Default::default() };
    let cluster = ProcessCluster::start(3, settings).await;
    let client = Arc::new(
        cluster.client_with(&cluster.operator_identity(), std::time::Duration::from_secs(120)).await,
    );
    let blocks: Arc<Vec<(BlockId, Vec<u8>)>> = Arc::new(
        (0..WRITERS)
            .map(|i| {
                let plain = random(BLOCK, 900 + i as u64);
                (BlockId::of(&plain), EncodedBlock::compress(&plain, 3).unwrap().to_bytes())
            })
            .collect(),
    );
    let pid = cluster.pid(1).unwrap();
    let baseline = rss(pid);
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    };
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let (client, blocks) = (client.clone(), blocks.clone());
        writers.spawn(async move {
            let (id, wire) = &blocks[i];
            client.put_block_via(1, ACCOUNT, *id, wire).await.unwrap();
        });
    }
    while let Some(result) = writers.join_next().await {
        result.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let growth = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    let offered = (WRITERS * BLOCK) as u64;
    println!(
        "node 1: baseline {} MiB, peak growth {} MiB while {} MiB of blocks were offered at once",
        baseline >> 20,
        growth >> 20,
        offered >> 20
    );
    // Unbounded (a budget of 4 GiB) the node held every block, its sealed copy and its shards
    // at once: 1 056 MiB of growth for these 256 MiB. Bounded, it holds the 32 MiB budgets,
    // what QUIC's connection window lets arrive unread (128 MiB) and the shard store's
    // memtables (up to 128 MiB): about 300 MiB, whatever the number of writers.
    assert!(growth < 2 * offered, "memory grew by {} MiB", growth >> 20);
    for (id, _) in blocks.iter() {
        let plain = client.get_block(ACCOUNT, *id).await.unwrap();
        assert_eq!(BlockId::of(&plain), *id);
    }
}
