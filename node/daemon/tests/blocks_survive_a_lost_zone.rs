//! Five processes in three zones (two, two and one node), blocks coded 3+2: placement puts at
//! most two shards of a block in any zone, so a whole zone can go — here the two nodes of zone
//! b, killed together — and every block still reads back byte-identical. With a write quorum
//! of 4 (set here; the default for 3+2 is k = 3), three nodes left cannot take a write, and a
//! write says so clearly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::collections::{BTreeMap, HashMap};

use cairn_block_service::BlockError;
use cairn_node::ClusterClientError;
use cairn_test_cluster::{ProcessCluster, Settings};
use common::blocks::{ACCOUNT, assert_all_read_back, put_all, record, samples};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_zone_loses_no_block() {
    let zones: BTreeMap<u64, String> = [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c")]
        .into_iter()
        .map(|(id, z)| (id, z.to_owned()))
        .collect();
    let settings = Settings {
        // A write quorum of 4: with a whole zone (2 of 5 shards) gone, writes must be refused.
        storage: "profile = \"3+2\"\nwrite_quorum = 4\ndown_after_ms = 1500\nhedge_after_ms = 200".into(),
        zones: zones.clone(),
        ..Default::default()
    };
    let mut cluster = ProcessCluster::start(5, settings).await;
    let client = cluster.client().await;
    // Placement needs every node's zone, which each node registers when it starts.
    cairn_test_cluster::wait_until("every node in the cluster map", || async {
        match client.query(&cairn_raft::model::Query::ClusterMap).await.ok()? {
            cairn_raft::model::Answer::ClusterMap(map) => {
                let known: Vec<_> = map.nodes.iter().map(|n| (n.spec.id, n.spec.zone.clone())).collect();
                (known.len() == 5 && known.iter().all(|(id, z)| zones[id] == *z)).then_some(())
            }
            _ => None,
        }
    })
    .await;
    let blocks = samples(30, 2);
    put_all(&client, &blocks).await;
    for b in &blocks {
        let placement = record(&client, b.id).await.placement;
        let mut per_zone: HashMap<&str, usize> = HashMap::new();
        for node in &placement {
            *per_zone.entry(zones[node].as_str()).or_default() += 1;
        }
        assert!(per_zone.values().all(|&n| n <= 2), "block {} placed {placement:?}", b.id);
    }

    cluster.kill(3);
    cluster.kill(4);
    assert_all_read_back(&client, &blocks).await;

    // Once the failure detector has marked them down, placement stops trying them.
    cairn_test_cluster::wait_until("nodes 3 and 4 marked down", || async {
        match client.query(&cairn_raft::model::Query::ClusterMap).await.ok()? {
            cairn_raft::model::Answer::ClusterMap(map) => map
                .nodes
                .iter()
                .filter(|n| [3, 4].contains(&n.spec.id))
                .all(|n| matches!(n.state, cairn_raft::model::cluster::NodeState::Down { .. }))
                .then_some(()),
            _ => None,
        }
    })
    .await;
    let extra = &samples(31, 2)[30];
    match client.put_block(ACCOUNT, extra.id, &extra.wire).await {
        Err(ClusterClientError::Block { error: BlockError::Unavailable(why), .. }) => {
            assert!(why.contains("shards could be stored"), "{why}")
        }
        other => panic!("a write with too few nodes gave {other:?}"),
    }
}
