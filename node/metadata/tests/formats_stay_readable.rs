//! What the metadata service sends between nodes stays readable: today's bytes of every kind
//! byte, every call's payload and answer, and every Raft RPC and its answer are committed under
//! `tests/golden/`, and each build must decode them to the same values and encode those values to
//! the same bytes (see `cairn_proto::golden`; `CAIRN_BLESS=1` records a new kind). During a
//! rolling upgrade, nodes of two releases replicate and forward to each other: a message changes
//! by a new kind or version, never in place. (The `Request`s, `Query`s and answers inside are
//! pinned variant by variant in `cairn-raft`'s fixtures.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::Path;

use cairn_metadata::BlockStats;
use cairn_metadata::messages::{
    self, AdminCommand, BackupCall, BackupTaken, KIND_ADMIN, KIND_ADMIN_FORWARDED, KIND_BACKUP, KIND_PROPOSE,
    KIND_PROPOSE_FORWARDED, KIND_QUERY, KIND_READ_INDEX, KIND_STATUS, KIND_UPGRADE, NodeStatus, NodeVersion,
    ProposePayload, ProposeResult, ServiceError, UpgradeCall, UpgradeReport,
};
use cairn_metadata::raft_net::{
    KIND_APPEND, KIND_PRE_VOTE, KIND_SNAPSHOT, KIND_UNDECODABLE, KIND_VOTE, PreVote, PreVoteRequest,
};
use cairn_proto::golden::Golden;
use cairn_raft::model::{Answer, Command, Query, Rejection, Request, RequestId, Response, UserId};
use cairn_raft::{NodeAddr, NodeId, Proposal, TypeConfig};
use openraft::error::{Fatal, InstallSnapshotError, RaftError, SnapshotMismatch};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{
    AnyError, CommittedLeaderId, Entry, EntryPayload, LogId, Membership, SnapshotMeta, SnapshotSegmentId,
    StorageError, StorageIOError, StoredMembership, Vote,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const ADA: UserId = UserId(11);
const NODE_A: NodeId = 81;
const NODE_B: NodeId = 82;
const NODE_C: NodeId = 83;
const T0: u64 = 1_767_225_600_123;

fn golden(file: &str, what: &str) -> Golden {
    Golden::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file), what)
}

fn log_id(term: u64, node: NodeId, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

fn addr(id: NodeId) -> NodeAddr {
    NodeAddr { raft_addr: format!("10.0.0.{}:7001", id - 80), api_addr: format!("10.0.0.{}:8443", id - 80) }
}

fn membership() -> Membership<NodeId, NodeAddr> {
    let nodes: BTreeMap<NodeId, NodeAddr> =
        [NODE_A, NODE_B, NODE_C].into_iter().map(|id| (id, addr(id))).collect();
    Membership::new(vec![BTreeSet::from([NODE_A, NODE_B])], nodes)
}

fn requests() -> ProposePayload {
    vec![
        Request {
            id: RequestId(0x0bad_cafe_0017),
            time_ms: T0 + 1,
            command: Command::CreateUser { name: "ada".into() },
        },
        Request {
            id: RequestId(0x0bad_cafe_0018),
            time_ms: T0 + 2,
            command: Command::SetAdmin { user: ADA, admin: true },
        },
    ]
}

#[test]
fn kind_bytes_stay() {
    // A kind byte is how the receiver tells one call from another: renumbering one makes a node
    // of the previous release take it for another call, or refuse it.
    let mut g =
        golden("kinds.txt", "the transport kind bytes of the metadata service's calls and Raft's RPCs");
    let kinds = [
        ("KIND_APPEND", KIND_APPEND),
        ("KIND_VOTE", KIND_VOTE),
        ("KIND_SNAPSHOT", KIND_SNAPSHOT),
        ("KIND_PRE_VOTE", KIND_PRE_VOTE),
        ("KIND_UNDECODABLE", KIND_UNDECODABLE),
        ("KIND_PROPOSE", KIND_PROPOSE),
        ("KIND_PROPOSE_FORWARDED", KIND_PROPOSE_FORWARDED),
        ("KIND_READ_INDEX", KIND_READ_INDEX),
        ("KIND_QUERY", KIND_QUERY),
        ("KIND_STATUS", KIND_STATUS),
        ("KIND_ADMIN", KIND_ADMIN),
        ("KIND_ADMIN_FORWARDED", KIND_ADMIN_FORWARDED),
        ("KIND_BACKUP", KIND_BACKUP),
        ("KIND_UPGRADE", KIND_UPGRADE),
    ];
    for (name, kind) in kinds {
        g.check_byte(name, kind);
    }
    g.finish();
}

/// Checks a payload as the service sends and reads it: `messages::encode` and `messages::decode`.
fn payload<T>(g: &mut Golden, kind: &str, value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    g.check_with(kind, value, messages::encode, |bytes| messages::decode(bytes).map_err(|e| e.to_string()));
}

fn status() -> NodeStatus {
    NodeStatus {
        id: NODE_B,
        state: "Follower".into(),
        term: 4,
        leader: Some(NODE_A),
        last_log_index: Some(58),
        applied_index: Some(57),
        snapshot_index: Some(50),
        purged_index: Some(40),
        voters: vec![NODE_A, NODE_B],
        members: [NODE_A, NODE_B, NODE_C].into_iter().map(|id| (id, addr(id))).collect(),
        replication: Some(BTreeMap::from([(NODE_A, Some(58)), (NODE_B, Some(57)), (NODE_C, None)])),
        millis_since_quorum_ack: Some(12),
        uptime_secs: 86_401,
        blocks: Some(BlockStats {
            blocks_written: 101,
            blocks_deduplicated: 102,
            blocks_written_degraded: 103,
            bytes_written: 104,
            blocks_read: 105,
            reads_degraded: 106,
            reads_hedged: 107,
            damage_reported: 108,
            repair_pending: 109,
            repair_blocks: 110,
            repair_shards: 111,
            repair_bytes: 112,
            repair_failures: 113,
            repair_scans: 114,
            scrub_passes: 115,
            scrub_shards: 116,
            scrub_bytes: 117,
            scrub_corrupt: 118,
            orphans_deleted: 119,
            gc_blocks_dropped: 120,
            nodes_marked_down: 121,
            shards_held: 122,
            shard_bytes: 123,
            store_background_errors: 124,
        }),
    }
}

#[test]
fn every_service_call_and_answer_stays_readable() {
    let mut g = golden("messages.txt", "the metadata service's call payloads and answers");
    // KIND_PROPOSE and KIND_PROPOSE_FORWARDED.
    payload(&mut g, "propose/request", &requests());
    let answered: ProposeResult =
        Ok(vec![Response::UserCreated { user: ADA }, Response::Rejected(Rejection::LastAdmin(ADA))]);
    payload(&mut g, "propose/answer", &answered);
    let refused: ProposeResult = Err(ServiceError::NotLeader { node: NODE_B, leader: Some(NODE_A) });
    payload(&mut g, "propose/answer(Err)", &refused);
    // KIND_READ_INDEX and KIND_STATUS send nothing.
    payload(&mut g, "read_index/request", &());
    payload(&mut g, "read_index/answer", &Ok::<u64, ServiceError>(58));
    payload(&mut g, "status/request", &());
    payload(&mut g, "status/answer", &Ok::<NodeStatus, ServiceError>(status()));
    // KIND_QUERY.
    payload(&mut g, "query/request", &Query::JournalLatest(ADA));
    payload(&mut g, "query/answer", &Ok::<Answer, ServiceError>(Answer::JournalLatest(106)));
    // KIND_ADMIN and KIND_ADMIN_FORWARDED: an admin command, answered with the leader's status.
    payload(&mut g, "admin/answer", &Ok::<NodeStatus, ServiceError>(NodeStatus { blocks: None, ..status() }));
    g.check_enum(
        "AdminCommand",
        &[
            AdminCommand::AddLearner { id: NODE_C, addr: addr(NODE_C) },
            AdminCommand::Promote { id: NODE_B },
            AdminCommand::Remove { id: NODE_A },
        ],
    );
    // KIND_BACKUP: the steps of fetching a backup, each with its own answer.
    g.check_enum(
        "BackupCall",
        &[
            BackupCall::Take,
            BackupCall::Read { name: "00c0ffee".into(), offset: 8_388_608, len: 8_388_608 },
            BackupCall::Done { name: "00c0ffee".into() },
        ],
    );
    let taken = BackupTaken {
        name: "00c0ffee".into(),
        node: NODE_B,
        index: 58,
        term: 4,
        len: 1_048_576,
        blake3: *blake3_of_nothing(),
    };
    payload(&mut g, "backup/take/answer", &Ok::<BackupTaken, ServiceError>(taken));
    payload(&mut g, "backup/read/answer", &Ok::<Vec<u8>, ServiceError>(b"a chunk of the tar".to_vec()));
    payload(&mut g, "backup/done/answer", &Ok::<(), ServiceError>(()));
    // KIND_UPGRADE: what a member runs, and the cluster's view of it.
    g.check_enum(
        "UpgradeCall",
        &[UpgradeCall::Version, UpgradeCall::Status, UpgradeCall::Finalize, UpgradeCall::FinalizeForwarded],
    );
    let version = NodeVersion { release: "0.1.0".into(), oldest: 1, newest: 2 };
    payload(&mut g, "upgrade/version/answer", &Ok::<NodeVersion, ServiceError>(version.clone()));
    let report = UpgradeReport {
        cluster_version: 1,
        members: [(NODE_A, Ok(version)), (NODE_B, Err("unknown request kind 18".to_owned()))].into(),
    };
    payload(&mut g, "upgrade/report/answer", &Ok::<UpgradeReport, ServiceError>(report));
    // Every call may be answered with any of these.
    g.check_enum(
        "ServiceError",
        &[
            ServiceError::NoLeader,
            ServiceError::NotLeader { node: NODE_B, leader: Some(NODE_A) },
            ServiceError::Unreachable("connection lost".into()),
            ServiceError::Timeout(30_001),
            ServiceError::ShuttingDown,
            ServiceError::Undecodable("Vec<Request>: unexpected end".into()),
            ServiceError::Forbidden { peer: "storage-7".into(), what: "propose".into() },
            ServiceError::Membership("the last voter cannot go".into()),
            ServiceError::Internal("state machine stopped".into()),
            ServiceError::Upgrade("node 3 runs release 0.1.0 (cluster version 1 at most)".into()),
        ],
    );
    g.finish();
}

/// A fixed 32-byte hash for the samples: blake3 of nothing.
fn blake3_of_nothing() -> &'static [u8; 32] {
    &[
        0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc, 0xc9, 0x49, 0x9b,
        0xcb, 0x25, 0xc9, 0xad, 0xc1, 0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f, 0x32, 0x62,
    ]
}

/// `AppendEntriesRequest` with the equality openraft does not derive for it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
struct Append(AppendEntriesRequest<TypeConfig>);

impl PartialEq for Append {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        (a.vote, a.prev_log_id, &a.entries, a.leader_commit)
            == (b.vote, b.prev_log_id, &b.entries, b.leader_commit)
    }
}

fn append() -> Append {
    Append(AppendEntriesRequest {
        vote: Vote::new_committed(4, NODE_A),
        prev_log_id: Some(log_id(4, NODE_A, 54)),
        entries: vec![
            Entry { log_id: log_id(4, NODE_A, 55), payload: EntryPayload::Blank },
            Entry { log_id: log_id(4, NODE_A, 56), payload: EntryPayload::Normal(Proposal(requests())) },
            Entry { log_id: log_id(4, NODE_A, 57), payload: EntryPayload::Membership(membership()) },
        ],
        leader_commit: Some(log_id(3, NODE_B, 52)),
    })
}

fn snapshot_meta() -> SnapshotMeta<NodeId, NodeAddr> {
    SnapshotMeta {
        last_log_id: Some(log_id(4, NODE_A, 58)),
        last_membership: StoredMembership::new(Some(log_id(4, NODE_A, 57)), membership()),
        snapshot_id: "4-81-58-1767225600123000042".into(),
    }
}

/// What a node that failed for good answers any RPC with. (The storage error carries a
/// backtrace only when openraft's `bt` feature is on, which cairn does not use.)
fn fatal() -> Vec<Fatal<NodeId>> {
    let disk = StorageIOError::read_vote(AnyError::error("disk failed"));
    vec![Fatal::StorageError(StorageError::IO { source: disk }), Fatal::Panicked, Fatal::Stopped]
}

#[test]
fn every_raft_rpc_and_answer_stays_readable() {
    // raft_net sends each RPC and its answer with postcard, as `Golden::check` does.
    let mut g = golden("raft_rpc.txt", "Raft's RPCs between nodes and their answers");
    // KIND_APPEND.
    g.check("append/request", &append());
    g.check_enum(
        "AppendEntriesResponse",
        &[
            AppendEntriesResponse::Success,
            AppendEntriesResponse::PartialSuccess(Some(log_id(4, NODE_A, 56))),
            AppendEntriesResponse::Conflict,
            AppendEntriesResponse::HigherVote(Vote::new(5, NODE_C)),
        ],
    );
    g.check("append/answer", &Ok::<_, RaftError<NodeId>>(AppendEntriesResponse::<NodeId>::Success));
    g.check_enum("Fatal", &fatal());
    g.check(
        "append/answer(Err)",
        &Err::<AppendEntriesResponse<NodeId>, _>(RaftError::<NodeId>::Fatal(Fatal::Stopped)),
    );
    // KIND_VOTE.
    g.check("vote/request", &VoteRequest::new(Vote::new(5, NODE_C), Some(log_id(4, NODE_A, 58))));
    let granted = VoteResponse::new(Vote::new(5, NODE_C), Some(log_id(4, NODE_A, 57)), true);
    g.check("vote/answer", &Ok::<_, RaftError<NodeId>>(granted));
    // KIND_SNAPSHOT: one chunk of the snapshot's file.
    let chunk = InstallSnapshotRequest::<TypeConfig> {
        vote: Vote::new_committed(4, NODE_A),
        meta: snapshot_meta(),
        offset: 1_048_576,
        data: b"a chunk of the snapshot's tar file".to_vec(),
        done: true,
    };
    g.check("snapshot/request", &chunk);
    let mismatch = SnapshotMismatch {
        expect: SnapshotSegmentId { id: "4-81-58-1767225600123000042".into(), offset: 1_048_576 },
        got: SnapshotSegmentId { id: "4-81-50-1767225500000000007".into(), offset: 2_097_152 },
    };
    let answer = InstallSnapshotResponse { vote: Vote::new_committed(4, NODE_A) };
    g.check("snapshot/answer", &Ok::<_, RaftError<NodeId, InstallSnapshotError>>(answer));
    let mismatch = InstallSnapshotError::SnapshotMismatch(mismatch);
    g.check_enum("InstallSnapshotError", std::slice::from_ref(&mismatch));
    g.check_enum(
        "SnapshotRaftError",
        &[RaftError::<NodeId, _>::APIError(mismatch), RaftError::Fatal(Fatal::Panicked)],
    );
    // KIND_PRE_VOTE: cairn's own question before standing, answered without a Result.
    g.check(
        "pre_vote/request",
        &PreVoteRequest { candidate: NODE_C, last_log_id: Some(log_id(4, NODE_A, 58)) },
    );
    g.check_enum("PreVote", &[PreVote::Granted, PreVote::Leading, PreVote::LeaderAlive, PreVote::LogBehind]);
    g.finish();
}
