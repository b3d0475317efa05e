//! While writers keep writing, a fourth node joins (learner, caught up, promoted to voter) and
//! the first node is removed: every acknowledged write survives, and the new node serves all of
//! them linearizably.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_metadata::AdminCommand;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, write_until_stopped};
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_and_another_leaves_while_writes_go_on() {
    let mut cluster = ProcessCluster::start(3, Settings::default()).await;
    let client = Arc::new(cluster.client().await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for w in 1..=3 {
        writers.spawn(write_until_stopped(client.clone(), w, stop.clone()));
    }

    cluster.add_files(4);
    cluster.start_node(4);
    cluster.join(4).await;
    let view = client.status().await.unwrap();
    assert_eq!(view.voters, vec![1, 2, 3, 4]);

    let removed = client.admin(&AdminCommand::Remove { id: 1 }).await.unwrap();
    assert!(!removed.voters.contains(&1) && !removed.members.contains_key(&1), "{removed:?}");
    cluster.kill(1);
    // Writes go on without node 1 (whose client connection now fails over to the others).
    let before = client.status().await.unwrap().applied_index.unwrap();
    cairn_test_cluster::wait_until("writes after the removal", || async {
        (client.status().await.ok()?.applied_index? > before + 30).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    while let Some(names) = writers.join_next().await {
        acknowledged.extend(names.unwrap());
    }
    assert!(acknowledged.len() > 30, "only {} writes acknowledged", acknowledged.len());

    // A client that knows node 4 (the writers' client was made before it existed).
    let with_four = cluster.client().await;
    let view = with_four.status_of(4).await.unwrap();
    assert_eq!(view.voters, vec![2, 3, 4]);
    for name in &acknowledged {
        let answer = with_four.query_via(4, &Query::UserByName(name.clone())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "node 4 lacks acknowledged {name}");
    }
    with_four.shutdown().await;
    client.shutdown().await;
}
