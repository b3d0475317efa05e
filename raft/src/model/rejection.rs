//! Why a command was refused: the client errors of the metadata model.

use cairn_proto::{BlockId, DrivePath};
use serde::{Deserialize, Serialize};

use super::ids::{DeviceId, FileId, LinkId, NamespaceId, NodeId, UploadId, UserId};

/// Why a command was refused. Each is a client error: retrying the same command gets the same
/// answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    /// A name is malformed.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A user of that name exists.
    #[error("a user named {0:?} already exists")]
    NameTaken(String),
    /// No such user.
    #[error("no user with id {0}")]
    NoSuchUser(UserId),
    /// The token is already registered.
    #[error("that token is already registered")]
    TokenExists,
    /// No such token.
    #[error("no such token")]
    NoSuchToken,
    /// No such namespace.
    #[error("no namespace with id {}", .0.0)]
    NoSuchNamespace(NamespaceId),
    /// The user may not do this here.
    #[error("not allowed")]
    Forbidden,
    /// A path names a file where a folder is needed.
    #[error("{0} is a file, not a folder")]
    NotAFolder(DrivePath),
    /// A path names a folder where a file is needed.
    #[error("{0} is a folder")]
    IsAFolder(DrivePath),
    /// The declared size is not the sum of the blocks.
    #[error("declared size {declared} but the blocks add up to {blocks}")]
    SizeMismatch {
        /// Size the client declared.
        declared: u64,
        /// Sum of the block lengths.
        blocks: u64,
    },
    /// The commit's base version is not the head: someone else committed first.
    #[error("conflict: {}", match head {
        Some(v) => format!("the file's head is now version {v}"),
        None => "the file does not exist (or is in the trash)".to_owned(),
    })]
    Conflict {
        /// The current head (`None`: the file does not exist).
        head: Option<u64>,
    },
    /// Blocks the commit references are not stored; send them and retry.
    #[error("{} referenced blocks are missing", .0.len())]
    MissingBlocks(Vec<BlockId>),
    /// The device is not registered to that user.
    #[error("user {user} has no device {device}")]
    NoSuchDevice {
        /// The user.
        user: UserId,
        /// The device named.
        device: DeviceId,
    },
    /// Nothing is at the path.
    #[error("nothing at {0}")]
    NotFound(DrivePath),
    /// A namespace cannot be shared with the user who owns it.
    #[error("user {0} owns this namespace; it cannot be shared with its owner")]
    ShareWithOwner(UserId),
    /// No share of that path with that user.
    #[error("{path} is not shared with user {user}")]
    NoSuchShare {
        /// The recipient named.
        user: UserId,
        /// The path named.
        path: DrivePath,
    },
    /// A link with that id exists; the proposer picks another at random.
    #[error("link {0} already exists")]
    LinkExists(LinkId),
    /// No such link.
    #[error("no link {0}")]
    NoSuchLink(LinkId),
    /// An expiry time that has already passed.
    #[error("expiry time {expires_ms} is not after the request's time {now_ms}")]
    ExpiryInPast {
        /// The expiry asked for (ms since the epoch).
        expires_ms: u64,
        /// The request's time.
        now_ms: u64,
    },
    /// The file is in the trash already.
    #[error("{0} is already in the trash")]
    AlreadyInTrash(DrivePath),
    /// Restore and purge work on trashed files only.
    #[error("{0} is not in the trash")]
    NotInTrash(DrivePath),
    /// No such file.
    #[error("no file with id {0}")]
    NoSuchFile(FileId),
    /// The file has no such version.
    #[error("file {file} has no version {version}")]
    NoSuchVersion {
        /// The file.
        file: FileId,
        /// The version asked for.
        version: u64,
    },
    /// An upload session with that id exists; the proposer picks another at random.
    #[error("upload session {0} already exists")]
    UploadExists(UploadId),
    /// No such upload session (never begun, finished, aborted, or expired and pruned).
    #[error("no upload session {0}")]
    NoSuchUpload(UploadId),
    /// The session has lapsed; only an abort is accepted.
    #[error("upload session {upload} expired at {expired_ms}")]
    UploadExpired {
        /// The session.
        upload: UploadId,
        /// When it expired (ms since the epoch).
        expired_ms: u64,
    },
    /// Blocks were appended at the wrong offset.
    #[error("upload offset {given} does not match the {expected} bytes received so far")]
    OffsetMismatch {
        /// The bytes received so far: where the next blocks must start.
        expected: u64,
        /// The offset given.
        given: u64,
    },
    /// The blocks would take the upload past its declared size.
    #[error("the upload would reach {reached} bytes, more than its declared {declared}")]
    UploadTooLarge {
        /// The declared size.
        declared: u64,
        /// Where the blocks would take it.
        reached: u64,
    },
    /// The upload cannot finish before all its bytes arrived.
    #[error("the upload has {received} of its {declared} bytes")]
    UploadIncomplete {
        /// The declared size.
        declared: u64,
        /// Bytes received so far.
        received: u64,
    },
    /// A node description is malformed.
    #[error("invalid record for node {node}: {reason}")]
    InvalidNode {
        /// The node.
        node: NodeId,
        /// What is wrong.
        reason: String,
    },
    /// No such node in the cluster map.
    #[error("no node {0} in the cluster map")]
    NoSuchNode(NodeId),
    /// A block command is malformed: a bad shape or placement, too much damage, a bad move.
    #[error("invalid block {block}: {reason}")]
    InvalidBlock {
        /// The block.
        block: BlockId,
        /// What is wrong.
        reason: String,
    },
    /// The account has no record of the block with the generation named: it was never
    /// registered, or was dropped (and perhaps registered again as another stored copy).
    #[error("no block {block} with that generation")]
    NoSuchBlock {
        /// The block.
        block: BlockId,
    },
    /// The block's record is not what repair saw (another generation, or a shard is no longer
    /// on the node named); nothing moved. Read the block again.
    #[error("the placement of block {block} changed")]
    PlacementChanged {
        /// The block.
        block: BlockId,
    },
    /// GC may not drop the block: it is referenced, or changed since GC looked.
    #[error("block {block} is in use or changed since it was seen")]
    BlockInUse {
        /// The block.
        block: BlockId,
    },
    /// Something is at the path already.
    #[error("{0} exists already")]
    Exists(DrivePath),
    /// A folder cannot move into itself or below itself (nor can the root move at all: every
    /// path is below it).
    #[error("cannot move {from} to {to}, which is inside it")]
    MoveIntoItself {
        /// What was to move.
        from: DrivePath,
        /// Where to.
        to: DrivePath,
    },
    /// The command would touch more than a bound allows; every command is one log entry, so
    /// what it may change is bounded.
    #[error("too large: {what} exceed the limit of {limit}")]
    TooLarge {
        /// What is too many, e.g. "the entries under /photos".
        what: String,
        /// The bound.
        limit: u64,
    },
    /// A journal cursor the journal no longer covers: changes after it were pruned (it is
    /// older than the retention), or it is past the newest change (it is from elsewhere).
    #[error(
        "cursor {cursor} {}: resync (list the tree again, then follow changes from /v1/changes/latest)",
        if cursor > latest {
            format!("is past this journal's newest change, {latest}")
        } else {
            format!("has expired: changes after it were pruned; the oldest kept is {oldest}")
        }
    )]
    CursorExpired {
        /// The cursor given.
        cursor: u64,
        /// The oldest change the journal keeps.
        oldest: u64,
        /// The newest change (0: none).
        latest: u64,
    },
    /// A conditional delete found something put at (or below) its path after the caller's
    /// cursor, or could not tell because too many changes followed the cursor: list it again.
    #[error("{path} changed after cursor {cursor}: list it again before deleting it")]
    ChangedSince {
        /// The path of the delete.
        path: DrivePath,
        /// The cursor given.
        cursor: u64,
    },
    /// Taking this administrator's rights, or disabling them, would leave no enabled
    /// administrator.
    #[error("user {0} is the last enabled administrator: make another user an administrator first")]
    LastAdmin(UserId),
    /// The user is disabled.
    #[error("user {0} is disabled")]
    UserDisabled(UserId),
    /// A join token was refused.
    #[error("{0}")]
    JoinRefused(super::joining::JoinRefusal),
    /// The token has ended: expired, unused for too long, or a session of an old password.
    #[error("the token has expired: sign in again or make a new token")]
    TokenExpired,
    /// A block reference whose length is not the stored block's plain length.
    #[error("block {block} has {stored} bytes, not the {declared} the block list says")]
    BlockLengthMismatch {
        /// The block.
        block: BlockId,
        /// The length the reference declared.
        declared: u32,
        /// The stored block's plain length.
        stored: u32,
    },
    /// A cluster version lower than the one in force: a cluster is never downgraded.
    #[error("the cluster already runs at version {current}, above the {asked} asked for")]
    ClusterVersionLowered {
        /// The version in force.
        current: u32,
        /// The version asked for.
        asked: u32,
    },
}
