//! The trash as stored: one record per trashed file, keyed by (namespace, file), listing where
//! it was and what it was before. Trashing, restoring and purging are [`super::lifecycle`]'s
//! commands; a move and a commit onto a trashed path keep these records in step.

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::drive::{FileRecord, FileStatus};
use super::ids::{FileId, NamespaceId, UserId};
use super::txn::decode;
use super::{Space, StateError, StateRead, Txn};

/// A file in the trash, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashRecord {
    /// The file.
    pub file: FileId,
    /// Where it is.
    pub namespace: NamespaceId,
    /// Its path; the entry stays there while it is in the trash.
    pub path: DrivePath,
    /// When it was trashed, for emptying the trash after a retention time.
    pub trashed_ms: u64,
    /// Who trashed it.
    pub by: UserId,
    /// Its status before, which a restore brings back.
    pub was: FileStatus,
}

fn trash_key(namespace: NamespaceId, file: FileId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&namespace.0.to_be_bytes());
    key[8..].copy_from_slice(&file.0.to_be_bytes());
    key
}

/// Puts a file that is not in the trash into it: its trash record, and its status.
pub(super) fn put_in_trash<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    file: &mut FileRecord,
    by: UserId,
) {
    let record = TrashRecord {
        file: file.id,
        namespace: file.namespace,
        path: file.path.clone(),
        trashed_ms: time_ms,
        by,
        was: file.status,
    };
    txn.put(Space::Trash, &trash_key(file.namespace, file.id), &record);
    file.status = FileStatus::Trashed;
    txn.put(Space::Files, &file.id.0.to_be_bytes(), &*file);
}

/// Keeps a trashed file's trash record in step with its new path after a move.
pub(super) fn retarget<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    namespace: NamespaceId,
    file: FileId,
    path: &DrivePath,
) -> Result<(), StateError> {
    let key = trash_key(namespace, file);
    if let Some(mut record) = txn.get::<TrashRecord>(Space::Trash, &key)? {
        record.path = path.clone();
        txn.put(Space::Trash, &key, &record);
    }
    Ok(())
}

/// Takes a file's trash record out of the trash, returning it (a restore brings back what the
/// file was before).
pub(super) fn take_out<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    namespace: NamespaceId,
    file: FileId,
) -> Result<Option<TrashRecord>, StateError> {
    let key = trash_key(namespace, file);
    let record = txn.get::<TrashRecord>(Space::Trash, &key)?;
    txn.delete(Space::Trash, &key);
    Ok(record)
}

/// A commit onto a trashed file's path brings the file back with a new version: its trash
/// record goes.
pub(super) fn leave_trash<R: StateRead + ?Sized>(txn: &mut Txn<R>, namespace: NamespaceId, file: FileId) {
    txn.delete(Space::Trash, &trash_key(namespace, file));
}

/// Up to `limit` files in the trash of `namespace`, by file id, after `after`.
pub fn trash_list(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    after: Option<FileId>,
    limit: usize,
) -> Result<Vec<TrashRecord>, StateError> {
    let after = after.map(|file| trash_key(namespace, file));
    state
        .scan(Space::Trash, &namespace.0.to_be_bytes(), after.as_ref().map(|k| k.as_slice()), limit)?
        .into_iter()
        .map(|(_, value)| decode(Space::Trash, &value))
        .collect()
}
