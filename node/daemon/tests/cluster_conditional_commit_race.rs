//! Many clients commit a new version of one file against the same base version at once,
//! through every node of a 3-process cluster: exactly one wins, every other gets a conflict
//! naming the new head, and the journal shows exactly one new version.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::Arc;

use cairn_proto::DrivePath;
use cairn_raft::model::drive::{FileStatus, NewVersion, VersionContent};
use cairn_raft::model::journal::ChangeKind;
use cairn_raft::model::{Answer, Command, Query, Rejection, Request, RequestId, Response, User};
use cairn_test_cluster::{ProcessCluster, Settings, create_user};
use tokio::task::JoinSet;

const RACERS: u128 = 48;

fn commit(user: &User, id: u128, base: Option<u64>, content: u8) -> Request {
    let new = NewVersion {
        namespace: user.drive,
        path: DrivePath::parse("/docs/plan.txt").unwrap(),
        base,
        content: VersionContent {
            blocks: Vec::new(),
            size: 0,
            hash: [content; 32],
            mtime_ms: 1,
            device: None,
            hash_verified: false,
        },
        author: user.id,
        status: FileStatus::Complete,
    };
    Request { id: RequestId(id), time_ms: 0, command: Command::CommitVersion(new) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_many_concurrent_commits_on_one_base_wins() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let client = Arc::new(cluster.client().await);
    let Response::UserCreated { user } = client.write(create_user(1, "ada")).await.unwrap() else {
        panic!("no user")
    };
    let Answer::User(Some(user)) = client.query(&Query::User(user)).await.unwrap() else { panic!("no user") };
    let first = client.write(commit(&user, 2, None, 0)).await.unwrap();
    let Response::Committed { version: base, .. } = first else { panic!("{first:?}") };
    let Answer::Changes(before) =
        client.query(&Query::ChangesAfter { user: user.id, cursor: 0, limit: 1_000 }).await.unwrap()
    else {
        panic!("no journal")
    };

    let mut racers = JoinSet::new();
    for racer in 0..RACERS {
        let client = client.clone();
        let request = commit(&user, 1_000 + racer, Some(base), racer as u8 + 1);
        // Spread the racers over every node: followers forward to the leader.
        let via = (racer % 3) as u64 + 1;
        racers.spawn(async move { client.propose_via(via, &[request]).await.unwrap().remove(0) });
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    while let Some(outcome) = racers.join_next().await {
        match outcome.unwrap() {
            Response::Committed { version, .. } => winners.push(version),
            Response::Rejected(Rejection::Conflict { head }) => {
                assert_eq!(head, Some(base + 1), "a conflict must name the new head");
                conflicts += 1;
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners, vec![base + 1], "exactly one commit must win");
    assert_eq!(conflicts, RACERS - 1);

    let Answer::Changes(after) = client
        .query(&Query::ChangesAfter { user: user.id, cursor: before.last().unwrap().seq, limit: 1_000 })
        .await
        .unwrap()
    else {
        panic!("no journal")
    };
    let versions: Vec<_> =
        after.iter().filter(|c| matches!(c.kind, ChangeKind::VersionCommitted { .. })).collect();
    assert_eq!(versions.len(), 1, "the journal must show exactly one new version: {after:?}");
    client.shutdown().await;
}
