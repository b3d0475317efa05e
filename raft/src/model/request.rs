//! What a log entry asks of the state machine, and what it answers.

use serde::{Deserialize, Serialize};

use cairn_proto::{AccountId, BlockId, DrivePath};

use super::blocks::{BlockRef, ShardMove};
use super::cluster::{NodeMark, NodeSpec};

use super::drive::NewVersion;
use super::ids::{DeviceId, FileId, LinkId, NamespaceId, NodeId, TokenHash, UploadId, UserId};
use super::joining::JoinRole;
use super::links::NewLink;
use super::shares::ShareRole;
use super::tokens::TokenTerms;
use super::uploads::{HashProgress, NewUpload};

/// A client-chosen id that makes a request idempotent: a retry with the same id (after a timeout,
/// or through another node after a failover) gets the first outcome and changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u128);

/// One metadata write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Idempotency key.
    pub id: RequestId,
    /// Wall-clock time in milliseconds since the Unix epoch, stamped by the proposing node.
    /// `apply` never reads a clock: replicas must compute the same result.
    pub time_ms: u64,
    /// What to do.
    pub command: Command,
}

/// The commands of the metadata model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Creates a user with a unique name.
    CreateUser {
        /// Login name: 1–64 characters of `a-z 0-9 . _ -`.
        name: String,
    },
    /// Registers an API token for a user, by the hash of the token. A user holds at most
    /// [`MAX_TOKENS_PER_USER`](super::tokens::MAX_TOKENS_PER_USER) tokens.
    AddToken {
        /// Whose token.
        user: UserId,
        /// blake3 of the token; the token itself never reaches the cluster's state.
        token_hash: TokenHash,
        /// What the token is for ("laptop", "cairn sync on nas"): at most
        /// [`MAX_TOKEN_LABEL`](super::tokens::MAX_TOKEN_LABEL) bytes.
        label: String,
    },
    /// Revokes any user's token (for administrators; users revoke their own with
    /// [`Command::RevokeOwnToken`]).
    RevokeToken {
        /// The hash of the token to revoke.
        token_hash: TokenHash,
    },
    /// Creates a folder and any missing parents; a folder that exists already is fine.
    MakeFolder {
        /// Where.
        namespace: NamespaceId,
        /// The folder's path.
        path: DrivePath,
        /// Who asks.
        user: UserId,
    },
    /// Commits a new version of a file, conditionally on its base version.
    CommitVersion(NewVersion),
    /// Registers a device of a user.
    RegisterDevice {
        /// Whose device.
        user: UserId,
        /// Its name: 1–64 characters, no control characters or slashes.
        name: String,
    },
    /// Removes a device; the versions it committed keep its name.
    RemoveDevice {
        /// Whose device.
        user: UserId,
        /// Which.
        device: DeviceId,
    },
    /// Shares a folder or file of a namespace with another user, or changes the role of an
    /// existing share. Only the namespace's owner may.
    Share {
        /// The owner's namespace.
        namespace: NamespaceId,
        /// The folder or file; it must exist. The share covers everything below it.
        path: DrivePath,
        /// The recipient.
        with: UserId,
        /// Viewer or editor.
        role: ShareRole,
        /// Who asks.
        by: UserId,
    },
    /// Ends a share; the owner or the recipient may.
    RevokeShare {
        /// The owner's namespace.
        namespace: NamespaceId,
        /// The shared path.
        path: DrivePath,
        /// The recipient.
        with: UserId,
        /// Who asks.
        by: UserId,
    },
    /// Creates a public link.
    CreateLink(NewLink),
    /// Deletes a public link; its creator or the namespace's owner may.
    RevokeLink {
        /// Which link.
        link: LinkId,
        /// Who asks.
        by: UserId,
    },
    /// Moves a file to the trash (answered [`Response::Trashed`]), or a folder: every file
    /// below it goes to the trash and the folders go (answered [`Response::FolderTrashed`]).
    /// At most [`MAX_MOVE_ENTRIES`](super::MAX_MOVE_ENTRIES) entries may be below a folder.
    Trash {
        /// Where.
        namespace: NamespaceId,
        /// The file or folder; not the root.
        path: DrivePath,
        /// Who asks; needs write access.
        user: UserId,
    },
    /// Brings a file back from the trash, with the status it had, recreating its missing
    /// parent folders (a trashed folder's are gone).
    Restore {
        /// Where.
        namespace: NamespaceId,
        /// The file.
        path: DrivePath,
        /// Who asks; needs write access.
        user: UserId,
    },
    /// Deletes a trashed file for good, releasing its blocks.
    Purge {
        /// Where.
        namespace: NamespaceId,
        /// The file.
        path: DrivePath,
        /// Who asks; needs write access.
        user: UserId,
    },
    /// Pins (or unpins) a version so retention keeps it.
    PinVersion {
        /// The file.
        file: FileId,
        /// Its version.
        version: u64,
        /// Pin or unpin.
        pinned: bool,
        /// Who asks; needs write access.
        user: UserId,
    },
    /// Begins a resumable upload session.
    BeginUpload(NewUpload),
    /// Appends stored blocks to an upload session.
    UploadBlocks {
        /// The session.
        upload: UploadId,
        /// Who asks: the session's author.
        user: UserId,
        /// Where the blocks start in the file: the bytes received so far.
        offset: u64,
        /// The blocks, in file order; they must be registered in the namespace owner's account.
        blocks: Vec<BlockRef>,
        /// How far the proposing node has hashed the session's bytes, these included; `None`
        /// when it did not see them (they are the client's own blocks).
        progress: Option<HashProgress>,
    },
    /// Commits an upload whose bytes have all arrived; answered like [`Command::CommitVersion`].
    FinishUpload {
        /// The session.
        upload: UploadId,
        /// Who asks: the session's author.
        user: UserId,
        /// blake3 of the whole content.
        hash: [u8; 32],
        /// Whether the proposing node computed `hash` from the bytes.
        verified: bool,
    },
    /// Ends an upload session without committing.
    AbortUpload {
        /// The session.
        upload: UploadId,
        /// Who asks: the session's author or the namespace's owner.
        user: UserId,
    },
    /// Adds a node to the cluster map or replaces its description (its state is kept).
    SetNode(NodeSpec),
    /// Marks a node up, draining or down.
    MarkNode {
        /// Which node.
        node: NodeId,
        /// Its new state.
        mark: NodeMark,
    },
    /// Removes a node from the cluster map.
    RemoveNode {
        /// Which node.
        node: NodeId,
    },
    /// Records a block whose shards are durable. The first registration wins: if the account
    /// has the block already, only its `changed_ms` moves (restarting GC's grace period), and
    /// the answer names the generation that stands, so the writer drops its own copy.
    RegisterBlock {
        /// Whose block.
        account: AccountId,
        /// Which block.
        block: BlockId,
        /// Plaintext length.
        plain_len: u32,
        /// (k, m) of its stripe: k >= 1, k + m = the placement's length, at most 64.
        shape: (u8, u8),
        /// The random number the writer chose for this stored copy; part of every shard's key.
        generation: u64,
        /// The node of each shard, by index; all distinct.
        placement: Vec<NodeId>,
        /// Shard indices that the writer could not store: each below the placement's length,
        /// at most m of them (more would mean the block is not durable).
        damaged: Vec<u8>,
    },
    /// Adds shard indices to a block's repair debt (indices past the stripe are ignored).
    ReportDamage {
        /// Whose block.
        account: AccountId,
        /// Which block.
        block: BlockId,
        /// The stored copy the reporter read; a report on another one is stale and refused.
        generation: u64,
        /// The shards found missing or corrupt.
        shards: Vec<u8>,
    },
    /// Repair's compare-and-set on a block's placement: applies only if the record has
    /// `generation` and every move's `from` is still where its shard is; all moves apply or none.
    MoveShards {
        /// Whose block.
        account: AccountId,
        /// Which block.
        block: BlockId,
        /// The stored copy repair worked on.
        generation: u64,
        /// The shards moved (or rebuilt in place); each index at most once.
        moves: Vec<ShardMove>,
    },
    /// GC's compare-and-delete: removes the block's record only if it has `generation`, no
    /// references, and `changed_ms == unchanged_since_ms`.
    DropBlock {
        /// Whose block.
        account: AccountId,
        /// Which block.
        block: BlockId,
        /// The stored copy GC saw.
        generation: u64,
        /// The `changed_ms` GC saw when it judged the block unused.
        unchanged_since_ms: u64,
    },
    /// Makes a user an administrator, or not. The model does not check who asks: the API lets
    /// only administrators propose it.
    SetAdmin {
        /// Whose flag.
        user: UserId,
        /// The new value.
        admin: bool,
    },
    /// Revokes one of the user's own tokens; someone else's token is refused as
    /// [`Rejection::NoSuchToken`], like one that does not exist.
    RevokeOwnToken {
        /// Whose token it must be.
        user: UserId,
        /// The hash of the token to revoke.
        token_hash: TokenHash,
    },
    /// Moves (renames) a file, or a folder with everything below it, within one namespace.
    /// Missing parent folders of `to` are created; file ids and versions are unchanged, and
    /// shares of paths below `from` move with them. At most
    /// [`MAX_MOVE_ENTRIES`](super::MAX_MOVE_ENTRIES) entries may be below `from`.
    Move {
        /// Where.
        namespace: NamespaceId,
        /// What moves: an existing file or folder, not the root.
        from: DrivePath,
        /// Its new path: nothing may be there, and it may not be inside `from`.
        to: DrivePath,
        /// Who asks; needs write access at `from` and at the parent of `to`.
        user: UserId,
    },
    /// Sets how long every user's change journal keeps changes (cluster-wide; 30 days until
    /// set). The model does not check who asks: only the admin command proposes it.
    SetJournalRetention {
        /// The retention in milliseconds.
        ms: u64,
    },
    /// [`Command::Trash`], unless something was put at, below or above `path` after `user`'s
    /// journal cursor `since` (refused with [`Rejection::ChangedSince`]): the delete of a sync
    /// client, which must not take an edit it has not seen. See [`precondition`](super::precondition).
    TrashUnchanged {
        /// Where.
        namespace: NamespaceId,
        /// The file or folder; not the root.
        path: DrivePath,
        /// Who asks; needs write access.
        user: UserId,
        /// The caller's journal cursor the decision to delete was made at.
        since: u64,
    },
    /// Registers a token for a user under terms that end it (an API token with an optional
    /// expiry, or a password sign-in's session); at most
    /// [`MAX_TOKENS_PER_USER`](super::tokens::MAX_TOKENS_PER_USER) per user, and none for a
    /// disabled user.
    IssueToken {
        /// Whose token.
        user: UserId,
        /// blake3 of the token; the token itself never reaches the cluster's state.
        token_hash: TokenHash,
        /// What it is for: at most [`MAX_TOKEN_LABEL`](super::tokens::MAX_TOKEN_LABEL) bytes.
        label: String,
        /// When it ends (`used_ms` is taken from the request's time); `None`: never.
        terms: Option<TokenTerms>,
    },
    /// Renews a session's idle end from the request's time: the API proposes it now and then
    /// while the session is used.
    TouchToken {
        /// The session's token hash.
        token_hash: TokenHash,
    },
    /// Sets or removes a user's password (as an argon2id hash; the password itself never
    /// reaches the cluster's state) and ends the sessions made before. The model does not check
    /// who asks: the API lets only the user or an administrator propose it.
    SetPassword {
        /// Whose password.
        user: UserId,
        /// The PHC string; `None` removes the password.
        password_hash: Option<String>,
    },
    /// Disables a user (their tokens are refused and they cannot sign in) or enables them. The
    /// last enabled administrator cannot be disabled. Only administrators may propose it.
    SetDisabled {
        /// Whom.
        user: UserId,
        /// The new value.
        disabled: bool,
    },
    /// Records that `user`, who is not the account's owner, sent the bytes of `block` into
    /// `account` (checked against its id), so a later commit of theirs may name it. Refused
    /// when the account does not have the block.
    HoldBlock {
        /// Whose block.
        account: AccountId,
        /// Which block.
        block: BlockId,
        /// Who sent it.
        user: UserId,
    },
    /// Mints a join token (see `join_tokens`): stores its hash, what the node that uses it
    /// becomes, and when it ends (at most a week after the request).
    IssueJoinToken {
        /// blake3 of the token's secret; the secret never reaches the cluster's state.
        token_hash: TokenHash,
        /// What the joining node becomes.
        role: JoinRole,
        /// When the token stops working (ms since the epoch).
        expires_ms: u64,
    },
    /// Revokes a join token, used or not.
    RevokeJoinToken {
        /// The token's hash.
        token_hash: TokenHash,
    },
    /// Uses up a join token for node `node`, which is refused if the token is unknown, used or
    /// expired, or the id is taken: in `members` (the Raft membership as the proposer saw it),
    /// in the cluster map, or given by another token.
    ConsumeJoinToken {
        /// The token's hash.
        token_hash: TokenHash,
        /// The id the joining node asks for.
        node: NodeId,
        /// The ids in the Raft membership.
        members: Vec<NodeId>,
    },
    /// Raises the cluster version (see [`version`](super::version)): proposed only once every
    /// member speaks `version`. A lower version than the one in force is refused.
    SetClusterVersion {
        /// The new cluster version.
        version: u32,
    },
    /// Records a small block kept in the metadata itself, sealed, instead of in shards
    /// ([`Feature::InlineBlocks`](super::version::Feature::InlineBlocks)): Raft replicates it like
    /// any metadata, so it is as durable as a block's record. The first registration wins, as
    /// with [`Command::RegisterBlock`].
    RegisterInlineBlock {
        /// Whose block.
        account: AccountId,
        /// Which block.
        block: BlockId,
        /// Plaintext length.
        plain_len: u32,
        /// A random number naming this stored copy, as a shard-backed block's generation does.
        generation: u64,
        /// The sealed block (at most [`MAX_INLINE_SEALED`](super::blocks::MAX_INLINE_SEALED)
        /// bytes).
        sealed: Vec<u8>,
    },
}

impl Command {
    /// Whether the command adds to what the drive holds: content, folders, uploads, accounts,
    /// shares. A node short of disk refuses these and still takes the rest (deleting, trashing,
    /// restoring, revoking, signing in), so a full drive can be emptied through the API. Spelled
    /// out for every command, so a new one cannot skip the question.
    pub fn grows_drive(&self) -> bool {
        match self {
            Command::CreateUser { .. }
            | Command::MakeFolder { .. }
            | Command::CommitVersion(_)
            | Command::RegisterDevice { .. }
            | Command::Share { .. }
            | Command::CreateLink(_)
            | Command::BeginUpload(_)
            | Command::UploadBlocks { .. }
            | Command::FinishUpload { .. }
            | Command::RegisterBlock { .. }
            | Command::HoldBlock { .. }
            | Command::RegisterInlineBlock { .. } => true,
            Command::AddToken { .. }
            | Command::RevokeToken { .. }
            | Command::RemoveDevice { .. }
            | Command::RevokeShare { .. }
            | Command::RevokeLink { .. }
            | Command::Trash { .. }
            | Command::Purge { .. }
            | Command::Restore { .. }
            | Command::PinVersion { .. }
            | Command::AbortUpload { .. }
            | Command::SetNode(_)
            | Command::MarkNode { .. }
            | Command::RemoveNode { .. }
            | Command::ReportDamage { .. }
            | Command::MoveShards { .. }
            | Command::DropBlock { .. }
            | Command::SetAdmin { .. }
            | Command::RevokeOwnToken { .. }
            | Command::Move { .. }
            | Command::SetJournalRetention { .. }
            | Command::TrashUnchanged { .. }
            | Command::IssueToken { .. }
            | Command::TouchToken { .. }
            | Command::SetPassword { .. }
            | Command::SetDisabled { .. }
            | Command::IssueJoinToken { .. }
            | Command::RevokeJoinToken { .. }
            | Command::ConsumeJoinToken { .. }
            | Command::SetClusterVersion { .. } => false,
        }
    }
}
