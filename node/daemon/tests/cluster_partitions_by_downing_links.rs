//! Three nodes, each on a host of its own (a network namespace on a virtual bridge), reached
//! by their peers and by the test's client over that network. Pulling the leader's cable (its
//! link goes down; no proxy in between) partitions it: the other two elect a leader and accept
//! writes, and once the cable is back the old leader follows the new one and catches up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::netns::Network;
use cairn_test_cluster::{HOST_QUIC_PORT, ProcessCluster, Settings, wait_until, write_until_stopped};
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_link_is_cut_is_replaced_and_catches_up_when_it_returns() {
    // CI runs the tests as root: no network is a failure, not a skip.
    let network = Arc::new(Network::new());
    let settings = Settings { hosts: Some(network.clone()), ..Settings::default() };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let client = Arc::new(cluster.client().await);

    // The members' addresses are the three hosts', and the test reached them across the bridge.
    let status = client.status().await.unwrap();
    let addresses: BTreeSet<String> = status.members.values().map(|addr| addr.raft_addr.clone()).collect();
    let hosts: BTreeSet<String> =
        (1..=3).map(|id| format!("{}:{HOST_QUIC_PORT}", cluster.host(id).unwrap().ip())).collect();
    assert_eq!(addresses, hosts);
    assert!(hosts.iter().all(|addr| addr.starts_with("10.")), "{hosts:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for w in 1..=2 {
        writers.spawn(write_until_stopped(client.clone(), w, stop.clone()));
    }
    wait_until("some writes before the cut", || async {
        (client.status().await.ok()?.applied_index? > 30).then_some(())
    })
    .await;

    let old_leader = cluster.wait_for_leader().await;
    let applied_before = client.status_of(old_leader).await.unwrap().applied_index.unwrap();
    cluster.cut(old_leader);

    // The two that still see each other elect one of them and go on committing.
    let new_leader = cluster.wait_for_leader().await;
    assert_ne!(new_leader, old_leader);
    wait_until("writes without the old leader", || async {
        let status = client.status_of(new_leader).await.ok()?;
        (status.applied_index? > applied_before + 30).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    while let Some(names) = writers.join_next().await {
        acknowledged.extend(names.unwrap());
    }

    // Back on the network, the old leader learns of the new term and catches up by itself.
    let new_status = client.status_of(new_leader).await.unwrap();
    let target = new_status.applied_index.unwrap();
    cluster.restore(old_leader);
    wait_until("the old leader to follow the new one", || async {
        let status = client.status_of(old_leader).await.ok()?;
        (status.state == "Follower"
            && status.leader == Some(new_leader)
            && status.term >= new_status.term
            && status.applied_index? >= target)
            .then_some(())
    })
    .await;
    cluster.wait_caught_up(&client, old_leader).await;
    for name in acknowledged.iter().rev().take(20) {
        let answer = client.query_via(old_leader, &Query::UserByName(name.clone())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "the old leader lacks {name}");
    }
    client.shutdown().await;
}
