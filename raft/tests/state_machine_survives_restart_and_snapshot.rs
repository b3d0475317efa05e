//! The RocksDB state machine keeps what it applied across a restart, and a snapshot built on one
//! replica installs on another with the same state, while readers keep working.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_raft::TypeConfig;
use cairn_raft::model::tokens::user_for_token;
use cairn_raft::model::users::user_by_name;
use cairn_raft::model::{Command, Request, RequestId, Response, TokenHash, UserId};
use cairn_raft::storage::RocksStateMachine;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};

fn entry(index: u64, command: Command) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(
            Request { id: RequestId(u128::from(index)), time_ms: 5, command }.into(),
        ),
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
        assert_eq!(responses[49], [Response::UserCreated { user: UserId(50) }]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_and_the_journal_page_through_rocksdb() {
    use cairn_proto::{AccountId, BlockId, DrivePath};
    use cairn_raft::model::blocks::BlockRef;
    use cairn_raft::model::drive::{FileStatus, NewVersion, VersionContent, list};
    use cairn_raft::model::ids::NamespaceId;
    use cairn_raft::model::journal::changes_after;

    let dir = tempfile::tempdir().unwrap();
    let mut sm = RocksStateMachine::open(dir.path()).unwrap();
    let block = BlockId::of(b"x");
    let mut entries = vec![
        entry(1, Command::CreateUser { name: "ada".into() }),
        entry(
            2,
            Command::RegisterBlock {
                account: AccountId(1),
                block,
                plain_len: 1,
                shape: (2, 1),
                generation: 1,
                placement: vec![1, 2, 3],
                damaged: vec![],
            },
        ),
    ];
    for (i, name) in ["c.txt", "a.txt", "b.txt", "sub/deeper.txt"].iter().enumerate() {
        entries.push(entry(
            3 + i as u64,
            Command::CommitVersion(NewVersion {
                namespace: NamespaceId(1),
                path: DrivePath::parse(&format!("docs/{name}")).unwrap(),
                base: None,
                content: VersionContent {
                    blocks: vec![BlockRef { id: block, len: 1 }],
                    size: 1,
                    hash: [0; 32],
                    mtime_ms: 0,
                    device: None,
                    hash_verified: false,
                },
                author: UserId(1),
                status: FileStatus::Complete,
            }),
        ));
    }
    sm.apply(entries).await.unwrap();

    let view = sm.reader().view();
    let docs = DrivePath::parse("docs").unwrap();
    let names = |after| {
        list(&view, NamespaceId(1), &docs, after, 2).unwrap().into_iter().map(|(n, _)| n).collect::<Vec<_>>()
    };
    assert_eq!(names(None), vec!["a.txt", "b.txt"]);
    assert_eq!(names(Some("b.txt")), vec!["c.txt", "sub"]);

    // docs, a, b, c, sub, deeper: six changes, read in pages of four from any cursor.
    let first = changes_after(&view, UserId(1), 0, 4).unwrap();
    let rest = changes_after(&view, UserId(1), first.last().unwrap().seq, 4).unwrap();
    let seqs: Vec<u64> = first.iter().chain(&rest).map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    assert!(changes_after(&view, UserId(2), 0, 4).unwrap().is_empty());
}
