//! A node that was down while the cluster wrote thousands of log entries, long enough that the
//! leader purged them from its log, catches up when it comes back: through a snapshot of the
//! leader's RocksDB state, then the log.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, create_user, created, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_down_for_thousands_of_entries_catches_up_through_a_snapshot() {
    let settings = Settings { snapshot_every: 500, keep_after_snapshot: 100, ..Default::default() };
    let mut cluster = ProcessCluster::start(3, settings).await;
    let client = cluster.client().await;
    let leader = cluster.wait_for_leader().await;
    let lagging = if leader == 3 { 2 } else { 3 };
    let applied_before = client.status_of(lagging).await.unwrap().applied_index.unwrap();
    cluster.kill(lagging);

    // One request per call and one call at a time: one log entry per write.
    let writes = 2_500u32;
    for i in 0..writes {
        let response = client.write(create_user(u128::from(i) + 1, &format!("user-{i}"))).await.unwrap();
        assert!(created(&response), "{response:?}");
    }
    let leader = cluster.wait_for_leader().await;
    let status = client.status_of(leader).await.unwrap();
    let purged = status.purged_index.expect("the leader purged its log");
    assert!(
        purged > applied_before + 1_000,
        "purged only up to {purged}; the lagging node had {applied_before}"
    );

    cluster.start_node(lagging);
    cluster.wait_caught_up(&client, lagging).await;
    let caught_up = client.status_of(lagging).await.unwrap();
    let snapshot = caught_up.snapshot_index.expect("the lagging node installed a snapshot");
    assert!(snapshot > applied_before, "snapshot at {snapshot}, node had {applied_before}");
    // What it answers comes from the installed state, read linearizably through it.
    for i in [0, writes / 2, writes - 1] {
        let name = format!("user-{i}");
        let answer = client.query_via(lagging, &Query::UserByName(name.clone())).await.unwrap();
        assert!(matches!(answer, Answer::User(Some(_))), "caught-up node lacks {name}: {answer:?}");
    }
    // And it keeps following: a write after the catch-up reaches it too.
    let response = client.write(create_user(u128::MAX, "after-catch-up")).await.unwrap();
    assert!(created(&response));
    wait_until("the new write on the caught-up node", || async {
        let answer = client.query_via(lagging, &Query::UserByName("after-catch-up".into())).await.ok()?;
        matches!(answer, Answer::User(Some(_))).then_some(())
    })
    .await;
    client.shutdown().await;
}
