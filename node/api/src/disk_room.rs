//! Room on the node's disk for metadata. Small files live in the metadata state, so the drive
//! can fill a disk through Raft alone, and a Raft store that cannot write its log or its next
//! snapshot stops the node for good (every node at once: they fill alike). So a write that grows
//! the drive is refused with 507 `storage_full` while the disk holding the metadata has less
//! free than the reserve plus the room the next snapshot will take. Deleting, trashing and
//! signing in go on, so a full drive can be emptied through the API.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::Command;

use crate::error::ApiError;

/// Where the metadata lives, and how much free disk writes leave alone.
#[derive(Clone, Debug)]
pub struct DiskRoom {
    /// A directory on the disk that holds the metadata (the node's data directory).
    data_dir: PathBuf,
    /// Where the state machine keeps its snapshot files: the next one needs as much again.
    snapshots: PathBuf,
    /// Bytes of free disk kept back for what the node writes besides (`storage.reserve_disk_bytes`).
    reserve: u64,
}

impl DiskRoom {
    /// Room on the disk of `data_dir`, keeping `reserve` bytes free besides a snapshot's worth
    /// (the size of the files in `snapshots`).
    pub fn new(data_dir: PathBuf, snapshots: PathBuf, reserve: u64) -> Self {
        Self { data_dir, snapshots, reserve }
    }

    /// Refuses `commands` (one request's, proposed together) with 507 if any of them grows the
    /// drive and the disk is short of room: the disk is measured once per request, not once per
    /// file of a batch.
    pub(crate) fn admit<'a>(&self, commands: impl IntoIterator<Item = &'a Command>) -> Result<(), ApiError> {
        if !commands.into_iter().any(Command::grows_drive) {
            return Ok(());
        }
        let available = fs4::available_space(&self.data_dir)
            .map_err(|e| ApiError::internal(format!("measure free disk space: {e}")))?;
        // One `statvfs` and a listing of a folder of two or three files: microseconds.
        let needed = self.reserve.saturating_add(snapshot_bytes(&self.snapshots));
        if available >= needed {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            ErrorCode::StorageFull,
            format!(
                "the node's disk has {available} bytes free and keeps {needed} back for the \
                 metadata's log and snapshots: delete files or empty the trash, or give the node \
                 more disk"
            ),
        ))
    }
}

/// Bytes in the files directly under `dir` (none if it cannot be read).
fn snapshot_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}
