//! What the planner decides and the executor does: one [`Action`] per step, each carrying what
//! the planner saw, so the executor can refuse a step whose premise no longer holds (a local
//! file edited again since the scan) instead of acting on stale knowledge.

use super::tree::{Base, Local, LocalFile, Remote, RemoteFile};

/// One step of a plan. Paths are relative to the synced folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make a folder on the disk (and any missing above it).
    MakeLocalFolder {
        /// The folder.
        path: String,
    },
    /// Make a folder in the drive (and any missing above it).
    MakeRemoteFolder {
        /// The folder.
        path: String,
    },
    /// Upload the local file as a new version, committed only if the drive's head is still
    /// `base` (`None`: only if the file does not exist), so a concurrent commit elsewhere turns
    /// this into a conflict instead of being overwritten.
    Upload {
        /// The file.
        path: String,
        /// The file as scanned.
        local: LocalFile,
        /// The head version the upload replaces.
        base: Option<u64>,
    },
    /// Download the drive's file into place. With `replace`, the local file there, which must
    /// still be exactly as scanned; without, nothing may have appeared there meanwhile.
    Download {
        /// The file.
        path: String,
        /// The version to fetch.
        remote: RemoteFile,
        /// The local file it replaces, if any.
        replace: Option<LocalFile>,
    },
    /// Delete a local file the drive deleted, only if it still is as scanned (= as synced).
    DeleteLocalFile {
        /// The file.
        path: String,
        /// The file as scanned.
        local: LocalFile,
    },
    /// Remove a local folder the drive deleted, only if nothing is left in it.
    DeleteLocalFolder {
        /// The folder.
        path: String,
    },
    /// Move a file the disk lost to the drive's trash, only if nothing was put there after the
    /// listing (another device's new version stays, and comes down in the next pass).
    DeleteRemoteFile {
        /// The file.
        path: String,
        /// Its head as listed.
        remote: RemoteFile,
    },
    /// Move a folder the disk lost, with everything below it, to the drive's trash, only if
    /// nothing was put in it after the listing.
    DeleteRemoteFolder {
        /// The folder.
        path: String,
    },
    /// The drive renamed a file: rename the local one the same way instead of downloading it
    /// again and deleting the old one.
    RenameLocal {
        /// The old path.
        from: String,
        /// The new path.
        to: String,
        /// The local file at `from`, as scanned.
        local: LocalFile,
        /// The drive's file at `to`.
        remote: RemoteFile,
    },
    /// The disk renamed a file: rename the drive's the same way instead of uploading it again.
    RenameRemote {
        /// The old path.
        from: String,
        /// The new path.
        to: String,
        /// The drive's file at `from`.
        remote: RemoteFile,
        /// The local file at `to`, as scanned.
        local: LocalFile,
    },
    /// Both sides changed since the last sync. If both now hold the same content, they are
    /// simply in step again; otherwise the local item is kept as a conflicted copy (and
    /// uploaded as a new file), and the drive's is taken at `path`.
    Conflict {
        /// Where they clash.
        path: String,
        /// The local side.
        local: Local,
        /// The drive's side.
        remote: Remote,
    },
    /// Both sides agree: write the base (a folder made on both, a file's new metadata).
    Record {
        /// The path.
        path: String,
        /// What both sides hold.
        base: Base,
    },
    /// Both sides lost the path: drop it from the base.
    Forget {
        /// The path.
        path: String,
    },
}

impl Action {
    /// The path the action is about (for a rename, the new one).
    pub fn path(&self) -> &str {
        match self {
            Self::MakeLocalFolder { path }
            | Self::MakeRemoteFolder { path }
            | Self::Upload { path, .. }
            | Self::Download { path, .. }
            | Self::DeleteLocalFile { path, .. }
            | Self::DeleteLocalFolder { path }
            | Self::DeleteRemoteFile { path, .. }
            | Self::DeleteRemoteFolder { path }
            | Self::Conflict { path, .. }
            | Self::Record { path, .. }
            | Self::Forget { path } => path,
            Self::RenameLocal { to, .. } | Self::RenameRemote { to, .. } => to,
        }
    }

    /// A word for status lines: what is being done.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::MakeLocalFolder { .. } | Self::MakeRemoteFolder { .. } => "making folder",
            Self::Upload { .. } => "uploading",
            Self::Download { .. } => "downloading",
            Self::DeleteLocalFile { .. } | Self::DeleteLocalFolder { .. } => "deleting locally",
            Self::DeleteRemoteFile { .. } | Self::DeleteRemoteFolder { .. } => "deleting in the drive",
            Self::RenameLocal { .. } => "renaming locally",
            Self::RenameRemote { .. } => "renaming in the drive",
            Self::Conflict { .. } => "resolving conflict",
            Self::Record { .. } | Self::Forget { .. } => "recording",
        }
    }

    /// Whether the action only updates the base (no transfer, no change on either side).
    pub fn is_bookkeeping(&self) -> bool {
        matches!(self, Self::Record { .. } | Self::Forget { .. })
    }
}

/// A path the plan leaves alone for now, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Waiting {
    /// The path (everything below it waits too).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What to do to bring both sides in step: the actions in the order to carry them out
/// (folders made and files moved into place before anything is deleted), and what waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in order.
    pub actions: Vec<Action>,
    /// Paths left alone in this pass.
    pub waiting: Vec<Waiting>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
