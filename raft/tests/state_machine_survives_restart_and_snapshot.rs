//! The RocksDB state machine keeps what it applied across a restart, and a snapshot built on one
//! replica installs on another with the same state, while readers keep working.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_raft::TypeConfig;
use cairn_raft::model::users::{user_by_name, user_for_token};
use cairn_raft::model::{Command, Request, RequestId, Response, TokenHash, UserId};
use cairn_raft::storage::RocksStateMachine;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};

fn entry(index: u64, command: Command) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(Request { id: RequestId(u128::from(index)), time_ms: 5, command }),
    }
}

fn users(count: u64) -> Vec<Entry<TypeConfig>> {
    (1..=count).map(|i| entry(i, Command::CreateUser { name: format!("user-{i}") })).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut sm = RocksStateMachine::open(dir.path()).unwrap();
        let responses = sm.apply(users(50)).await.unwrap();
        assert_eq!(responses[49], Response::UserCreated { user: UserId(50) });
        let token = Command::AddToken { user: UserId(7), token_hash: TokenHash::of("t"), label: "x".into() };
        sm.apply([entry(51, token)]).await.unwrap();
    }
    let mut sm = RocksStateMachine::open(dir.path()).unwrap();
    let (last, _) = sm.applied_state().await.unwrap();
    assert_eq!(last.unwrap().index, 51);
    let view = sm.reader().view();
    assert_eq!(user_by_name(&view, "user-50").unwrap().unwrap().id, UserId(50));
    assert_eq!(user_for_token(&view, &TokenHash::of("t")).unwrap().unwrap().name, "user-7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_moves_the_whole_state_to_another_replica() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = RocksStateMachine::open(a_dir.path()).unwrap();
    a.apply(users(2_000)).await.unwrap();
    let snapshot = a.get_snapshot_builder().await.build_snapshot().await.unwrap();
    assert_eq!(snapshot.meta.last_log_id.unwrap().index, 2_000);
    // Entries applied after the snapshot was taken are not in it.
    a.apply(users(2_001).into_iter().skip(2_000)).await.unwrap();

    let mut b = RocksStateMachine::open(b_dir.path()).unwrap();
    b.apply(users(3)).await.unwrap();
    let reader = b.reader();
    let old_view = reader.view();

    let mut incoming = b.begin_receiving_snapshot().await.unwrap();
    let mut source = a.get_current_snapshot().await.unwrap().unwrap().snapshot;
    tokio::io::copy(&mut source, &mut incoming).await.unwrap();
    b.install_snapshot(&snapshot.meta, incoming).await.unwrap();

    assert_eq!(b.applied_state().await.unwrap().0.unwrap().index, 2_000);
    let view = reader.view();
    assert_eq!(user_by_name(&view, "user-1999").unwrap().unwrap().id, UserId(1999));
    assert!(user_by_name(&view, "user-2001").unwrap().is_none());
    // A reader that started before the install still sees its old, consistent state.
    assert!(user_by_name(&old_view, "user-3").unwrap().is_some());
    assert!(user_by_name(&old_view, "user-4").unwrap().is_none());
    drop(old_view);

    // The installed state is the durable one: it is what a restart finds.
    drop((b, view, reader));
    let mut b = RocksStateMachine::open(b_dir.path()).unwrap();
    assert_eq!(b.applied_state().await.unwrap().0.unwrap().index, 2_000);
    assert_eq!(b.get_current_snapshot().await.unwrap().unwrap().meta.snapshot_id, snapshot.meta.snapshot_id);
}
