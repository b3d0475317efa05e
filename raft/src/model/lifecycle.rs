//! What happens to a file after its commits: the trash, restoring from it, purging for good,
//! and pinning versions so retention never removes them.
//!
//! Deletes go to the trash first (DESIGN §1): a trashed file keeps its entry, its versions and
//! its blocks' references, and shows as `Trashed`. Only a purge drops the references, after
//! which the blocks' refcounts may reach zero and GC may take them. Trashing a folder trashes
//! the files below it and removes the folders (see [`subtree`]); a restore brings back the
//! folders its file needs.

use cairn_proto::{AccountId, DrivePath};

use super::block_refs;
use super::commit;
use super::drive::{self, EntryKind, FileRecord, FileStatus, VersionRecord};
use super::ids::{FileId, NamespaceId, UserId};
use super::journal::ChangeKind;
use super::shares;
use super::subtree;
use super::trash;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// The file at `path`, or why there is none.
fn file_at(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
) -> Result<Result<FileRecord, Rejection>, StateError> {
    Ok(match drive::stat(state, namespace, path)? {
        Some((entry, _)) if entry.kind == EntryKind::Folder => Err(Rejection::IsAFolder(path.clone())),
        Some((_, Some(file))) => Ok(file),
        _ => Err(Rejection::NotFound(path.clone())),
    })
}

/// Checks access and finds the file, for the three commands below.
fn writable_file<R: StateRead + ?Sized>(
    txn: &Txn<R>,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Result<(UserId, FileRecord), Rejection>, StateError> {
    let owner = match commit::writable(txn, namespace, path, user)? {
        Ok(owner) => owner,
        Err(rejection) => return Ok(Err(rejection)),
    };
    Ok(file_at(txn, namespace, path)?.map(|file| (owner, file)))
}

pub(super) fn trash<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Response, StateError> {
    // A folder goes with everything below it; the root is no folder one can throw away, and is
    // refused below as a folder, as before.
    if !path.is_root()
        && matches!(drive::stat(txn, namespace, path)?, Some((entry, _)) if entry.kind == EntryKind::Folder)
    {
        return subtree::trash_folder(txn, time_ms, namespace, path, user);
    }
    let (owner, mut file) = match writable_file(txn, namespace, path, user)? {
        Ok(found) => found,
        Err(rejection) => return Ok(Response::Rejected(rejection)),
    };
    if file.status == FileStatus::Trashed {
        return Ok(Response::Rejected(Rejection::AlreadyInTrash(path.clone())));
    }
    trash::put_in_trash(txn, time_ms, &mut file, user);
    let seq = shares::announce(txn, owner, time_ms, namespace, path, Some(file.id), ChangeKind::Trashed)?;
    Ok(Response::Trashed { file: file.id, seq })
}

pub(super) fn restore<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Response, StateError> {
    let (owner, mut file) = match writable_file(txn, namespace, path, user)? {
        Ok(found) => found,
        Err(rejection) => return Ok(Response::Rejected(rejection)),
    };
    if file.status != FileStatus::Trashed {
        return Ok(Response::Rejected(Rejection::NotInTrash(path.clone())));
    }
    // The folders of a trashed folder are gone: the file needs them back. A file that took a
    // folder's name meanwhile is in the way, and the restore is refused before any write.
    if let Some((parent, _)) = path.split_last()
        && let Err(rejection) = commit::ensure_folders(txn, time_ms, namespace, owner, &parent)?
    {
        return Ok(Response::Rejected(rejection));
    }
    let was = trash::take_out(txn, namespace, file.id)?.map_or(FileStatus::Complete, |t| t.was);
    file.status = was;
    txn.put(Space::Files, &file.id.0.to_be_bytes(), &file);
    let kind = ChangeKind::Restored { status: was };
    let seq = shares::announce(txn, owner, time_ms, namespace, path, Some(file.id), kind)?;
    Ok(Response::Restored { file: file.id, seq })
}

/// Deletes a trashed file for good: its versions, its entry, and one reference per version to
/// each of its blocks. The work is proportional to the file's number of versions.
pub(super) fn purge<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
) -> Result<Response, StateError> {
    let (owner, file) = match writable_file(txn, namespace, path, user)? {
        Ok(found) => found,
        Err(rejection) => return Ok(Response::Rejected(rejection)),
    };
    if file.status != FileStatus::Trashed {
        return Ok(Response::Rejected(Rejection::NotInTrash(path.clone())));
    }
    let account = AccountId(owner.0);
    for version in 1..=file.head {
        let key = drive::version_key(file.id, version);
        if let Some(record) = txn.get::<VersionRecord>(Space::Versions, &key)? {
            block_refs::release_refs(txn, time_ms, account, &record.content.blocks)?;
            txn.delete(Space::Versions, &key);
        }
    }
    txn.delete(Space::Files, &file.id.0.to_be_bytes());
    txn.delete(Space::Entries, &drive::entry_key(namespace, path));
    trash::leave_trash(txn, namespace, file.id);
    let seq = shares::announce(txn, owner, time_ms, namespace, path, Some(file.id), ChangeKind::Purged)?;
    Ok(Response::Purged { file: file.id, seq })
}

/// Pins or unpins a version.
pub(super) fn pin<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    file: FileId,
    version: u64,
    pinned: bool,
    user: UserId,
) -> Result<Response, StateError> {
    let Some(record) = txn.get::<FileRecord>(Space::Files, &file.0.to_be_bytes())? else {
        return Ok(Response::Rejected(Rejection::NoSuchFile(file)));
    };
    if let Err(rejection) = commit::writable(txn, record.namespace, &record.path, user)? {
        return Ok(Response::Rejected(rejection));
    }
    let key = drive::version_key(file, version);
    let Some(mut v) = txn.get::<VersionRecord>(Space::Versions, &key)? else {
        return Ok(Response::Rejected(Rejection::NoSuchVersion { file, version }));
    };
    v.pinned = pinned;
    txn.put(Space::Versions, &key, &v);
    Ok(Response::PinSet)
}

#[cfg(test)]
mod tests {
    use crate::model::trash::trash_list;
    use cairn_proto::BlockId;

    use super::*;
    use crate::model::Command;
    use crate::model::drive::{stat, versions};
    use crate::model::journal::{ChangeKind, changes_after};
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, path};

    fn cmd(kind: &str, p: &str, user: UserId) -> Command {
        let (namespace, path) = (ADA_DRIVE, path(p));
        match kind {
            "trash" => Command::Trash { namespace, path, user },
            "restore" => Command::Restore { namespace, path, user },
            _ => Command::Purge { namespace, path, user },
        }
    }

    fn status(w: &World, p: &str) -> Option<FileStatus> {
        stat(&w.state, ADA_DRIVE, &path(p)).unwrap().and_then(|(_, f)| f).map(|f| f.status)
    }

    fn refcount(w: &World, b: &[u8]) -> u64 {
        crate::model::blocks::block(&w.state, AccountId(1), &BlockId::of(b)).unwrap().unwrap().refcount
    }

    fn last_change(w: &World) -> ChangeKind {
        changes_after(&w.state, ADA, 0, 1000).unwrap().pop().unwrap().kind
    }

    #[test]
    fn trash_restore_purge() {
        let mut w = World::new();
        let file = w.ada_commits("a.txt", None, &[b"one"]);
        w.ada_commits("a.txt", Some(1), &[b"one", b"two"]);
        w.ada_commits("keep.txt", None, &[b"two"]);
        assert!(matches!(w.run(cmd("trash", "a.txt", ADA)), Response::Trashed { .. }));
        assert_eq!(status(&w, "a.txt"), Some(FileStatus::Trashed));
        assert_eq!(last_change(&w), ChangeKind::Trashed);
        assert_eq!(trash_list(&w.state, ADA_DRIVE, None, 10).unwrap()[0].path, path("a.txt"));
        // In the trash, the blocks keep their references.
        assert_eq!((refcount(&w, b"one"), refcount(&w, b"two")), (2, 2));

        assert!(matches!(w.run(cmd("restore", "a.txt", ADA)), Response::Restored { .. }));
        assert_eq!(status(&w, "a.txt"), Some(FileStatus::Complete));
        assert_eq!(last_change(&w), ChangeKind::Restored { status: FileStatus::Complete });
        assert!(trash_list(&w.state, ADA_DRIVE, None, 10).unwrap().is_empty());
        assert_eq!(
            w.run(cmd("purge", "a.txt", ADA)),
            Response::Rejected(Rejection::NotInTrash(path("a.txt")))
        );

        w.run(cmd("trash", "a.txt", ADA));
        assert_eq!(
            w.run(cmd("trash", "a.txt", ADA)),
            Response::Rejected(Rejection::AlreadyInTrash(path("a.txt")))
        );
        assert!(matches!(w.run(cmd("purge", "a.txt", ADA)), Response::Purged { file: f, .. } if f == file));
        assert_eq!(stat(&w.state, ADA_DRIVE, &path("a.txt")).unwrap(), None);
        assert!(versions(&w.state, file, 10).unwrap().is_empty());
        // Both versions' references are gone; keep.txt still holds "two".
        assert_eq!((refcount(&w, b"one"), refcount(&w, b"two")), (0, 1));
        assert_eq!(last_change(&w), ChangeKind::Purged);
        assert!(trash_list(&w.state, ADA_DRIVE, None, 10).unwrap().is_empty());
    }

    #[test]
    fn only_writers_trash_and_not_the_root() {
        let mut w = World::new();
        w.ada_commits("dir/a.txt", None, &[b"one"]);
        assert_eq!(w.run(cmd("trash", "dir/a.txt", BOB)), Response::Rejected(Rejection::Forbidden));
        assert_eq!(w.run(cmd("trash", "", ADA)), Response::Rejected(Rejection::IsAFolder(path(""))));
        assert_eq!(w.run(cmd("trash", "nope", ADA)), Response::Rejected(Rejection::NotFound(path("nope"))));
        assert_eq!(
            w.run(cmd("restore", "dir/a.txt", ADA)),
            Response::Rejected(Rejection::NotInTrash(path("dir/a.txt")))
        );
    }

    #[test]
    fn recreating_a_trashed_file_continues_its_history() {
        let mut w = World::new();
        let file = w.ada_commits("a.txt", None, &[b"one"]);
        w.run(cmd("trash", "a.txt", ADA));
        // The trashed file is invisible to commits: its old head is no base any more.
        assert_eq!(
            w.commit_as(ADA, ADA_DRIVE, "a.txt", Some(1), &[b"two"]),
            Response::Rejected(Rejection::Conflict { head: None })
        );
        assert_eq!(w.ada_commits("a.txt", None, &[b"two"]), file);
        assert_eq!(status(&w, "a.txt"), Some(FileStatus::Complete));
        assert_eq!(
            versions(&w.state, file, 10).unwrap().iter().map(|v| v.version).collect::<Vec<_>>(),
            [2, 1]
        );
        assert!(trash_list(&w.state, ADA_DRIVE, None, 10).unwrap().is_empty());
    }

    #[test]
    fn versions_are_pinned_and_unpinned() {
        let mut w = World::new();
        let file = w.ada_commits("a.txt", None, &[b"one"]);
        let pin = |version, pinned, user| Command::PinVersion { file, version, pinned, user };
        assert_eq!(w.run(pin(1, true, ADA)), Response::PinSet);
        assert!(versions(&w.state, file, 1).unwrap()[0].pinned);
        assert_eq!(w.run(pin(1, false, ADA)), Response::PinSet);
        assert!(!versions(&w.state, file, 1).unwrap()[0].pinned);
        assert_eq!(
            w.run(pin(2, true, ADA)),
            Response::Rejected(Rejection::NoSuchVersion { file, version: 2 })
        );
        assert_eq!(w.run(pin(1, true, BOB)), Response::Rejected(Rejection::Forbidden));
        let stray = Command::PinVersion { file: FileId(99), version: 1, pinned: true, user: ADA };
        assert_eq!(w.run(stray), Response::Rejected(Rejection::NoSuchFile(FileId(99))));
    }
}
