//! Garbage collection and reconciliation with real processes.
//!
//! A block no version references is dropped from metadata after the GC grace period and its
//! shards are deleted from every node. A node that was down while repair moved its shards away
//! comes back holding stale copies: rebalance moves its share back onto it, and the scrubbers
//! and the mover delete every copy no record places, so each node ends holding exactly its
//! records' shards.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use common::blocks::{ACCOUNT, assert_all_read_back, fully_redundant, put_all, samples};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreferenced_blocks_are_dropped_with_their_shards() {
    let settings = Settings {
        storage: "profile = \"2+1\"\ngc_grace_ms = 1500\nscrub_every_ms = 300\norphan_grace_ms = 1000".into(),
        ..Default::default()
    };
    let cluster = ProcessCluster::start(3, settings).await;
    let client = cluster.client().await;
    let blocks = samples(10, 5);
    put_all(&client, &blocks).await;
    wait_until("GC to drop every unreferenced block", || async {
        for b in &blocks {
            match client.query(&Query::Block { account: ACCOUNT, block: b.id }).await.ok()? {
                Answer::Block(None) => {}
                _ => return None,
            }
        }
        Some(())
    })
    .await;
    wait_until("every node to delete the shards", || async {
        for id in 1..=3 {
            let stats = client.status_of(id).await.ok()?.blocks?;
            if stats.shards_held > 0 {
                return None;
            }
        }
        Some(())
    })
    .await;
    let leader = cluster.wait_for_leader().await;
    let stats = cluster.status_of(&client, leader).await.blocks.unwrap();
    assert_eq!(stats.gc_blocks_dropped, blocks.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_node_deletes_the_shards_repair_moved_away() {
    let settings = Settings {
        storage: "profile = \"2+1\"\ndown_after_ms = 1500\nrepair_grace_ms = 1000\nrepair_every_ms = 500\n\
                  hedge_after_ms = 200\nscrub_every_ms = 300\norphan_grace_ms = 1000"
            .into(),
        ..Default::default()
    };
    let mut cluster = ProcessCluster::start(4, settings).await;
    let client = cluster.client().await;
    let blocks = samples(24, 6);
    put_all(&client, &blocks).await;
    let leader = cluster.wait_for_leader().await;
    let victim = (1..=4).find(|id| *id != leader).unwrap();
    let held = cluster.status_of(&client, victim).await.blocks.unwrap().shards_held;
    assert!(held > 0, "node {victim} holds no shards to begin with");

    cluster.kill(victim);
    wait_until("repair to move every shard off the dead node", || async {
        fully_redundant(&client, &blocks, &[victim]).await.then_some(())
    })
    .await;
    cluster.start_node(victim);
    wait_until("every node to hold exactly the shards its records place on it", || async {
        for node in 1..=4 {
            let owed = placed_on(&client, &blocks, node).await?;
            let held = client.status_of(node).await.ok()?.blocks?.shards_held;
            if held != owed {
                return None;
            }
        }
        Some(())
    })
    .await;
    assert_all_read_back(&client, &blocks).await;
}

/// How many shards of `blocks` the records place on `node`, read linearizably.
async fn placed_on(
    client: &cairn_node::ClusterClient,
    blocks: &[common::blocks::Sample],
    node: u64,
) -> Option<u64> {
    let mut count = 0;
    for b in blocks {
        let Answer::Block(Some(record)) =
            client.query(&Query::Block { account: ACCOUNT, block: b.id }).await.ok()?
        else {
            return None;
        };
        count += record.placement.iter().filter(|&&n| n == node).count() as u64;
    }
    Some(count)
}
