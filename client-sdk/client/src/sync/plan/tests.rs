//! The planner's rules, case by case: one test per row of the table in [`super`], plus folder
//! deletes, type changes, renames and held paths (links, mount points, names that cannot be
//! here). The model-based properties are in `plan_model.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::plan;
use crate::sync::action::{Action, Plan, Waiting};
use crate::sync::tree::{
    Base, BaseFile, BaseTree, FileMeta, Held, Hold, Local, LocalFile, LocalTree, Remote, RemoteFile,
    RemoteTree, unseen,
};

fn lf(content: u8, inode: u64) -> LocalFile {
    LocalFile { meta: FileMeta { size: 1, mtime_ns: i64::from(content), inode }, hash: [content; 32] }
}

fn rf(id: u64, version: u64) -> RemoteFile {
    RemoteFile { id, version, size: 1 }
}

fn bf(content: u8, id: u64, version: u64) -> Base {
    Base::File(BaseFile { remote: rf(id, version), meta: lf(content, id).meta, hash: [content; 32] })
}

/// Three trees from lists; `d` marks a folder.
#[derive(Default)]
struct Case {
    local: LocalTree,
    remote: RemoteTree,
    base: BaseTree,
    held: Held,
}

impl Case {
    fn folder(mut self, path: &str, l: bool, r: bool, b: bool) -> Self {
        if l {
            self.local.insert(path.into(), Local::Folder);
        }
        if r {
            self.remote.insert(path.into(), Remote::Folder);
        }
        if b {
            self.base.insert(path.into(), Base::Folder);
        }
        self
    }

    /// A file synced as content `c`, id `id`, version 1, on all three.
    fn synced(mut self, path: &str, c: u8, id: u64) -> Self {
        self.local.insert(path.into(), Local::File(lf(c, id)));
        self.remote.insert(path.into(), Remote::File(rf(id, 1)));
        self.base.insert(path.into(), bf(c, id, 1));
        self
    }

    fn local(mut self, path: &str, f: Option<LocalFile>) -> Self {
        match f {
            Some(f) => self.local.insert(path.into(), Local::File(f)),
            None => self.local.remove(path),
        };
        self
    }

    fn remote(mut self, path: &str, f: Option<RemoteFile>) -> Self {
        match f {
            Some(f) => self.remote.insert(path.into(), Remote::File(f)),
            None => self.remote.remove(path),
        };
        self
    }

    /// Leaves `path` alone, as the scans do for a link, a mount point or a refused name.
    fn hold(mut self, path: &str) -> Self {
        let hold = Hold { shown: path.replace('\0', "?"), reason: "held".into() };
        self.held.insert(path.into(), hold);
        self
    }

    fn whole(&self) -> Plan {
        plan(&self.local, &self.remote, &self.base, &self.held)
    }

    fn plan(&self) -> Vec<Action> {
        self.whole().actions
    }
}

#[test]
fn identical_trees_need_nothing() {
    let case = Case::default().folder("a", true, true, true).synced("a/x", 1, 1).synced("y", 2, 2);
    assert!(case.whole().is_empty());
}

#[test]
fn a_touched_file_only_records_its_new_metadata() {
    let mut touched = lf(1, 1);
    touched.meta.mtime_ns = 99;
    let case = Case::default().synced("x", 1, 1).local("x", Some(touched));
    let Base::File(synced) = bf(1, 1, 1) else { unreachable!() };
    let base = Base::File(BaseFile { meta: touched.meta, ..synced });
    assert_eq!(case.plan(), [Action::Record { path: "x".into(), base }]);
}

#[test]
fn one_sided_changes_travel_to_the_other_side() {
    // New on one side.
    let case = Case::default().local("n", Some(lf(5, 9))).remote("m", Some(rf(7, 1)));
    assert_eq!(
        case.plan(),
        [
            Action::Download { path: "m".into(), remote: rf(7, 1), replace: None },
            Action::Upload { path: "n".into(), local: lf(5, 9), base: None },
        ]
    );
    // Edited on one side.
    let case = Case::default()
        .synced("x", 1, 1)
        .synced("y", 2, 2)
        .local("x", Some(lf(3, 1)))
        .remote("y", Some(rf(2, 2)));
    assert_eq!(
        case.plan(),
        [
            Action::Upload { path: "x".into(), local: lf(3, 1), base: Some(1) },
            Action::Download { path: "y".into(), remote: rf(2, 2), replace: Some(lf(2, 2)) },
        ]
    );
    // Deleted on one side.
    let case = Case::default().synced("x", 1, 1).synced("y", 2, 2).local("x", None).remote("y", None);
    assert_eq!(
        case.plan(),
        [
            Action::DeleteLocalFile { path: "y".into(), local: lf(2, 2) },
            Action::DeleteRemoteFile { path: "x".into(), remote: rf(1, 1) },
        ]
    );
}

#[test]
fn both_sides_changed() {
    // Two edits: a conflict (the executor checks whether they are the same content).
    let case = Case::default().synced("x", 1, 1).local("x", Some(lf(2, 1))).remote("x", Some(rf(1, 2)));
    assert_eq!(
        case.plan(),
        [Action::Conflict { path: "x".into(), local: Local::File(lf(2, 1)), remote: Remote::File(rf(1, 2)) }]
    );
    // Created on both sides with no base: the same.
    let case = Case::default().local("x", Some(lf(2, 1))).remote("x", Some(rf(4, 1)));
    assert!(matches!(case.plan().as_slice(), [Action::Conflict { .. }]));
    // Edit against delete: the edit wins, on either side.
    let case =
        Case::default().synced("x", 1, 1).synced("y", 2, 2).local("x", Some(lf(3, 1))).remote("x", None);
    let case = case.local("y", None).remote("y", Some(rf(2, 5)));
    assert_eq!(
        case.plan(),
        [
            Action::Upload { path: "x".into(), local: lf(3, 1), base: None },
            Action::Download { path: "y".into(), remote: rf(2, 5), replace: None },
        ]
    );
    // Deleted on both: forgotten.
    let case = Case::default().synced("x", 1, 1).local("x", None).remote("x", None);
    assert_eq!(case.plan(), [Action::Forget { path: "x".into() }]);
    // The same new folder on both: recorded.
    let case = Case::default().folder("d", true, true, false);
    assert_eq!(case.plan(), [Action::Record { path: "d".into(), base: Base::Folder }]);
}

#[test]
fn a_file_still_uploading_elsewhere_is_left_alone() {
    let mut case = Case::default().synced("x", 1, 1);
    case.remote.insert("x".into(), Remote::Busy);
    let p = case.whole();
    assert!(p.actions.is_empty());
    assert_eq!(p.waiting.len(), 1);
}

#[test]
fn a_folder_deleted_on_one_side_goes_whole_when_nothing_below_changed() {
    let case = Case::default().folder("d", false, true, true).synced("d/x", 1, 1).local("d/x", None);
    assert_eq!(case.plan(), [Action::DeleteRemoteFolder { path: "d".into() }]);
    let case = Case::default().folder("d", true, false, true).folder("d/e", true, false, true);
    let case = case.synced("d/e/x", 1, 1).remote("d/e/x", None);
    assert_eq!(
        case.plan(),
        [
            Action::DeleteLocalFile { path: "d/e/x".into(), local: lf(1, 1) },
            Action::DeleteLocalFolder { path: "d/e".into() },
            Action::DeleteLocalFolder { path: "d".into() },
        ]
    );
}

#[test]
fn a_folder_deleted_on_one_side_comes_back_when_something_below_changed() {
    // Deleted locally, but a file below was edited in the drive: the folder is made again
    // locally, the edit comes down, the unchanged file goes.
    let case = Case::default().folder("d", false, true, true).synced("d/x", 1, 1).synced("d/y", 2, 2);
    let case = case.local("d/x", None).local("d/y", None).remote("d/y", Some(rf(2, 2)));
    assert_eq!(
        case.plan(),
        [
            Action::MakeLocalFolder { path: "d".into() },
            Action::Download { path: "d/y".into(), remote: rf(2, 2), replace: None },
            Action::DeleteRemoteFile { path: "d/x".into(), remote: rf(1, 1) },
        ]
    );
    // Deleted in the drive, but a new local file below it: it goes up into a new folder.
    let case = Case::default().folder("d", true, false, true).local("d/new", Some(lf(4, 4)));
    assert_eq!(
        case.plan(),
        [
            Action::MakeRemoteFolder { path: "d".into() },
            Action::Upload { path: "d/new".into(), local: lf(4, 4), base: None },
        ]
    );
}

#[test]
fn renames_are_detected_on_both_sides() {
    // The drive renamed x to y (same id and version): rename locally.
    let case = Case::default().synced("x", 1, 1).remote("x", None).remote("z/y", Some(rf(1, 1)));
    let mut case = case;
    case.remote.insert("z".into(), Remote::Folder);
    assert_eq!(
        case.plan(),
        [
            Action::MakeLocalFolder { path: "z".into() },
            Action::RenameLocal { from: "x".into(), to: "z/y".into(), local: lf(1, 1), remote: rf(1, 1) },
        ]
    );
    // The disk renamed folder a to b: the files move in the drive, the old folder goes.
    let case = Case::default().folder("a", false, true, true).folder("b", true, false, false);
    let case = case.synced("a/x", 1, 1).local("a/x", None).local("b/x", Some(lf(1, 7)));
    assert_eq!(
        case.plan(),
        [
            Action::MakeRemoteFolder { path: "b".into() },
            Action::RenameRemote { from: "a/x".into(), to: "b/x".into(), remote: rf(1, 1), local: lf(1, 7) },
            Action::DeleteRemoteFolder { path: "a".into() },
        ]
    );
}

#[test]
fn a_file_moved_out_of_a_replaced_folder_waits_for_its_new_folder() {
    // On the disk: folder a became a file, and a/x moved into folder z, which took the place
    // of file z. The move must follow z's replacement (path order puts a first) and come
    // before a's folder goes.
    let case = Case::default().folder("a", false, true, true).synced("a/x", 1, 1).synced("z", 2, 2);
    let mut case = case.local("a/x", None).local("a", Some(lf(3, 3))).local("z", None);
    case = case.local("z/x", Some(lf(1, 7)));
    case.local.insert("z".into(), Local::Folder);
    assert_eq!(
        case.plan(),
        [
            Action::DeleteRemoteFile { path: "z".into(), remote: rf(2, 1) },
            Action::MakeRemoteFolder { path: "z".into() },
            Action::RenameRemote { from: "a/x".into(), to: "z/x".into(), remote: rf(1, 1), local: lf(1, 7) },
            Action::DeleteRemoteFolder { path: "a".into() },
            Action::Upload { path: "a".into(), local: lf(3, 3), base: None },
        ]
    );
}

#[test]
fn type_changes_replace_or_conflict() {
    // A file became a folder locally; the drive still has the file: replace it.
    let case = Case::default().synced("p", 1, 1).local("p", None).folder("p", true, false, false);
    assert_eq!(
        case.plan(),
        [
            Action::DeleteRemoteFile { path: "p".into(), remote: rf(1, 1) },
            Action::MakeRemoteFolder { path: "p".into() },
        ]
    );
    // A folder became a file in the drive, but a file below it changed locally: a conflict,
    // and nothing below waits.
    let case = Case::default().folder("p", true, false, true).synced("p/x", 1, 1).remote("p/x", None);
    let case = case.local("p/x", Some(lf(2, 1))).remote("p", Some(rf(9, 1)));
    let p = case.whole();
    assert_eq!(
        p.actions,
        [Action::Conflict { path: "p".into(), local: Local::Folder, remote: Remote::File(rf(9, 1)) }]
    );
    assert_eq!(p.waiting.len(), 1);
    // A folder became a file in the drive and nothing below changed locally: replaced.
    let case = Case::default().folder("p", true, false, true).synced("p/x", 1, 1).remote("p/x", None);
    let case = case.remote("p", Some(rf(9, 1)));
    assert_eq!(
        case.plan(),
        [
            Action::DeleteLocalFile { path: "p/x".into(), local: lf(1, 1) },
            Action::DeleteLocalFolder { path: "p".into() },
            Action::Download { path: "p".into(), remote: rf(9, 1), replace: None },
        ]
    );
}

#[test]
fn a_linked_folder_is_neither_filled_nor_counted_as_deleted() {
    // The first pass: the drive has /docs with two files, the disk has a link named docs.
    let case = Case::default()
        .remote("docs/a.txt", Some(rf(1, 1)))
        .remote("docs/b.txt", Some(rf(2, 1)))
        .hold("docs");
    let mut case = case;
    case.remote.insert("docs".into(), Remote::Folder);
    let p = case.whole();
    assert_eq!(p.actions, []);
    assert_eq!(p.waiting, [Waiting { path: "docs".into(), reason: "held".into() }]);
    // A synced folder replaced by a link later: the scan does not see into it, and the drive's
    // folder stays, files and all.
    let case = Case::default().folder("docs", false, true, true).synced("docs/a.txt", 1, 1);
    let case = case.local("docs/a.txt", None).hold("docs");
    assert_eq!(case.plan(), []);
    // A link to a file: not uploaded, and the drive's file of that name not deleted.
    let case = Case::default().synced("f", 1, 1).local("f", None).hold("f");
    assert_eq!(case.plan(), []);
    let case = Case::default().synced("f", 1, 1).remote("f", Some(rf(1, 2))).hold("f");
    assert_eq!(case.plan(), []);
}

#[test]
fn a_folder_holding_what_this_device_cannot_see_is_never_deleted_whole() {
    // Deleted locally, but the drive's folder holds a name refused here: the synced files go
    // one by one, the folder and the name stay (and the folder comes back locally).
    let case = Case::default().folder("d", false, true, true).synced("d/x", 1, 1).synced("d/y", 2, 2);
    let case = case.local("d/x", None).local("d/y", None).hold(&unseen("d", 0));
    assert_eq!(
        case.plan(),
        [
            Action::MakeLocalFolder { path: "d".into() },
            Action::DeleteRemoteFile { path: "d/y".into(), remote: rf(2, 1) },
            Action::DeleteRemoteFile { path: "d/x".into(), remote: rf(1, 1) },
        ]
    );
    // The same with the refused name deeper down: no folder on the way goes whole.
    let case = Case::default().folder("d", false, true, true).folder("d/e", false, true, true);
    let case = case.synced("d/e/x", 1, 1).local("d/e/x", None).hold(&unseen("d/e", 0));
    assert!(case.plan().iter().all(|a| !matches!(a, Action::DeleteRemoteFolder { .. })), "{:?}", case.plan());
    // A refused name at the top never stops what happens elsewhere.
    let case = Case::default().synced("x", 1, 1).local("x", None).hold(&unseen("", 0));
    assert_eq!(case.plan(), [Action::DeleteRemoteFile { path: "x".into(), remote: rf(1, 1) }]);
    // Deleted in the drive, while the disk has a link in it: the synced file goes locally,
    // the link stays, so the folder stays on both sides.
    let case = Case::default().folder("d", true, false, true).synced("d/x", 1, 1).remote("d/x", None);
    let case = case.hold("d/link");
    assert_eq!(
        case.plan(),
        [
            Action::MakeRemoteFolder { path: "d".into() },
            Action::DeleteLocalFile { path: "d/x".into(), local: lf(1, 1) }
        ]
    );
}

#[test]
fn a_name_this_disk_cannot_hold_is_not_deleted_on_either_side() {
    // Synced before (another disk), now held: the drive's edit is not fetched, the local
    // file is not deleted, nothing is uploaded.
    let case = Case::default().synced("CON", 1, 1).remote("CON", Some(rf(1, 2))).hold("CON");
    assert_eq!(case.plan(), []);
    let case = Case::default().synced("CON", 1, 1).remote("CON", None).hold("CON");
    assert_eq!(case.plan(), []);
    // Renames do not pair across a held path: a file the drive moved onto a held name stays.
    let case = Case::default().synced("x", 1, 1).remote("x", None).remote("CON", Some(rf(1, 1))).hold("CON");
    assert_eq!(case.plan(), [Action::DeleteLocalFile { path: "x".into(), local: lf(1, 1) }]);
}
