//! The per-user change journal: every change a user can see, in one gapless sequence.
//!
//! A client remembers the last sequence number it saw (its cursor) and asks for what came after;
//! because the journal is Raft state, any node answers the same, so a client whose node died
//! resumes from its cursor elsewhere and misses nothing.

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::drive::{FileId, FileStatus, NamespaceId};
use super::txn::decode;
use super::{Space, StateError, StateRead, Txn, UserId};

/// What happened to a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// A folder was created.
    FolderCreated,
    /// A new version of a file was committed (the first one creates the file).
    VersionCommitted {
        /// The new head version.
        version: u64,
        /// The file's status after the commit.
        status: FileStatus,
    },
    /// A file went to the trash.
    Trashed,
    /// A file came back from the trash.
    Restored {
        /// Its status again.
        status: FileStatus,
    },
    /// A trashed file was deleted for good.
    Purged,
    /// The file or folder at the change's path came from `from`, with everything below it:
    /// a client renames what it has. Users who see both places, and recipients of shares below
    /// the moved folder (whose share roots moved), get this.
    Moved {
        /// The old path.
        from: DrivePath,
    },
    /// A file or folder moved here from a place this user cannot see: to the user, it (and
    /// everything below it) appeared. The old path is not told, since it is not theirs to see.
    MovedIn,
    /// The file or folder at the change's path moved to a place this user cannot see: to the
    /// user, it (and everything below it) is gone. The new path is not told.
    MovedOut,
    /// The folder at the change's path went to the trash: every file below it is trashed (a
    /// client removes the whole folder), and the folder and the folders below it are gone. A
    /// restored file comes back with `FolderCreated` changes for the folders it needs.
    FolderTrashed {
        /// How many files went to the trash with it.
        files: u64,
    },
    /// A file is being uploaded to the change's path (a resumable session began): to users it
    /// shows as `uploading` until a `VersionCommitted` (complete) or an `UploadAborted`.
    UploadStarted {
        /// Its declared size.
        size: u64,
    },
    /// The upload to the change's path was abandoned before it completed.
    UploadAborted,
}

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Position in the user's journal, from 1, without gaps.
    pub seq: u64,
    /// When it was applied (the proposer's clock).
    pub time_ms: u64,
    /// The namespace the path is in.
    pub namespace: NamespaceId,
    /// The path that changed.
    pub path: DrivePath,
    /// The file, for file changes.
    pub file: Option<FileId>,
    /// What happened.
    pub kind: ChangeKind,
}

fn key(user: UserId, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&user.0.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Appends a change to `user`'s journal and returns its sequence number.
pub(super) fn record<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    user: UserId,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    file: Option<FileId>,
    kind: ChangeKind,
) -> Result<u64, StateError> {
    let seq = txn.next_id(&format!("journal/{}", user.0))?;
    let change = Change { seq, time_ms, namespace, path: path.clone(), file, kind };
    txn.put(Space::Journal, &key(user, seq), &change);
    Ok(seq)
}

/// Up to `limit` changes of `user` after sequence number `cursor` (0 for the beginning).
pub fn changes_after(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    cursor: u64,
    limit: usize,
) -> Result<Vec<Change>, StateError> {
    let after = key(user, cursor);
    state
        .scan(Space::Journal, &user.0.to_be_bytes(), Some(&after), limit)?
        .into_iter()
        .map(|(_, value)| decode(Space::Journal, &value))
        .collect()
}
