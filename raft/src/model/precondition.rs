//! Conditional deletes: "trash this, unless something there changed after my cursor".
//!
//! A sync client decides to delete a file or folder from a listing it took after journal cursor
//! C (its remote copy matched what it last synced, and the local copy is gone). Between that
//! listing and its delete another device may commit a new version there; an unconditional trash
//! would take that edit with it, and the sync client would then delete it on every device. So
//! the sync client asks for [`Command::TrashUnchanged`](super::Command::TrashUnchanged) with C:
//! the caller's own journal after C is read, and if any change there put something at or below
//! the path (a version, a folder, a restore, a move or an upload beginning), the trash is
//! refused with [`Rejection::ChangedSince`] and the client lists again.
//!
//! The journal is the right witness because it holds exactly what the caller can see: the
//! owner's changes and, for a share recipient, everything in the shared folder. A change that
//! only removed something (a trash, a purge, a move away) cannot hide an edit, so it does not
//! count. Nor does a file the client ignores and never listed: it was there before C.

use cairn_proto::DrivePath;

use super::ids::{NamespaceId, UserId};
use super::journal::{self, Change, ChangeKind};
use super::lifecycle;
use super::{Rejection, Response, StateError, StateRead, Txn};

/// The most journal changes after the cursor that are checked. A cursor further behind is
/// refused like a change: one apply must stay bounded, and a client that far behind lists again.
pub const MAX_CHECKED_CHANGES: usize = 4096;

/// Trashes the file or folder at `path`, as [`Command::Trash`](super::Command::Trash) does, if
/// nothing was put at or below it (or at a folder above it) after `user`'s journal cursor `since`.
pub(super) fn trash_unchanged<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    user: UserId,
    since: u64,
) -> Result<Response, StateError> {
    match unchanged_since(txn, user, namespace, path, since)? {
        Ok(()) => lifecycle::trash(txn, time_ms, namespace, path, user),
        Err(rejection) => Ok(Response::Rejected(rejection)),
    }
}

/// `Ok` if `user`'s journal shows nothing put at, below or above `path` after `since`.
pub fn unchanged_since(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    namespace: NamespaceId,
    path: &DrivePath,
    since: u64,
) -> Result<Result<(), Rejection>, StateError> {
    let page = match journal::page_after(state, user, since, MAX_CHECKED_CHANGES + 1)? {
        Ok(page) => page,
        Err(expired) => return Ok(Err(expired)),
    };
    let changed = page.changes.len() > MAX_CHECKED_CHANGES
        || page.changes.iter().any(|change| puts_something_at(change, namespace, path));
    Ok(if changed { Err(Rejection::ChangedSince { path: path.clone(), cursor: since }) } else { Ok(()) })
}

/// Whether `change` may have put something a trash of `path` would take: it adds, and its path
/// is `path`, below it, or a folder above it (a folder moved or restored there brings a new
/// subtree with it).
fn puts_something_at(change: &Change, namespace: NamespaceId, path: &DrivePath) -> bool {
    let adds = match change.kind {
        ChangeKind::FolderCreated
        | ChangeKind::VersionCommitted { .. }
        | ChangeKind::Restored { .. }
        | ChangeKind::Moved { .. }
        | ChangeKind::MovedIn
        | ChangeKind::UploadStarted { .. } => true,
        ChangeKind::Trashed
        | ChangeKind::Purged
        | ChangeKind::MovedOut
        | ChangeKind::FolderTrashed { .. }
        | ChangeKind::UploadAborted => false,
    };
    adds && change.namespace == namespace && (change.path.starts_with(path) || path.starts_with(&change.path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::drive::FileStatus;
    use crate::model::ids::UploadId;
    use crate::model::journal::window;
    use crate::model::shares::ShareRole;
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, new_upload, path};
    use crate::model::{Command, Response};

    fn trash_unchanged(w: &mut World, p: &str, user: UserId, since: u64) -> Response {
        w.run(Command::TrashUnchanged { namespace: ADA_DRIVE, path: path(p), user, since })
    }

    fn latest(w: &World, user: UserId) -> u64 {
        window(&w.state, user).unwrap().1
    }

    fn changed(p: &str, cursor: u64) -> Response {
        Response::Rejected(Rejection::ChangedSince { path: path(p), cursor })
    }

    #[test]
    fn an_unchanged_file_is_trashed() {
        let mut w = World::new();
        let file = w.ada_commits("docs/a.txt", None, &[b"one"]);
        let since = latest(&w, ADA);
        // Changes elsewhere, and removals, do not hold it back.
        w.ada_commits("docs/b.txt", None, &[b"two"]);
        w.ada_commits("docsier.txt", None, &[b"two"]);
        w.run(Command::Trash { namespace: ADA_DRIVE, path: path("docs/b.txt"), user: ADA });
        assert!(matches!(
            trash_unchanged(&mut w, "docs/a.txt", ADA, since),
            Response::Trashed { file: f, .. } if f == file
        ));
    }

    #[test]
    fn a_file_edited_after_the_cursor_stays() {
        let mut w = World::new();
        w.ada_commits("a.txt", None, &[b"one"]);
        let since = latest(&w, ADA);
        w.ada_commits("a.txt", Some(1), &[b"two"]);
        assert_eq!(trash_unchanged(&mut w, "a.txt", ADA, since), changed("a.txt", since));
        // Listed again, it may go.
        let again = latest(&w, ADA);
        assert!(matches!(trash_unchanged(&mut w, "a.txt", ADA, again), Response::Trashed { .. }));
    }

    #[test]
    fn a_folder_with_anything_new_below_it_stays() {
        let mut w = World::new();
        w.ada_commits("docs/old.txt", None, &[b"one"]);
        let since = latest(&w, ADA);
        w.ada_commits("docs/deep/new.txt", None, &[b"two"]);
        assert_eq!(trash_unchanged(&mut w, "docs", ADA, since), changed("docs", since));

        // A file moved in from elsewhere is new there too.
        let since = latest(&w, ADA);
        w.ada_commits("elsewhere.txt", None, &[b"one"]);
        let mv = Command::Move {
            namespace: ADA_DRIVE,
            from: path("elsewhere.txt"),
            to: path("docs/e.txt"),
            user: ADA,
        };
        assert!(matches!(w.run(mv), Response::Moved { .. }));
        assert_eq!(trash_unchanged(&mut w, "docs", ADA, since), changed("docs", since));

        // A move out of it is not.
        let since = latest(&w, ADA);
        let mv =
            Command::Move { namespace: ADA_DRIVE, from: path("docs/e.txt"), to: path("e.txt"), user: ADA };
        assert!(matches!(w.run(mv), Response::Moved { .. }));
        assert!(matches!(trash_unchanged(&mut w, "docs", ADA, since), Response::FolderTrashed { .. }));
        assert!(crate::model::drive::stat(&w.state, ADA_DRIVE, &path("e.txt")).unwrap().is_some());
    }

    #[test]
    fn a_folder_that_replaced_a_parent_counts() {
        let mut w = World::new();
        w.ada_commits("a/b/old.txt", None, &[b"one"]);
        w.ada_commits("c/b/other.txt", None, &[b"two"]);
        let since = latest(&w, ADA);
        // Another device swaps a whole folder in above the path.
        w.run(Command::Move { namespace: ADA_DRIVE, from: path("a"), to: path("z"), user: ADA });
        w.run(Command::Move { namespace: ADA_DRIVE, from: path("c"), to: path("a"), user: ADA });
        assert_eq!(trash_unchanged(&mut w, "a/b", ADA, since), changed("a/b", since));
    }

    #[test]
    fn an_upload_beginning_below_counts() {
        let mut w = World::new();
        w.ada_commits("docs/a.txt", None, &[b"one"]);
        let since = latest(&w, ADA);
        let new = new_upload(UploadId(7), "docs/big.bin", 1 << 30, w.now + 60_000);
        assert_eq!(w.run(Command::BeginUpload(new)), Response::UploadBegun);
        assert_eq!(trash_unchanged(&mut w, "docs", ADA, since), changed("docs", since));
    }

    #[test]
    fn a_share_recipient_is_held_back_by_the_owners_edit() {
        let mut w = World::new();
        w.ada_commits("team/a.txt", None, &[b"one"]);
        let share = Command::Share {
            namespace: ADA_DRIVE,
            path: path("team"),
            with: BOB,
            role: ShareRole::ReadWrite,
            by: ADA,
        };
        assert_eq!(w.run(share), Response::Shared);
        let since = latest(&w, BOB);
        w.ada_commits("team/a.txt", Some(1), &[b"two"]);
        assert_eq!(trash_unchanged(&mut w, "team/a.txt", BOB, since), changed("team/a.txt", since));
        let file = crate::model::drive::stat(&w.state, ADA_DRIVE, &path("team/a.txt")).unwrap();
        assert!(matches!(file, Some((_, Some(f))) if f.status == FileStatus::Complete && f.head == 2));
    }

    #[test]
    fn an_expired_or_foreign_cursor_is_refused() {
        let mut w = World::new();
        w.ada_commits("a.txt", None, &[b"one"]);
        let past = latest(&w, ADA) + 5;
        assert!(matches!(
            trash_unchanged(&mut w, "a.txt", ADA, past),
            Response::Rejected(Rejection::CursorExpired { .. })
        ));
    }

    #[test]
    fn a_cursor_too_far_behind_is_refused_like_a_change() {
        let mut w = World::new();
        w.ada_commits("keep.txt", None, &[b"one"]);
        let since = latest(&w, ADA);
        for i in 0..=MAX_CHECKED_CHANGES {
            w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path(&format!("f{i}")), user: ADA });
        }
        assert_eq!(trash_unchanged(&mut w, "keep.txt", ADA, since), changed("keep.txt", since));
    }
}
