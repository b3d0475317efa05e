//! What applying a request answers: its outcome, remembered under the request's id so that a
//! retry gets the first answer again.

use serde::{Deserialize, Serialize};

use super::Rejection;
use super::ids::{DeviceId, FileId, NodeId, UserId};

/// The outcome of a request (or of a Raft-internal entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// A blank or membership entry: nothing for a client.
    Internal,
    /// The user was created.
    UserCreated {
        /// The new user's id.
        user: UserId,
    },
    /// The token was registered.
    TokenAdded,
    /// The token was revoked.
    TokenRevoked,
    /// The folder exists now.
    FolderReady,
    /// A version was committed.
    Committed {
        /// The file.
        file: FileId,
        /// The new head version.
        version: u64,
        /// The journal sequence number of the change.
        seq: u64,
    },
    /// The block is registered.
    BlockRegistered {
        /// True if this request stored the record; false if the account had the block already
        /// and its first registration stands.
        fresh: bool,
        /// The generation of the stored copy that stands: the writer's own when `fresh`,
        /// otherwise the earlier one (the writer's shards are surplus).
        generation: u64,
    },
    /// Damage was recorded.
    DamageRecorded {
        /// The block's whole damaged set after the report, sorted.
        damaged: Vec<u8>,
    },
    /// The shards moved; their indices left the damaged set.
    ShardsMoved,
    /// The block's record is gone.
    BlockDropped {
        /// The nodes that held its shards, by index: GC deletes the shards there.
        placement: Vec<NodeId>,
    },
    /// The device is registered.
    DeviceRegistered {
        /// Its id.
        device: DeviceId,
    },
    /// The device is removed.
    DeviceRemoved,
    /// The file is in the trash.
    Trashed {
        /// The file.
        file: FileId,
        /// The owner's journal sequence number of the change.
        seq: u64,
    },
    /// The file is back from the trash.
    Restored {
        /// The file.
        file: FileId,
        /// The owner's journal sequence number of the change.
        seq: u64,
    },
    /// The file is gone for good.
    Purged {
        /// The file.
        file: FileId,
        /// The owner's journal sequence number of the change.
        seq: u64,
    },
    /// The version's pin is set as asked.
    PinSet,
    /// The cluster map changed.
    ClusterMapChanged {
        /// Its new version.
        version: u64,
    },
    /// The upload session is open.
    UploadBegun,
    /// Blocks were appended to an upload session.
    UploadReceived {
        /// Bytes received so far (the next offset).
        received: u64,
    },
    /// The upload session is gone.
    UploadAborted,
    /// The share exists now, with the role asked for.
    Shared,
    /// The share is gone.
    ShareRevoked,
    /// The link exists now.
    LinkCreated,
    /// The link is gone.
    LinkRevoked,
    /// The user's administrator flag is set as asked.
    AdminSet,
    /// The file or folder moved.
    Moved {
        /// The sequence number of the change in the journal of the user who moved it.
        seq: u64,
    },
    /// The folder went to the trash: every file below it is trashed, and the folder and the
    /// folders below it are gone.
    FolderTrashed {
        /// How many files this trashed (files in the trash already are not counted).
        files: u64,
        /// The sequence number of the change in the journal of the user who trashed it.
        seq: u64,
    },
    /// The command was refused; the state did not change.
    Rejected(Rejection),
    /// The journal retention is set.
    JournalRetentionSet {
        /// The retention now in force, in ms.
        ms: u64,
    },
    /// The session's idle end is renewed (or it has none).
    TokenTouched,
    /// The user's password is set (or removed) and older sessions have ended.
    PasswordSet,
    /// The user is disabled or enabled as asked.
    DisabledSet,
    /// The user is recorded as holding the block.
    BlockHeld,
    /// The join token is stored.
    JoinTokenIssued,
    /// The join token is revoked.
    JoinTokenRevoked,
    /// The join token is used up by the node that presented it, which joins as `role`.
    JoinTokenAccepted {
        /// What the node becomes.
        role: super::joining::JoinRole,
    },
    /// The cluster version is now `version`.
    ClusterVersionSet {
        /// The cluster version in force.
        version: u32,
    },
}

impl Response {
    /// The response, or the rejection it carries.
    pub fn into_result(self) -> Result<Self, Rejection> {
        match self {
            Response::Rejected(why) => Err(why),
            other => Ok(other),
        }
    }
}
