//! Commands on whole subtrees: moving (renaming) a file or folder, and trashing a folder.
//!
//! Both change every entry below a folder in one log entry, so both are bounded by
//! [`MAX_MOVE_ENTRIES`]: a bigger folder is refused rather than making one log entry, and one
//! apply on every replica, arbitrarily large. A client moves or trashes a bigger folder piece
//! by piece.
//!
//! Folder links follow their folder: a move carries them along, as it carries shares, and
//! trashing a folder deletes them (file links name the file's id and need nothing here). Open
//! upload sessions name a path, not a file, and are not followed: an upload that finishes after
//! its folder moved commits at its old path (recreating the folders on the way).

use std::collections::BTreeSet;

use cairn_proto::DrivePath;
use cairn_proto::drive_path::MAX_PATH_LEN;

use super::commit;
use super::drive::{self, EntryKind, FileRecord, FileStatus};
use super::ids::{NamespaceId, UserId};
use super::journal::{self, ChangeKind};
use super::links;
use super::shares::{self, ShareRecord};
use super::trash;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// The most entries (files and folders, at any depth) below a folder that one move or one
/// folder trash handles; the same bound holds for the shares of paths below it.
pub const MAX_MOVE_ENTRIES: usize = 10_000;

fn too_large(what: String) -> Rejection {
    Rejection::TooLarge { what, limit: MAX_MOVE_ENTRIES as u64 }
}

/// `path`, which is `from` or below it, as it is once `from` has moved to `to` (neither of
/// which is the root). Only the length can make it invalid: its components are all valid.
fn rebase(path: &DrivePath, from: &DrivePath, to: &DrivePath) -> Result<DrivePath, Rejection> {
    let rest = path.as_str().get(from.as_str().len()..).unwrap_or_default();
    let moved = format!("{}{rest}", to.as_str());
    DrivePath::from_stored(&moved).map_err(|_| Rejection::InvalidName {
        name: moved.chars().take(200).collect(),
        reason: format!("the path would be longer than {MAX_PATH_LEN} bytes once moved"),
    })
}

pub(super) fn move_path<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    from: &DrivePath,
    to: &DrivePath,
    user: UserId,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    // A folder moved into itself would be cut off from the tree. The root is refused here too:
    // every path is inside it.
    if to.starts_with(from) {
        return reject(Rejection::MoveIntoItself { from: from.clone(), to: to.clone() });
    }
    let owner = match commit::writable(txn, namespace, from, user)? {
        Ok(owner) => owner,
        Err(rejection) => return reject(rejection),
    };
    let Some((to_parent, _)) = to.split_last() else {
        // The root always exists.
        return reject(Rejection::Exists(to.clone()));
    };
    if let Err(rejection) = commit::writable(txn, namespace, &to_parent, user)? {
        return reject(rejection);
    }
    let Some((entry, _)) = drive::stat(txn, namespace, from)? else {
        return reject(Rejection::NotFound(from.clone()));
    };
    if drive::stat(txn, namespace, to)?.is_some() {
        return reject(Rejection::Exists(to.clone()));
    }

    // Every entry that moves, with its old and new path. Every refusal comes before the first
    // write: a rejected command must leave the state as it was.
    let mut moves = vec![(from.clone(), to.clone(), entry.clone())];
    if entry.kind == EntryKind::Folder {
        let below = drive::below(txn, namespace, from, MAX_MOVE_ENTRIES + 1)?;
        if below.len() > MAX_MOVE_ENTRIES {
            return reject(too_large(format!("the entries under {from}")));
        }
        for (old, entry) in below {
            let new = match rebase(&old, from, to) {
                Ok(new) => new,
                Err(rejection) => return reject(rejection),
            };
            // `to` does not exist, but the files of a trashed folder keep their entries below
            // its vanished path, and one of them may be where a moved entry would land.
            if txn.get_raw(Space::Entries, &drive::entry_key(namespace, &new))?.is_some() {
                return reject(Rejection::Exists(new));
            }
            moves.push((old, new, entry));
        }
    }
    let shares = shares::shares_below(txn, namespace, from, MAX_MOVE_ENTRIES + 1)?;
    if shares.len() > MAX_MOVE_ENTRIES {
        return reject(too_large(format!("the shares of {from} and below")));
    }
    let mut share_moves = Vec::with_capacity(shares.len());
    for share in shares {
        match rebase(&share.path, from, to) {
            Ok(new) => share_moves.push((share, new)),
            Err(rejection) => return reject(rejection),
        }
    }
    let folder_links = links::folder_links_below(txn, namespace, from, MAX_MOVE_ENTRIES + 1)?;
    if folder_links.len() > MAX_MOVE_ENTRIES {
        return reject(too_large(format!("the links on {from} and below")));
    }
    let mut link_moves = Vec::with_capacity(folder_links.len());
    for (folder, link) in folder_links {
        match rebase(&folder, from, to) {
            Ok(new) => link_moves.push((link, new)),
            Err(rejection) => return reject(rejection),
        }
    }
    // Who could see the moved things before; who sees them after is known once shares moved.
    let saw = shares::audience(txn, owner, namespace, from)?;
    if let Err(rejection) = commit::ensure_folders(txn, time_ms, namespace, owner, &to_parent)? {
        return reject(rejection);
    }

    // Deletes first: an entry may land where another one left.
    for (old, _, _) in &moves {
        txn.delete(Space::Entries, &drive::entry_key(namespace, old));
    }
    for (_, new, entry) in &moves {
        txn.put(Space::Entries, &drive::entry_key(namespace, new), entry);
        let EntryKind::File(id) = entry.kind else { continue };
        if let Some(mut file) = txn.get::<FileRecord>(Space::Files, &id.0.to_be_bytes())? {
            file.path = new.clone();
            txn.put(Space::Files, &id.0.to_be_bytes(), &file);
            if file.status == FileStatus::Trashed {
                trash::retarget(txn, namespace, id, new)?;
            }
        }
    }
    // Shares too: a share keeps its role and creation time under its new path.
    for (share, _) in &share_moves {
        shares::remove_record(txn, share);
    }
    for (share, new) in &share_moves {
        shares::put_record(txn, &ShareRecord { path: new.clone(), ..share.clone() });
    }
    for (link, new) in &link_moves {
        links::follow_folder(txn, *link, new)?;
    }
    let sees = shares::audience(txn, owner, namespace, to)?;
    let inside: BTreeSet<UserId> = share_moves.iter().map(|(share, _)| share.user).collect();

    // Each user hears of the move as far as they can see it, and learns no path they cannot
    // see. Recipients of shares below `from` get the move itself: their share roots moved, and
    // both paths are above what they were given, which names them anyway.
    let file = match entry.kind {
        EntryKind::File(id) => Some(id),
        EntryKind::Folder => None,
    };
    let mut mover_seq = None;
    for who in saw.union(&sees).chain(&inside).copied().collect::<BTreeSet<_>>() {
        let (path, kind) = if inside.contains(&who) || (saw.contains(&who) && sees.contains(&who)) {
            (to, ChangeKind::Moved { from: from.clone() })
        } else if saw.contains(&who) {
            (from, ChangeKind::MovedOut)
        } else {
            (to, ChangeKind::MovedIn)
        };
        let seq = journal::record(txn, who, time_ms, namespace, path, file, kind)?;
        if who == user {
            mover_seq = Some(seq);
        }
    }
    // The mover may write at `from` and at `to`'s parent, so sees both and is always among the
    // users above; the default is never taken.
    Ok(Response::Moved { seq: mover_seq.unwrap_or_default() })
}

/// Trashes every file below `folder` that is not in the trash yet, and removes `folder` and
/// every folder below it. The files keep their entries, as trashed files do, so a restore or
/// a purge finds them by path; a restore recreates the folders its file needs.
pub(super) fn trash_folder<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    namespace: NamespaceId,
    folder: &DrivePath,
    user: UserId,
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    let owner = match commit::writable(txn, namespace, folder, user)? {
        Ok(owner) => owner,
        Err(rejection) => return reject(rejection),
    };
    let below = drive::below(txn, namespace, folder, MAX_MOVE_ENTRIES + 1)?;
    if below.len() > MAX_MOVE_ENTRIES {
        return reject(too_large(format!("the entries under {folder}")));
    }
    // Recipients of shares below the folder lose what they were given, so they hear of it too.
    let shares = shares::shares_below(txn, namespace, folder, MAX_MOVE_ENTRIES + 1)?;
    if shares.len() > MAX_MOVE_ENTRIES {
        return reject(too_large(format!("the shares of {folder} and below")));
    }
    let mut audience = shares::audience(txn, owner, namespace, folder)?;
    audience.extend(shares.iter().map(|share| share.user));
    // Links on the folder or below it end with it: a folder made later at the same path is not
    // what they published.
    let folder_links = links::folder_links_below(txn, namespace, folder, MAX_MOVE_ENTRIES + 1)?;
    if folder_links.len() > MAX_MOVE_ENTRIES {
        return reject(too_large(format!("the links on {folder} and below")));
    }
    for (_, link) in folder_links {
        links::drop_link(txn, link)?;
    }

    let mut files = 0;
    for (path, entry) in &below {
        match entry.kind {
            EntryKind::Folder => txn.delete(Space::Entries, &drive::entry_key(namespace, path)),
            EntryKind::File(id) => {
                if let Some(mut file) = txn.get::<FileRecord>(Space::Files, &id.0.to_be_bytes())?
                    && file.status != FileStatus::Trashed
                {
                    trash::put_in_trash(txn, time_ms, &mut file, user);
                    files += 1;
                }
            }
        }
    }
    txn.delete(Space::Entries, &drive::entry_key(namespace, folder));

    // One change for the folder, not one per file: it tells a client everything below is gone
    // (which it must act on anyway, for the folders), and keeps the journal writes of one
    // command at one per user instead of up to MAX_MOVE_ENTRIES per user.
    let mut caller_seq = None;
    for who in audience {
        let kind = ChangeKind::FolderTrashed { files };
        let seq = journal::record(txn, who, time_ms, namespace, folder, None, kind)?;
        if who == user {
            caller_seq = Some(seq);
        }
    }
    // The caller may write at the folder, so is in its audience; the default is never taken.
    Ok(Response::FolderTrashed { files, seq: caller_seq.unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::drive::{EntryRecord, list, stat, versions};
    use crate::model::ids::FileId;
    use crate::model::journal::{Change, changes_after};
    use crate::model::shares::{Access, ShareRole, access, given, received};
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, State, World, path};
    use crate::model::trash::trash_list;
    use crate::model::{Command, txn_decode};

    const CAROL: UserId = UserId(3);

    fn mv(from: &str, to: &str, user: UserId) -> Command {
        Command::Move { namespace: ADA_DRIVE, from: path(from), to: path(to), user }
    }

    fn trash(p: &str, user: UserId) -> Command {
        Command::Trash { namespace: ADA_DRIVE, path: path(p), user }
    }

    fn kind(w: &World, p: &str) -> Option<EntryKind> {
        stat(&w.state, ADA_DRIVE, &path(p)).unwrap().map(|(entry, _)| entry.kind)
    }

    fn file(w: &World, id: FileId) -> FileRecord {
        txn_decode(Space::Files, &w.state[&(Space::Files, id.0.to_be_bytes().to_vec())]).unwrap()
    }

    /// The id of the file at `p`.
    fn file_at(w: &World, p: &str) -> FileId {
        match kind(w, p) {
            Some(EntryKind::File(id)) => id,
            other => panic!("{p}: {other:?}"),
        }
    }

    fn names(w: &World, folder: &str) -> Vec<String> {
        list(&w.state, ADA_DRIVE, &path(folder), None, 100).unwrap().into_iter().map(|(n, _)| n).collect()
    }

    fn journal(w: &World, user: UserId) -> Vec<Change> {
        changes_after(&w.state, user, 0, 100_000).unwrap()
    }

    /// The state without the request records a rejected command still leaves.
    fn durable(w: &World) -> State {
        w.state
            .iter()
            .filter(|((space, _), _)| !matches!(space, Space::Requests | Space::Expiries))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Ada shares "team" with Bob as an editor and "team/sub" with Carol as a viewer.
    fn shared_world() -> World {
        let mut w = World::new();
        w.run(Command::CreateUser { name: "carol".into() });
        w.ada_commits("team/plan.txt", None, &[b"one"]);
        w.ada_commits("team/sub/notes.txt", None, &[b"two"]);
        w.ada_commits("private/diary.txt", None, &[b"three"]);
        for (p, with, role) in [("team", BOB, ShareRole::ReadWrite), ("team/sub", CAROL, ShareRole::Read)] {
            let share = Command::Share { namespace: ADA_DRIVE, path: path(p), with, role, by: ADA };
            assert_eq!(w.run(share), Response::Shared);
        }
        w
    }

    /// `n` empty folders written straight into the state: far quicker than `n` commands.
    fn many_folders(w: &mut World, under: &str, n: usize) {
        let mut txn = Txn::new(&w.state);
        for i in 0..n {
            let key = drive::entry_key(ADA_DRIVE, &path(&format!("{under}/f{i:05}")));
            txn.put(Space::Entries, &key, &EntryRecord { kind: EntryKind::Folder, created_ms: 0 });
        }
        let writes: Vec<_> = txn.into_writes().collect();
        for ((space, key), value) in writes {
            w.state.insert((space, key), value.unwrap());
        }
    }

    #[test]
    fn a_file_is_renamed_into_a_new_folder_keeping_its_id_and_history() {
        let mut w = World::new();
        let id = w.ada_commits("a.txt", None, &[b"one"]);
        w.ada_commits("a.txt", Some(1), &[b"two"]);
        let Response::Moved { seq } = w.run(mv("a.txt", "docs/b.txt", ADA)) else { panic!() };
        assert_eq!(kind(&w, "a.txt"), None);
        assert_eq!(kind(&w, "docs"), Some(EntryKind::Folder));
        assert_eq!(kind(&w, "docs/b.txt"), Some(EntryKind::File(id)));
        assert_eq!(file(&w, id).path, path("docs/b.txt"));
        assert_eq!(versions(&w.state, id, 10).unwrap().len(), 2);
        // The missing folder is announced first, then the move, whose number the mover got.
        let changes = journal(&w, ADA);
        let [.., created, moved] = changes.as_slice() else { panic!() };
        assert_eq!((created.path.clone(), created.kind.clone()), (path("docs"), ChangeKind::FolderCreated));
        assert_eq!(moved.kind, ChangeKind::Moved { from: path("a.txt") });
        assert_eq!((moved.path.clone(), moved.file, moved.seq), (path("docs/b.txt"), Some(id), seq));
        // The file commits on at its new path.
        assert!(matches!(
            w.commit("docs/b.txt", Some(2), &[b"three"]),
            Response::Committed { version: 3, .. }
        ));
    }

    #[test]
    fn a_folder_moves_with_everything_below_it_including_trashed_files() {
        let mut w = World::new();
        let a = w.ada_commits("photos/2024/a.jpg", None, &[b"one"]);
        let c = w.ada_commits("photos/c.jpg", None, &[b"two"]);
        let old = w.ada_commits("photos/2024/old.jpg", None, &[b"three"]);
        w.run(trash("photos/2024/old.jpg", ADA));
        // Neighbours whose names start like the folder's stay where they are.
        let x = w.ada_commits("photos-x/x.jpg", None, &[b"one"]);
        let y = w.ada_commits("photos2", None, &[b"one"]);

        assert!(matches!(w.run(mv("photos", "archive/pics", ADA)), Response::Moved { .. }));
        assert_eq!(kind(&w, "photos"), None);
        assert_eq!(names(&w, "photos"), Vec::<String>::new());
        assert_eq!(names(&w, "photos/2024"), Vec::<String>::new());
        assert_eq!(names(&w, "archive/pics"), ["2024", "c.jpg"]);
        assert_eq!(names(&w, "archive/pics/2024"), ["a.jpg", "old.jpg"]);
        assert_eq!(file(&w, a).path, path("archive/pics/2024/a.jpg"));
        assert_eq!(file(&w, c).path, path("archive/pics/c.jpg"));
        let trashed = file(&w, old);
        assert_eq!((trashed.path, trashed.status), (path("archive/pics/2024/old.jpg"), FileStatus::Trashed));
        assert_eq!(
            trash_list(&w.state, ADA_DRIVE, None, 10).unwrap()[0].path,
            path("archive/pics/2024/old.jpg")
        );
        assert_eq!((file(&w, x).path, file(&w, y).path), (path("photos-x/x.jpg"), path("photos2")));
        assert_eq!(names(&w, ""), ["archive", "photos-x", "photos2"]);
        // One change for the whole folder, without a file id.
        let moved = journal(&w, ADA).pop().unwrap();
        assert_eq!((moved.path, moved.file), (path("archive/pics"), None));
        assert_eq!(moved.kind, ChangeKind::Moved { from: path("photos") });
        // The trashed file is restored at its new place.
        let restore =
            Command::Restore { namespace: ADA_DRIVE, path: path("archive/pics/2024/old.jpg"), user: ADA };
        assert!(matches!(w.run(restore), Response::Restored { .. }));
    }

    #[test]
    fn bad_moves_are_refused_and_change_nothing() {
        let mut w = shared_world();
        w.ada_commits("file", None, &[b"one"]);
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("empty"), user: ADA });
        let before = durable(&w);
        let cases = [
            (mv("nope", "x", ADA), Rejection::NotFound(path("nope"))),
            (mv("", "x", ADA), Rejection::MoveIntoItself { from: path(""), to: path("x") }),
            (
                mv("team", "team/sub/team", ADA),
                Rejection::MoveIntoItself { from: path("team"), to: path("team/sub/team") },
            ),
            (mv("team", "team", ADA), Rejection::MoveIntoItself { from: path("team"), to: path("team") }),
            (mv("team", "private", ADA), Rejection::Exists(path("private"))),
            (mv("team/plan.txt", "", ADA), Rejection::Exists(path(""))),
            (mv("team", "file/team", ADA), Rejection::NotAFolder(path("file"))),
            (mv("team", "file/deeper/team", ADA), Rejection::NotAFolder(path("file"))),
            // Bob edits inside "team" only; Carol only views "team/sub"; neither owns the rest.
            (mv("team/plan.txt", "plan.txt", BOB), Rejection::Forbidden),
            (mv("private/diary.txt", "team/diary.txt", BOB), Rejection::Forbidden),
            (mv("team", "team2", BOB), Rejection::Forbidden),
            (mv("team/sub/notes.txt", "team/sub/n.txt", CAROL), Rejection::Forbidden),
            (
                Command::Move { namespace: NamespaceId(99), from: path("a"), to: path("b"), user: ADA },
                Rejection::NoSuchNamespace(NamespaceId(99)),
            ),
        ];
        for (command, rejection) in cases {
            assert_eq!(w.run(command.clone()), Response::Rejected(rejection), "{command:?}");
        }
        assert_eq!(durable(&w), before);
    }

    #[test]
    fn paths_that_would_grow_too_long_are_refused() {
        let mut w = World::new();
        // The folder moves to a path of 4015 bytes, where its file's path would be 4116.
        let long = format!("{}/{}", "d".repeat(200), "f".repeat(100));
        w.ada_commits(&long, None, &[b"one"]);
        let deep = vec!["x".repeat(250); 16].join("/");
        let before = durable(&w);
        let Response::Rejected(Rejection::InvalidName { reason, .. }) =
            w.run(mv(&"d".repeat(200), &deep, ADA))
        else {
            panic!()
        };
        assert!(reason.contains("4096"), "{reason}");
        assert_eq!(durable(&w), before);
    }

    #[test]
    fn an_editor_moves_within_the_share_and_gets_their_own_sequence_number() {
        let mut w = shared_world();
        let Response::Moved { seq } = w.run(mv("team/plan.txt", "team/sub/plan.txt", BOB)) else { panic!() };
        let bob = journal(&w, BOB).pop().unwrap();
        assert_eq!((bob.seq, bob.kind), (seq, ChangeKind::Moved { from: path("team/plan.txt") }));
        assert_ne!(journal(&w, ADA).pop().unwrap().seq, seq);
        assert_eq!(journal(&w, ADA).pop().unwrap().kind, ChangeKind::Moved { from: path("team/plan.txt") });
        // Carol sees only where it went, so to her the file arrived.
        let carol = journal(&w, CAROL).pop().unwrap();
        assert_eq!((carol.path, carol.kind), (path("team/sub/plan.txt"), ChangeKind::MovedIn));
    }

    #[test]
    fn each_user_hears_of_a_move_as_far_as_they_can_see_it() {
        let mut w = shared_world();
        let Response::Committed { file: diary, .. } = w.commit("private/diary.txt", Some(1), &[b"one"])
        else {
            panic!()
        };
        let bob_before = journal(&w, BOB).len();
        w.run(mv("team/plan.txt", "private/plan.txt", ADA));
        w.run(mv("private/diary.txt", "team/diary.txt", ADA));
        w.run(mv("private", "private2", ADA));
        let bob: Vec<_> = journal(&w, BOB).into_iter().skip(bob_before).collect();
        // Out of sight: told where it was, not where it went. Into sight: told where it is,
        // not where it was. Bob hears nothing of the move he cannot see at all.
        assert_eq!(bob.len(), 2);
        assert_eq!((bob[0].path.clone(), bob[0].kind.clone()), (path("team/plan.txt"), ChangeKind::MovedOut));
        assert_eq!(
            (bob[1].path.clone(), bob[1].kind.clone(), bob[1].file),
            (path("team/diary.txt"), ChangeKind::MovedIn, Some(diary))
        );
        assert_eq!(
            access(&w.state, ADA_DRIVE, &path("team/diary.txt"), BOB).unwrap(),
            Some(Access::ReadWrite)
        );
        // The owner sees everything as moves.
        let ada = journal(&w, ADA);
        assert!(ada.iter().rev().take(3).all(|c| matches!(c.kind, ChangeKind::Moved { .. })));
    }

    #[test]
    fn shares_move_with_the_folder_and_their_recipients_hear_of_it() {
        let mut w = shared_world();
        assert!(matches!(w.run(mv("team", "crew", ADA)), Response::Moved { .. }));
        let shares: Vec<_> = given(&w.state, ADA_DRIVE, None, 10)
            .unwrap()
            .into_iter()
            .map(|s| (s.path, s.user, s.role))
            .collect();
        assert_eq!(
            shares,
            [(path("crew"), BOB, ShareRole::ReadWrite), (path("crew/sub"), CAROL, ShareRole::Read)]
        );
        assert_eq!(received(&w.state, BOB, None, 10).unwrap()[0].path, path("crew"));
        assert_eq!(received(&w.state, CAROL, None, 10).unwrap()[0].path, path("crew/sub"));
        assert_eq!(access(&w.state, ADA_DRIVE, &path("team"), BOB).unwrap(), None);
        assert_eq!(
            access(&w.state, ADA_DRIVE, &path("crew/sub/notes.txt"), CAROL).unwrap(),
            Some(Access::Read)
        );
        // Bob still edits the folder under its new name.
        assert!(matches!(
            w.commit_as(BOB, ADA_DRIVE, "crew/plan.txt", Some(1), &[b"two"]),
            Response::Committed { version: 2, .. }
        ));
        // Carol's share root moved: she is told the move of the folder above it.
        let moved = ChangeKind::Moved { from: path("team") };
        for user in [ADA, BOB, CAROL] {
            assert!(journal(&w, user).iter().any(|c| c.path == path("crew") && c.kind == moved), "{user}");
        }
    }

    #[test]
    fn a_move_may_not_land_on_a_trashed_folders_leftover_file() {
        let mut w = World::new();
        w.ada_commits("old/a.txt", None, &[b"one"]);
        w.ada_commits("new/a.txt", None, &[b"two"]);
        w.ada_commits("new/b.txt", None, &[b"two"]);
        w.run(trash("old", ADA));
        assert_eq!(kind(&w, "old"), None);
        let before = durable(&w);
        assert_eq!(w.run(mv("new", "old", ADA)), Response::Rejected(Rejection::Exists(path("old/a.txt"))));
        assert_eq!(durable(&w), before);
        // Once the trashed file is purged, the move goes through.
        w.run(Command::Purge { namespace: ADA_DRIVE, path: path("old/a.txt"), user: ADA });
        assert!(matches!(w.run(mv("new", "old", ADA)), Response::Moved { .. }));
        assert_eq!(names(&w, "old"), ["a.txt", "b.txt"]);
    }

    #[test]
    fn moves_and_folder_trashes_are_bounded() {
        let mut w = World::new();
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("big"), user: ADA });
        many_folders(&mut w, "big", MAX_MOVE_ENTRIES);
        assert!(matches!(w.run(mv("big", "huge", ADA)), Response::Moved { .. }));
        assert_eq!(
            list(&w.state, ADA_DRIVE, &path("huge"), None, MAX_MOVE_ENTRIES + 1).unwrap().len(),
            MAX_MOVE_ENTRIES
        );
        w.ada_commits("huge/one-more.txt", None, &[b"one"]);
        let before = durable(&w);
        let too_large = |what: &str| {
            Response::Rejected(Rejection::TooLarge { what: what.into(), limit: MAX_MOVE_ENTRIES as u64 })
        };
        assert_eq!(w.run(mv("huge", "big", ADA)), too_large("the entries under /huge"));
        assert_eq!(w.run(trash("huge", ADA)), too_large("the entries under /huge"));
        assert_eq!(durable(&w), before);
    }

    #[test]
    fn trashing_a_folder_trashes_its_files_and_removes_its_folders() {
        let mut w = shared_world();
        let plan = w.ada_commits("team/plan.txt", Some(1), &[b"two"]);
        let notes = w.ada_commits("team/sub/notes.txt", Some(1), &[b"one"]);
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("team/sub/empty"), user: ADA });
        let old = w.ada_commits("team/old.txt", None, &[b"one"]);
        w.run(trash("team/old.txt", ADA));
        w.ada_commits("teamwork/keep.txt", None, &[b"one"]);

        // Bob, an editor of the folder, trashes it.
        let Response::FolderTrashed { files: 2, seq } = w.run(trash("team", BOB)) else { panic!() };
        for gone in ["team", "team/sub", "team/sub/empty"] {
            assert_eq!(kind(&w, gone), None, "{gone}");
        }
        for id in [plan, notes, old] {
            assert_eq!(file(&w, id).status, FileStatus::Trashed);
        }
        let mut in_trash: Vec<_> =
            trash_list(&w.state, ADA_DRIVE, None, 10).unwrap().into_iter().map(|t| t.path).collect();
        in_trash.sort();
        assert_eq!(in_trash, [path("team/old.txt"), path("team/plan.txt"), path("team/sub/notes.txt")]);
        assert_eq!(file(&w, file_at(&w, "teamwork/keep.txt")).status, FileStatus::Complete);
        // One change for the folder reaches the owner, the editor (whose number it answered)
        // and the viewer of a folder below it.
        let trashed = ChangeKind::FolderTrashed { files: 2 };
        for user in [ADA, BOB, CAROL] {
            let last = journal(&w, user).pop().unwrap();
            assert_eq!((last.path, last.file, last.kind), (path("team"), None, trashed.clone()), "{user}");
        }
        assert_eq!(journal(&w, BOB).pop().unwrap().seq, seq);

        // A restore brings back the folders its file needs.
        let ada_before = journal(&w, ADA).len();
        let restore = Command::Restore { namespace: ADA_DRIVE, path: path("team/sub/notes.txt"), user: ADA };
        assert!(matches!(w.run(restore), Response::Restored { .. }));
        assert_eq!(
            (kind(&w, "team"), kind(&w, "team/sub")),
            (Some(EntryKind::Folder), Some(EntryKind::Folder))
        );
        assert_eq!(file(&w, notes).status, FileStatus::Complete);
        let kinds: Vec<_> = journal(&w, ADA).into_iter().skip(ada_before).map(|c| (c.path, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                (path("team"), ChangeKind::FolderCreated),
                (path("team/sub"), ChangeKind::FolderCreated),
                (path("team/sub/notes.txt"), ChangeKind::Restored { status: FileStatus::Complete }),
            ]
        );
        // The others are purged from where they are.
        let purge = Command::Purge { namespace: ADA_DRIVE, path: path("team/plan.txt"), user: ADA };
        assert!(matches!(w.run(purge), Response::Purged { .. }));
    }

    #[test]
    fn folder_trash_needs_write_access_and_a_restore_needs_room() {
        let mut w = shared_world();
        let before = durable(&w);
        assert_eq!(w.run(trash("team/sub", CAROL)), Response::Rejected(Rejection::Forbidden));
        assert_eq!(w.run(trash("private", BOB)), Response::Rejected(Rejection::Forbidden));
        assert_eq!(durable(&w), before);

        w.run(trash("private", ADA));
        // A file took the trashed folder's name: restoring what was in it is refused.
        w.ada_commits("private", None, &[b"one"]);
        let before = durable(&w);
        let restore = Command::Restore { namespace: ADA_DRIVE, path: path("private/diary.txt"), user: ADA };
        assert_eq!(w.run(restore), Response::Rejected(Rejection::NotAFolder(path("private"))));
        assert_eq!(durable(&w), before);
    }

    #[test]
    fn an_empty_folder_is_trashed_as_nothing_but_itself() {
        let mut w = World::new();
        w.run(Command::MakeFolder { namespace: ADA_DRIVE, path: path("a/b"), user: ADA });
        assert!(matches!(w.run(trash("a", ADA)), Response::FolderTrashed { files: 0, .. }));
        assert_eq!(names(&w, ""), Vec::<String>::new());
        assert!(trash_list(&w.state, ADA_DRIVE, None, 10).unwrap().is_empty());
    }
}
