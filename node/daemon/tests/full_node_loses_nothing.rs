//! A node whose shard store is full refuses shards; the writer places them on the next nodes
//! instead, and nothing half-written is acknowledged: every acknowledged block has all its
//! shards and reads back byte-identical, and the full node holds no more than its capacity.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::collections::BTreeMap;

use cairn_test_cluster::{ProcessCluster, Settings};
use common::blocks::{assert_all_read_back, fully_redundant, put_all, record, samples};

/// Node 4's capacity: room for a few shards only.
const SMALL: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_refuses_shards_and_loses_nothing() {
    let settings = Settings {
        storage: "profile = \"2+1\"\nhedge_after_ms = 200".into(),
        node_storage: BTreeMap::from([(4, format!("capacity_bytes = {SMALL}"))]),
        ..Default::default()
    };
    let cluster = ProcessCluster::start(4, settings).await;
    let client = cluster.client().await;
    let blocks = samples(40, 4);
    put_all(&client, &blocks).await;
    assert!(fully_redundant(&client, &blocks, &[]).await, "an acknowledged block lacks shards");

    let mut on_node4 = 0;
    for b in &blocks {
        if record(&client, b.id).await.placement.contains(&4) {
            on_node4 += 1;
        }
    }
    let stats = cluster.status_of(&client, 4).await.blocks.unwrap();
    println!("node 4 holds shards of {on_node4} of {} blocks: {} bytes", blocks.len(), stats.shard_bytes);
    assert!(stats.shard_bytes <= SMALL, "node 4 holds {} bytes, capacity {SMALL}", stats.shard_bytes);
    // Rendezvous would give node 4 about three quarters of the blocks; it took only what fit.
    assert!(on_node4 < blocks.len() / 2, "{on_node4}");
    assert_all_read_back(&client, &blocks).await;
}
