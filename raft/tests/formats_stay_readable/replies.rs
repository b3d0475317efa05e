//! One sample of every [`Response`] and every [`Rejection`]: what a write answers, remembered
//! under its request id and sent back to the node that proposed it.

use cairn_raft::model::join_tokens::{JoinRefusal, JoinRole};
use cairn_raft::model::{Rejection, Response};

use super::values::*;

/// Every response.
pub fn responses() -> Vec<Response> {
    vec![
        Response::Internal,
        Response::UserCreated { user: ADA },
        Response::TokenAdded,
        Response::TokenRevoked,
        Response::FolderReady,
        Response::Committed { file: FILE, version: 3, seq: 101 },
        Response::BlockRegistered { fresh: true, generation: 0x9e4e_7a71_0000_0091 },
        Response::DamageRecorded { damaged: vec![1, 3, 5] },
        Response::ShardsMoved,
        Response::BlockDropped { placement: vec![NODE_A, NODE_B, NODE_C] },
        Response::DeviceRegistered { device: DEVICE },
        Response::DeviceRemoved,
        Response::Trashed { file: FILE, seq: 102 },
        Response::Restored { file: FILE, seq: 103 },
        Response::Purged { file: FILE, seq: 104 },
        Response::PinSet,
        Response::ClusterMapChanged { version: 23 },
        Response::UploadBegun,
        Response::UploadReceived { received: 4_194_305 },
        Response::UploadAborted,
        Response::Shared,
        Response::ShareRevoked,
        Response::LinkCreated,
        Response::LinkRevoked,
        Response::AdminSet,
        Response::Moved { seq: 105 },
        Response::FolderTrashed { files: 7, seq: 106 },
        Response::Rejected(Rejection::Conflict { head: Some(4) }),
        Response::JournalRetentionSet { ms: 2_592_000_031 },
        Response::TokenTouched,
        Response::PasswordSet,
        Response::DisabledSet,
        Response::BlockHeld,
        Response::JoinTokenIssued,
        Response::JoinTokenRevoked,
        Response::JoinTokenAccepted { role: JoinRole::Voter },
        Response::ClusterVersionSet { version: 2 },
    ]
}

/// Every rejection.
pub fn rejections() -> Vec<Rejection> {
    let beach = || path("photos/beach.jpg");
    vec![
        Rejection::InvalidName { name: "a/b".into(), reason: "no slashes".into() },
        Rejection::NameTaken("ada".into()),
        Rejection::NoSuchUser(BOB),
        Rejection::TokenExists,
        Rejection::NoSuchToken,
        Rejection::NoSuchNamespace(DRIVE),
        Rejection::Forbidden,
        Rejection::NotAFolder(beach()),
        Rejection::IsAFolder(path("photos")),
        Rejection::SizeMismatch { declared: 1_052_675, blocks: 1_052_674 },
        Rejection::Conflict { head: Some(4) },
        Rejection::MissingBlocks(vec![block("one"), block("two")]),
        Rejection::NoSuchDevice { user: ADA, device: DEVICE },
        Rejection::NotFound(beach()),
        Rejection::ShareWithOwner(ADA),
        Rejection::NoSuchShare { user: BOB, path: path("photos") },
        Rejection::LinkExists(LINK),
        Rejection::NoSuchLink(LINK),
        Rejection::ExpiryInPast { expires_ms: T0 - 40, now_ms: T0 + 41 },
        Rejection::AlreadyInTrash(beach()),
        Rejection::NotInTrash(beach()),
        Rejection::NoSuchFile(FILE),
        Rejection::NoSuchVersion { file: FILE, version: 9 },
        Rejection::UploadExists(UPLOAD),
        Rejection::NoSuchUpload(UPLOAD),
        Rejection::UploadExpired { upload: UPLOAD, expired_ms: T0 + 42 },
        Rejection::OffsetMismatch { expected: 4_194_304, given: 1_048_577 },
        Rejection::UploadTooLarge { declared: 7_340_033, reached: 8_388_608 },
        Rejection::UploadIncomplete { declared: 7_340_033, received: 4_194_304 },
        Rejection::InvalidNode { node: NODE_B, reason: "the zone must be 1 to 64 bytes".into() },
        Rejection::NoSuchNode(NODE_C),
        Rejection::InvalidBlock { block: block("one"), reason: "k + m is past 64".into() },
        Rejection::NoSuchBlock { block: block("one") },
        Rejection::PlacementChanged { block: block("two") },
        Rejection::BlockInUse { block: block("three") },
        Rejection::Exists(path("archive/beach.jpg")),
        Rejection::MoveIntoItself { from: path("photos"), to: path("photos/2026") },
        Rejection::TooLarge { what: "the entries under /photos".into(), limit: 10_000 },
        Rejection::CursorExpired { cursor: 5, oldest: 90, latest: 106 },
        Rejection::ChangedSince { path: beach(), cursor: 101 },
        Rejection::LastAdmin(ADA),
        Rejection::UserDisabled(BOB),
        Rejection::JoinRefused(JoinRefusal::Used { node: NODE_C }),
        Rejection::TokenExpired,
        Rejection::BlockLengthMismatch { block: block("one"), declared: 1_048_576, stored: 1_048_577 },
        Rejection::ClusterVersionLowered { current: 2, asked: 1 },
    ]
}

/// Every reason a join token is refused, which [`Rejection::JoinRefused`] carries.
pub fn join_refusals() -> Vec<JoinRefusal> {
    vec![
        JoinRefusal::Unknown,
        JoinRefusal::Used { node: NODE_C },
        JoinRefusal::Expired { ago_s: 3_601 },
        JoinRefusal::IdTaken(NODE_B),
    ]
}
