//! What can stop a sync pass, told apart the way the engine must: a cluster that cannot be
//! reached now (retry with backoff), and setup problems a person must fix (stop and say so).

use std::path::PathBuf;

use crate::ClientError;
use crate::api::ErrorCode;

/// A failed sync step.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A call to the cluster failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Another `cairn sync` already runs on this folder (its state database is locked).
    #[error("{0}: another cairn sync is already running on this folder")]
    InUse(PathBuf),
    /// The folder was synced with another drive folder before.
    #[error(
        "{folder}: this folder is synced with drive folder {bound:?}, not {asked:?} \
         (sync it with --remote {bound:?}, or delete its .cairn folder to start over)"
    )]
    Bound {
        /// The local folder.
        folder: PathBuf,
        /// The drive folder (and namespace) it was synced with.
        bound: String,
        /// The one asked for now.
        asked: String,
    },
    /// The state database could not be read or written.
    #[error("state database {path}: {message}")]
    State {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A local file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A local path was refused: it would leave the synced folder, go through a link or a
    /// mount point in it, or use a name the disk cannot hold.
    #[error(transparent)]
    Wall(#[from] crate::disk::Breach),
    /// The file-system watcher could not be started.
    #[error("watching {path}: {message}")]
    Watch {
        /// The folder.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The folders to sync do not fit together (the drive path is a file, say).
    #[error("{0}")]
    Setup(String),
}

impl SyncError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// Whether the cluster could not be reached (or could not serve): the engine waits and
    /// tries again, and local changes meanwhile are picked up by the next pass.
    pub fn is_offline(&self) -> bool {
        match self {
            Self::Client(e) => {
                matches!(e, ClientError::Unreachable(_) | ClientError::Protocol { .. })
                    || e.status().is_some_and(|s| s.is_server_error())
            }
            _ => false,
        }
    }

    /// Whether no later pass can succeed without a person fixing something.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::InUse(_) | Self::Bound { .. } | Self::Setup(_) | Self::Watch { .. })
            || matches!(self, Self::Client(ClientError::Config(_)))
            || matches!(self, Self::Client(e) if matches!(e.api_code(), Some(ErrorCode::Unauthenticated | ErrorCode::Forbidden)))
    }
}
