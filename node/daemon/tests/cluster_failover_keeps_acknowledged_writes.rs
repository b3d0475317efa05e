//! kill -9 the leader of a 3-process cluster while writers keep writing: a new leader is
//! elected and accepts writes, and every write acknowledged before, during and after the kill
//! is there. Then kill -9 all three and start them again: nothing acknowledged is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_node::ClusterClient;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, create_user, created, wait_until, write_until_stopped};
use tokio::task::JoinSet;

async fn assert_all_present(client: &ClusterClient, names: &[String]) {
    for name in names {
        match client.query(&Query::UserByName(name.clone())).await.unwrap() {
            Answer::User(Some(_)) => {}
            other => panic!("acknowledged write {name} is lost: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_dies_and_no_acknowledged_write_is_lost() {
    let mut cluster = ProcessCluster::start(3, Settings::default()).await;
    let client = Arc::new(cluster.client().await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for w in 1..=4 {
        writers.spawn(write_until_stopped(client.clone(), w, stop.clone()));
    }
    // Let some writes land, then kill the leader under the writers.
    let count = || async {
        let status = client.status().await.ok()?;
        (status.applied_index? > 40).then_some(())
    };
    wait_until("some writes before the kill", count).await;
    let old_leader = cluster.wait_for_leader().await;
    let applied_before = client.status_of(old_leader).await.unwrap().applied_index.unwrap();
    cluster.kill(old_leader);

    let new_leader = cluster.wait_for_leader().await;
    assert_ne!(new_leader, old_leader);
    // The new leader accepts writes: the applied index moves well past where it was.
    wait_until("writes after the failover", || async {
        let status = client.status_of(new_leader).await.ok()?;
        (status.applied_index? > applied_before + 40).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    while let Some(names) = writers.join_next().await {
        acknowledged.extend(names.unwrap());
    }
    assert!(acknowledged.len() > 80, "only {} writes were acknowledged", acknowledged.len());
    assert_all_present(&client, &acknowledged).await;

    // The old leader comes back as a follower and catches up.
    cluster.start_node(old_leader);
    cluster.wait_caught_up(&client, old_leader).await;
    for name in acknowledged.iter().rev().take(20) {
        let answer = client.query_via(old_leader, &Query::UserByName(name.clone())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "restarted node lacks {name}");
    }

    // Every node dies at once (kill -9, no clean shutdown) and starts again: nothing is lost.
    for id in [1, 2, 3] {
        cluster.kill(id);
    }
    for id in [1, 2, 3] {
        cluster.start_node(id);
    }
    cluster.wait_for_leader().await;
    assert_all_present(&client, &acknowledged).await;
    let after = client.write(create_user(u128::MAX, "after-restart")).await.unwrap();
    assert!(created(&after), "{after:?}");
    client.shutdown().await;
}
