//! Blocks on a 3-process cluster coded 2+1: kill -9 one node and every block still reads back
//! byte-identical from the other two, and new blocks are still accepted (2 of 3 shards meet the
//! default write quorum; the third is owed to repair). Then replace the dead node — add a fourth, remove the
//! dead one from the group — and repair rebuilds the lost shards on the new node until every
//! block has k+m healthy shards again. The proof that the rebuilt shards are good: kill one of
//! the original nodes as well, and every block still reads back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use cairn_raft::model::blocks::is_inline;

use cairn_block_service::BlockError;
use cairn_metadata::AdminCommand;
use cairn_node::ClusterClientError;
use cairn_test_cluster::{ProcessCluster, Settings, http_get, wait_until};
use common::blocks::{ACCOUNT, assert_all_read_back, fully_redundant, put_all, record, samples};

const STORAGE: &str = "profile = \"2+1\"\ndown_after_ms = 1500\nrepair_grace_ms = 2000\nrepair_every_ms = 500\n\
                       hedge_after_ms = 200";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_survive_node_loss_and_repair_restores_redundancy() {
    let settings = Settings { storage: STORAGE.into(), ..Default::default() };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let client = cluster.client().await;
    let mut blocks = samples(40, 1);
    put_all(&client, &blocks).await;
    assert!(fully_redundant(&client, &blocks, &[]).await, "freshly written blocks lack shards");

    // The same block again is not stored twice.
    let again = client.put_block(ACCOUNT, blocks[0].id, &blocks[0].wire).await.unwrap();
    assert!(!again.written);
    // A block under a false id is refused, and nothing is recorded for it.
    let false_id = cairn_proto::BlockId::of(b"not these bytes");
    match client.put_block(ACCOUNT, false_id, &blocks[1].wire).await {
        Err(ClusterClientError::Block { error: BlockError::Invalid(why), .. }) => {
            assert!(why.contains("id"), "{why}")
        }
        other => panic!("a block under a false id gave {other:?}"),
    }

    // Kill a follower: m = 1 node lost, every block still decodes.
    let leader = cluster.wait_for_leader().await;
    let victim = (1..=3).find(|id| *id != leader).unwrap();
    cluster.kill(victim);
    assert_all_read_back(&client, &blocks).await;
    // Uploads go on with a node down; what they could not place is recorded as owed.
    let degraded = samples(8, 3);
    put_all(&client, &degraded).await;
    for b in &degraded {
        let r = record(&client, b.id).await;
        assert!(r.damaged.len() <= 1, "block {} lacks more than one shard: {r:?}", b.id);
    }
    assert_all_read_back(&client, &degraded).await;
    blocks.extend(degraded);

    // New capacity: node 4 joins, and the dead node leaves the group.
    cluster.add_files(4);
    cluster.start_node(4);
    cluster.join(4).await;
    client.admin(&AdminCommand::Remove { id: victim }).await.unwrap();
    let client = cluster.client().await;
    wait_until("repair to restore every block's k+m shards", || async {
        fully_redundant(&client, &blocks, &[victim]).await.then_some(())
    })
    .await;
    // With three nodes and 2+1 the dead node held a shard of every block in shards, and node 4
    // is the only place left for it. (The small samples are kept in metadata: no shards.)
    let mut in_shards = 0;
    for b in &blocks {
        let r = record(&client, b.id).await;
        assert!(is_inline(&r) || r.placement.contains(&4), "block {} not repaired onto node 4", b.id);
        in_shards += u64::from(!is_inline(&r));
    }
    assert!(in_shards > 0, "every sample was kept in metadata: nothing tests repair");
    let leader = cluster.wait_for_leader().await;
    let stats = cluster.status_of(&client, leader).await.blocks.unwrap();
    assert!(stats.repair_shards >= in_shards, "{stats:?}");
    println!(
        "repair rebuilt {} shards ({} bytes) in {} scans",
        stats.repair_shards, stats.repair_bytes, stats.repair_scans
    );
    // Prometheus sees the same progress.
    let metrics = http_get(cluster.nodes[&leader].api, "/metrics");
    let line = metrics.lines().find(|l| l.starts_with("cairn_repair_shards_total ")).unwrap();
    assert_eq!(line, format!("cairn_repair_shards_total {}", stats.repair_shards));
    assert!(metrics.contains("cairn_raft_is_leader 1"), "{metrics}");

    // Lose another original node: only the rebuilt shards make the blocks whole now.
    let second = (1..=3).find(|id| *id != victim && *id != leader).unwrap();
    cluster.kill(second);
    assert_all_read_back(&client, &blocks).await;
}
