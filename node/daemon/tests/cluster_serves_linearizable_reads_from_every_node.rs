//! Three real `cairn-node` processes form a cluster and elect a leader; a write sent through any
//! node is readable at once, linearizably, through every node; `cairn-node status` shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, create_user, created};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_any_node_are_read_back_through_every_node() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let client = cluster.client().await;
    let leader = cluster.wait_for_leader().await;

    let mut request_id = 0u128;
    for round in 0..5 {
        for writer in 1..=3 {
            request_id += 1;
            let name = format!("user-{round}-via-{writer}");
            let responses = client.propose_via(writer, &[create_user(request_id, &name)]).await.unwrap();
            assert!(created(&responses[0]), "{responses:?}");
            // Read right after the acknowledgement, through every node, followers included:
            // a follower that answered from a state missing the write would fail here.
            for reader in 1..=3 {
                match client.query_via(reader, &Query::UserByName(name.clone())).await.unwrap() {
                    Answer::User(Some(user)) => assert_eq!(user.name, name),
                    other => panic!("node {reader} does not see {name} written via node {writer}: {other:?}"),
                }
            }
        }
    }

    // A retried request (same id) through another node gets the first outcome, changes nothing.
    let first = client.propose_via(1, &[create_user(1_000, "retried")]).await.unwrap();
    let again = client.propose_via(3, &[create_user(1_000, "retried")]).await.unwrap();
    assert_eq!(first, again);

    let status = cluster.run_ok(&["status", "-c", cluster.nodes[&2].config.to_str().unwrap()]);
    assert!(status.contains(&format!("leader node {leader}")), "{status}");
    assert_eq!(status.matches(" voter ").count(), 3, "{status}");
    assert!(!status.contains("DOWN"), "{status}");
    client.shutdown().await;
}
