//! Bytes flipped in one node's shard files on disk: the scrubber finds every rotten shard,
//! deletes it and reports it, repair rebuilds it from the other nodes, and no read — not one,
//! while all this goes on — returns anything but the original bytes. The rebuilt shards are
//! then the ones that count: with another node killed, every block still reads back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::path::Path;

use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use common::blocks::{assert_all_read_back, fully_redundant, put_all, samples};

const STORAGE: &str = "profile = \"2+1\"\ndown_after_ms = 1500\nrepair_every_ms = 500\nhedge_after_ms = 200\n\
                       scrub_every_ms = 300\nscrub_bytes_per_sec = 1000000000";

/// Flips one byte every `stride` bytes of `file`, past its header and before its footer.
fn rot(file: &Path, stride: usize) -> usize {
    let mut bytes = std::fs::read(file).unwrap();
    let mut flipped = 0;
    let end = bytes.len().saturating_sub(64);
    let mut at = 64;
    while at < end {
        bytes[at] ^= 0x5a;
        flipped += 1;
        at += stride;
    }
    std::fs::write(file, bytes).unwrap();
    flipped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrubber_finds_and_repairs_rotten_shards() {
    let settings = Settings { storage: STORAGE.into(), ..Default::default() };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let client = cluster.client().await;
    let blocks = samples(30, 3);
    put_all(&client, &blocks).await;

    // Stop a follower and rot the files that hold its shard bodies.
    let leader = cluster.wait_for_leader().await;
    let victim = (1..=3).find(|id| *id != leader).unwrap();
    cluster.kill(victim);
    let shard_dir = cluster.data_dir(victim).join("shards");
    let files = cairn_shard_store::body_files(&shard_dir);
    assert!(!files.is_empty(), "no shard files in {}", shard_dir.display());
    let flipped: usize = files.iter().map(|f| rot(f, 50_000)).sum();
    println!("flipped {flipped} bytes in {} shard files of node {victim}", files.len());
    cluster.start_node(victim);

    // Reads go on while the scrubber and repair work: never a wrong byte.
    let reader = {
        let client = cluster.client().await;
        let blocks = samples(30, 3);
        tokio::spawn(async move {
            for _ in 0..3 {
                assert_all_read_back(&client, &blocks).await;
            }
        })
    };
    wait_until("the scrubber to find rotten shards", || async {
        let stats = client.status_of(victim).await.ok()?.blocks?;
        (stats.scrub_corrupt > 0).then_some(())
    })
    .await;
    // Done when a whole scrub pass finds nothing new and every block has its k+m shards.
    let mark = std::cell::Cell::new((0u64, 0u64));
    let found = wait_until("a clean scrub pass after repair", || async {
        let stats = client.status_of(victim).await.ok()?.blocks?;
        let (passes, corrupt) = mark.get();
        if stats.scrub_corrupt != corrupt {
            mark.set((stats.scrub_passes, stats.scrub_corrupt));
            return None;
        }
        let clean = stats.scrub_passes >= passes + 2 && fully_redundant(&client, &blocks, &[]).await;
        clean.then_some(corrupt)
    })
    .await;
    reader.await.unwrap();
    println!("scrubber found {found} corrupt shards; all rebuilt");

    // The rebuilt shards on the victim now carry the blocks with one other node gone.
    let other = (1..=3).find(|id| *id != victim && *id != leader).unwrap_or(leader);
    cluster.kill(other);
    assert_all_read_back(&client, &blocks).await;
}
