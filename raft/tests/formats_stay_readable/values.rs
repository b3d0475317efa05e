//! The samples' building blocks: ids and records with distinctive values — no zeros, no two
//! fields of one record alike — so that fields read in another order change the bytes.

use std::collections::{BTreeMap, BTreeSet};

use cairn_proto::{AccountId, BlockId, DrivePath};
use cairn_raft::model::blocks::{BlockRecord, BlockRef};
use cairn_raft::model::cluster::{ClusterMap, NodeRecord, NodeRole, NodeSpec, NodeState};
use cairn_raft::model::devices::DeviceRecord;
use cairn_raft::model::drive::{
    EntryKind, EntryRecord, FileRecord, FileStatus, Namespace, VersionContent, VersionRecord,
};
use cairn_raft::model::ids::{DeviceId, FileId, LinkId, NamespaceId, UploadId};
use cairn_raft::model::join_tokens::{JoinRole, JoinToken};
use cairn_raft::model::journal::{Change, ChangeKind};
use cairn_raft::model::links::{LinkRecord, LinkTarget};
use cairn_raft::model::shares::{ShareRecord, ShareRole};
use cairn_raft::model::tokens::{TokenKind, TokenTerms};
use cairn_raft::model::trash::TrashRecord;
use cairn_raft::model::uploads::{HashProgress, NewUpload, UploadRecord};
use cairn_raft::model::users::Account;
use cairn_raft::model::{Command, Request, RequestId, TokenHash, TokenRecord, User, UserId};
use cairn_raft::{NodeAddr, NodeId};
use openraft::{CommittedLeaderId, LogId, Membership, StoredMembership};

/// The owner of the drive the samples work in.
pub const ADA: UserId = UserId(11);
/// Another user: a share's recipient, an editor.
pub const BOB: UserId = UserId(12);
/// Ada's drive.
pub const DRIVE: NamespaceId = NamespaceId(21);
/// A file.
pub const FILE: FileId = FileId(31);
/// Ada's laptop.
pub const DEVICE: DeviceId = DeviceId(41);
/// An upload session.
pub const UPLOAD: UploadId = UploadId(0x5e55_1000_0000_0000_0000_0000_0000_0051);
/// A public link.
pub const LINK: LinkId = LinkId(0x11e4_0000_0000_0000_0000_0000_0000_0061);
/// Ada's account, which stores her drive's blocks.
pub const ACCOUNT: AccountId = AccountId(71);
/// Three nodes.
pub const NODE_A: NodeId = 81;
/// The second node.
pub const NODE_B: NodeId = 82;
/// The third node.
pub const NODE_C: NodeId = 83;
/// A moment (ms since the epoch), and others after it.
pub const T0: u64 = 1_767_225_600_123;

/// A path from text.
pub fn path(text: &str) -> DrivePath {
    DrivePath::parse(text).unwrap()
}

/// The id of a block holding `name`'s bytes.
pub fn block(name: &str) -> BlockId {
    BlockId::of(name.as_bytes())
}

/// The hash of an API token.
pub fn token() -> TokenHash {
    TokenHash::of("cairn_laptop_token")
}

/// The hash of a join token.
pub fn join_token() -> TokenHash {
    TokenHash::of("cairn_join_token")
}

/// Two blocks of a version.
pub fn refs() -> Vec<BlockRef> {
    vec![BlockRef { id: block("one"), len: 1_048_577 }, BlockRef { id: block("two"), len: 4_097 }]
}

/// A request carrying `command`.
pub fn request(command: Command) -> Request {
    Request { id: RequestId(0x0bad_cafe_0000_0000_0000_0000_0000_0017), time_ms: T0 + 5, command }
}

pub fn user() -> User {
    User { id: ADA, name: "ada".into(), created_ms: T0 + 1, drive: DRIVE, admin: true }
}

pub fn account() -> Account {
    Account {
        password: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled: true,
        sessions_from_ms: T0 + 2,
    }
}

pub fn token_record() -> TokenRecord {
    TokenRecord { user: ADA, label: "laptop".into(), created_ms: T0 + 3 }
}

pub fn token_terms() -> TokenTerms {
    TokenTerms {
        kind: TokenKind::Session,
        expires_ms: Some(T0 + 86_400_000),
        idle_ms: Some(3_600_000),
        used_ms: T0 + 4,
    }
}

pub fn namespace() -> Namespace {
    Namespace { id: DRIVE, owner: ADA }
}

pub fn entry() -> EntryRecord {
    EntryRecord { kind: EntryKind::File(FILE), created_ms: T0 + 6 }
}

pub fn file() -> FileRecord {
    FileRecord {
        id: FILE,
        namespace: DRIVE,
        path: path("photos/beach.jpg"),
        head: 3,
        status: FileStatus::Complete,
        size: 1_052_674,
    }
}

pub fn content() -> VersionContent {
    VersionContent {
        blocks: refs(),
        size: 1_052_674,
        hash: *blake3::hash(b"beach").as_bytes(),
        mtime_ms: T0 - 7,
        device: Some(DEVICE),
        hash_verified: true,
    }
}

pub fn version() -> VersionRecord {
    VersionRecord {
        version: 3,
        content: content(),
        device_name: "laptop".into(),
        author: BOB,
        committed_ms: T0 + 8,
        pinned: true,
    }
}

pub fn block_record() -> BlockRecord {
    BlockRecord {
        plain_len: 1_048_577,
        data_shards: 4,
        parity_shards: 2,
        generation: 0x9e4e_7a71_0000_0091,
        placement: vec![NODE_A, NODE_B, NODE_C, 84, 85, 86],
        damaged: vec![5],
        refcount: 17,
        changed_ms: T0 + 9,
    }
}

/// A block kept in metadata, as sealed bytes (their content does not matter to the format).
pub fn sealed_block() -> Vec<u8> {
    (0..40u8).map(|i| i.wrapping_mul(37)).collect()
}

pub fn change() -> Change {
    Change {
        seq: 101,
        time_ms: T0 + 10,
        namespace: DRIVE,
        path: path("photos/beach.jpg"),
        file: Some(FILE),
        kind: ChangeKind::VersionCommitted { version: 3, status: FileStatus::Uploading },
    }
}

pub fn device() -> DeviceRecord {
    DeviceRecord { id: DEVICE, user: ADA, name: "laptop".into(), created_ms: T0 + 11 }
}

pub fn share() -> ShareRecord {
    ShareRecord {
        namespace: DRIVE,
        path: path("photos"),
        user: BOB,
        role: ShareRole::ReadWrite,
        created_ms: T0 + 12,
    }
}

pub fn link() -> LinkRecord {
    LinkRecord {
        id: LINK,
        namespace: DRIVE,
        target: LinkTarget::Folder(path("photos")),
        owner: ADA,
        created_by: BOB,
        created_ms: T0 + 13,
        expires_ms: Some(T0 + 604_800_000),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$bGluaw$cGFzcw".into()),
    }
}

pub fn trash() -> TrashRecord {
    TrashRecord {
        file: FILE,
        namespace: DRIVE,
        path: path("photos/beach.jpg"),
        trashed_ms: T0 + 14,
        by: BOB,
        was: FileStatus::Complete,
    }
}

pub fn new_upload() -> NewUpload {
    NewUpload {
        upload: UPLOAD,
        namespace: DRIVE,
        path: path("videos/talk.mp4"),
        base: Some(2),
        size: 7_340_033,
        mtime_ms: T0 - 15,
        device: Some(DEVICE),
        author: BOB,
        expires_ms: T0 + 86_400_016,
    }
}

pub fn progress() -> HashProgress {
    HashProgress { hashed: 3_072, subtrees: vec![[0xa2; 32], [0x5c; 32]] }
}

pub fn upload() -> UploadRecord {
    UploadRecord {
        session: new_upload(),
        account: ACCOUNT,
        blocks: refs(),
        received: 1_052_674,
        created_ms: T0 + 17,
        progress: Some(progress()),
    }
}

pub fn node_spec() -> NodeSpec {
    NodeSpec {
        id: NODE_B,
        quic_addr: "10.0.0.2:7001".into(),
        api_addr: "10.0.0.2:8443".into(),
        zone: "zone-b".into(),
        role: NodeRole::StorageOnly,
        capacity_bytes: 4_000_000_000_000,
    }
}

pub fn node() -> NodeRecord {
    NodeRecord { spec: node_spec(), state: NodeState::Down { since_ms: T0 + 18 }, updated_ms: T0 + 19 }
}

pub fn cluster_map() -> ClusterMap {
    ClusterMap { version: 23, nodes: vec![node()] }
}

pub fn join_token_record() -> JoinToken {
    JoinToken {
        role: JoinRole::Storage,
        created_ms: T0 + 20,
        expires_ms: T0 + 3_600_021,
        used: Some((NODE_C, T0 + 22)),
    }
}

/// A log id of `term`, led by `node`, at `index`.
pub fn log_id(term: u64, node: NodeId, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

/// How to reach node `id`.
pub fn addr(id: NodeId) -> NodeAddr {
    NodeAddr { raft_addr: format!("10.0.0.{}:7001", id - 80), api_addr: format!("10.0.0.{}:8443", id - 80) }
}

/// Two voters and a learner.
pub fn membership() -> Membership<NodeId, NodeAddr> {
    let nodes: BTreeMap<NodeId, NodeAddr> =
        [NODE_A, NODE_B, NODE_C].into_iter().map(|id| (id, addr(id))).collect();
    Membership::new(vec![BTreeSet::from([NODE_A, NODE_B])], nodes)
}

/// The membership as the state machine stores it, with the entry that made it.
pub fn stored_membership() -> StoredMembership<NodeId, NodeAddr> {
    StoredMembership::new(Some(log_id(4, NODE_A, 57)), membership())
}
