//! The newer parts of the model (shares, upload sessions, trash, links, the cluster map and the
//! pruning of expired records) work the same on the RocksDB state machine as on the in-memory
//! map of the unit tests: their column families open, scans merge with a batch's own writes, and
//! pruning inside one batch deletes what earlier entries of the batch wrote.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_proto::{AccountId, BlockId, DrivePath};
use cairn_raft::TypeConfig;
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::cluster::{NodeRole, NodeSpec};
use cairn_raft::model::drive::FileStatus;
use cairn_raft::model::ids::LinkId;
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::links::NewLink;
use cairn_raft::model::shares::ShareRole;
use cairn_raft::model::uploads::NewUpload;
use cairn_raft::model::{
    Answer, Command, Query, REQUEST_RETENTION_MS, Rejection, Request, RequestId, Response, UserId, answer,
};
use cairn_raft::storage::RocksStateMachine;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

fn entry(index: u64, time_ms: u64, command: Command) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(Request { id: RequestId(u128::from(index)), time_ms, command }.into()),
    }
}

fn path(p: &str) -> DrivePath {
    DrivePath::parse(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_upload_lands_and_old_records_are_pruned() {
    let (ada, bob, drive) = (UserId(1), UserId(2), NamespaceId(1));
    let block = BlockId::of(b"x");
    let upload = UploadId(42);
    let commands = vec![
        Command::CreateUser { name: "ada".into() },
        Command::CreateUser { name: "bob".into() },
        Command::RegisterBlock {
            account: AccountId(1),
            block,
            plain_len: 1,
            shape: (2, 1),
            generation: 1,
            placement: vec![1, 2, 3],
            damaged: vec![],
        },
        Command::MakeFolder { namespace: drive, path: path("team"), user: ada },
        Command::Share {
            namespace: drive,
            path: path("team"),
            with: bob,
            role: ShareRole::ReadWrite,
            by: ada,
        },
        Command::BeginUpload(NewUpload {
            upload,
            namespace: drive,
            path: path("team/x"),
            base: None,
            size: 1,
            mtime_ms: 0,
            device: None,
            author: bob,
            expires_ms: 1_000,
        }),
        Command::UploadBlocks {
            upload,
            user: bob,
            offset: 0,
            blocks: vec![BlockRef { id: block, len: 1 }],
            progress: None,
        },
        Command::FinishUpload { upload, user: bob, hash: [1; 32], verified: false },
        Command::Trash { namespace: drive, path: path("team/x"), user: bob },
        Command::Restore { namespace: drive, path: path("team/x"), user: ada },
        Command::CreateLink(NewLink {
            link: LinkId(7),
            namespace: drive,
            path: path("team"),
            user: ada,
            expires_ms: Some(500),
            password_hash: None,
        }),
        Command::SetNode(NodeSpec {
            id: 1,
            quic_addr: "127.0.0.1:7001".into(),
            api_addr: "127.0.0.1:8001".into(),
            zone: "a".into(),
            role: NodeRole::Voter,
            capacity_bytes: 1 << 30,
        }),
    ];
    let count = commands.len() as u64;
    let dir = tempfile::tempdir().unwrap();
    let mut sm = RocksStateMachine::open(dir.path()).unwrap();
    let entries = commands.into_iter().enumerate().map(|(i, c)| entry(i as u64 + 1, 10, c));
    let responses: Vec<Response> = sm.apply(entries).await.unwrap().into_iter().flatten().collect();
    assert!(responses.iter().all(|r| !matches!(r, Response::Rejected(_))), "{responses:#?}");

    let view = sm.reader().view();
    let Answer::Stat(Some((_, Some(file)))) =
        answer(&view, &Query::Stat { namespace: drive, path: path("team/x") }).unwrap()
    else {
        panic!("team/x is missing")
    };
    assert_eq!((file.status, file.head), (FileStatus::Complete, 1));
    let Answer::Changes(bobs) =
        answer(&view, &Query::ChangesAfter { user: bob, cursor: 0, limit: 100 }).unwrap()
    else {
        panic!()
    };
    // Bob hears of his upload's start, its commit, the trash and the restore inside the folder
    // shared with him.
    assert_eq!(bobs.len(), 4);
    assert!(matches!(
        answer(&view, &Query::Link { link: LinkId(7), now_ms: 499 }).unwrap(),
        Answer::Link(Some(_))
    ));
    assert!(matches!(answer(&view, &Query::Upload(upload)).unwrap(), Answer::Upload(None)));
    // The session's reference on the block went with it; the version's stays.
    let Answer::Blocks(stored) = answer(&view, &Query::Blocks { after: None, limit: 10 }).unwrap() else {
        panic!()
    };
    assert_eq!(
        stored.iter().map(|(a, b, r)| (*a, *b, r.refcount)).collect::<Vec<_>>(),
        [(AccountId(1), block, 1)]
    );
    let Answer::ClusterMap(map) = answer(&view, &Query::ClusterMap).unwrap() else { panic!() };
    assert_eq!((map.version, map.nodes.len()), (1, 1));
    drop(view);

    // A day later, two requests in one batch prune every record above (at most 16 each),
    // including the expired link; a retry of the very first request is then applied afresh.
    let later = 10 + REQUEST_RETENTION_MS;
    let batch = vec![
        entry(count + 1, later, Command::CreateUser { name: "carol".into() }),
        entry(count + 2, later, Command::CreateUser { name: "dave".into() }),
        entry(1, later, Command::CreateUser { name: "ada".into() }),
    ];
    let responses: Vec<Response> = sm.apply(batch).await.unwrap().into_iter().flatten().collect();
    assert_eq!(responses[2], Response::Rejected(Rejection::NameTaken("ada".into())));
    let view = sm.reader().view();
    assert!(matches!(
        answer(&view, &Query::Link { link: LinkId(7), now_ms: 0 }).unwrap(),
        Answer::Link(None)
    ));
}
