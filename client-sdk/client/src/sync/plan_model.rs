//! Model-based properties of the planner. A base tree is drawn, each side changes it at
//! random (edits, creates, deletes, renames, files turned into folders and back), and a model of
//! the executor applies the plans until there is nothing left to do. What must hold:
//!
//! - identical trees need no action;
//! - every plan is executable as it stands (each action finds what it expects), and within a
//!   few passes both sides hold the same tree and the plan is empty;
//! - no change is lost: every content either side created or changed since the base survives,
//!   at its own path or as a conflicted copy;
//! - with links placed in the local folder and names the drive holds but this device cannot
//!   see, nothing at or below a held path is acted on, no folder holding one is deleted, and
//!   everything else still converges and loses nothing;
//! - the mass-delete guard lets through no more deletes in the drive than its threshold; when
//!   it trips, what is left of the plan deletes nothing in the drive and still runs as it
//!   stands, and once confirmed, the plans converge as before.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::action::{Action, Plan};
use super::conflict_name::conflicted_copy;
use super::guard::{DeleteGuard, hold_deletes};
use super::plan::plan;
use super::tree::{
    Base, BaseFile, BaseTree, FileMeta, Held, Hold, Local, LocalFile, LocalTree, Remote, RemoteFile,
    RemoteTree, is_below, parent, unseen,
};

/// One name on a side: `id` is the inode (local) or file id (remote), `v` the mtime or version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Folder,
    File { content: u8, id: u64, v: u64 },
}

type Side = BTreeMap<String, Node>;

struct World {
    local: Side,
    remote: Side,
    base: BaseTree,
    /// Links on the disk (the scan sees no further) and names the drive holds that this device
    /// cannot see.
    held: Held,
    next: u64,
}

impl World {
    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn universe() -> Vec<String> {
    let mut out: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
    for depth in 0..2 {
        let previous: Vec<String> =
            out.iter().filter(|p| p.split('/').count() == depth + 1).cloned().collect();
        for p in previous {
            out.extend(NAMES.iter().map(|n| format!("{p}/{n}")));
        }
    }
    out
}

fn can_place(side: &Side, path: &str) -> bool {
    let mut at = parent(path);
    while let Some(p) = at {
        if matches!(side.get(p), Some(Node::File { .. })) {
            return false;
        }
        at = parent(p);
    }
    !side.contains_key(path)
}

fn place(side: &mut Side, path: &str, node: Node) {
    assert!(can_place(side, path), "cannot place {path} in {side:?}");
    let mut at = parent(path);
    while let Some(p) = at {
        side.entry(p.to_owned()).or_insert(Node::Folder);
        at = parent(p);
    }
    side.insert(path.to_owned(), node);
}

fn take_tree(side: &mut Side, path: &str) -> Vec<(String, Node)> {
    let keys: Vec<String> = side.keys().filter(|k| *k == path || is_below(k, path)).cloned().collect();
    keys.into_iter().map(|k| (k.clone(), side.remove(&k).unwrap())).collect()
}

fn local_file(node: Node) -> LocalFile {
    let Node::File { content, id, v } = node else { panic!("{node:?} is not a file") };
    LocalFile { meta: FileMeta { size: 1, mtime_ns: v as i64, inode: id }, hash: [content; 32] }
}

fn remote_file(node: Node) -> RemoteFile {
    let Node::File { id, v, .. } = node else { panic!("{node:?} is not a file") };
    RemoteFile { id, version: v, size: 1 }
}

fn local_tree(side: &Side) -> LocalTree {
    side.iter()
        .map(|(p, n)| {
            (p.clone(), if *n == Node::Folder { Local::Folder } else { Local::File(local_file(*n)) })
        })
        .collect()
}

fn remote_tree(side: &Side) -> RemoteTree {
    side.iter()
        .map(|(p, n)| {
            (p.clone(), if *n == Node::Folder { Remote::Folder } else { Remote::File(remote_file(*n)) })
        })
        .collect()
}

fn content(side: &Side, path: &str) -> u8 {
    match side.get(path) {
        Some(Node::File { content, .. }) => *content,
        other => panic!("no file at {path}: {other:?}"),
    }
}

fn contents(side: &Side) -> BTreeMap<String, Option<u8>> {
    side.iter()
        .map(|(p, n)| (p.clone(), if let Node::File { content, .. } = n { Some(*content) } else { None }))
        .collect()
}

/// The base both sides start from, with file ids doubling as inodes.
fn base_of(side: &Side) -> BaseTree {
    side.iter()
        .map(|(p, n)| match n {
            Node::Folder => (p.clone(), Base::Folder),
            file => {
                let l = local_file(*file);
                (p.clone(), Base::File(BaseFile { remote: remote_file(*file), meta: l.meta, hash: l.hash }))
            }
        })
        .collect()
}

fn record_file(w: &mut World, path: &str) {
    let (l, r) = (w.local[path], w.remote[path]);
    let l = local_file(l);
    w.base
        .insert(path.to_owned(), Base::File(BaseFile { remote: remote_file(r), meta: l.meta, hash: l.hash }));
}

fn download(w: &mut World, path: &str) {
    let content = content(&w.remote, path);
    let (id, v) = (w.fresh(), w.fresh());
    place(&mut w.local, path, Node::File { content, id, v });
    record_file(w, path);
}

fn upload_new(w: &mut World, path: &str) {
    let content = content(&w.local, path);
    let id = w.fresh();
    place(&mut w.remote, path, Node::File { content, id, v: 1 });
    record_file(w, path);
}

/// What the executor does, with no one changing anything meanwhile; every premise is checked.
fn apply(w: &mut World, action: &Action) {
    match action {
        Action::MakeLocalFolder { path } | Action::MakeRemoteFolder { path } => {
            let side =
                if matches!(action, Action::MakeLocalFolder { .. }) { &mut w.local } else { &mut w.remote };
            if side.get(path.as_str()) != Some(&Node::Folder) {
                place(side, path, Node::Folder);
            }
            w.base.insert(path.clone(), Base::Folder);
        }
        Action::Upload { path, local, base } => {
            assert_eq!(local_file(w.local[path.as_str()]), *local);
            let (id, v) = match (w.remote.get(path.as_str()), base) {
                (None, None) => (w.fresh(), 1),
                (Some(Node::File { id, v, .. }), Some(b)) if v == b => (*id, v + 1),
                other => panic!("upload of {path} on {base:?} finds {other:?}"),
            };
            w.remote.remove(path.as_str());
            place(&mut w.remote, path, Node::File { content: content(&w.local, path), id, v });
            record_file(w, path);
        }
        Action::Download { path, remote, replace } => {
            assert_eq!(remote_file(w.remote[path.as_str()]), *remote);
            match replace {
                Some(l) => assert_eq!(local_file(w.local.remove(path.as_str()).unwrap()), *l),
                None => assert!(!w.local.contains_key(path.as_str()), "download over {path}"),
            }
            download(w, path);
        }
        Action::DeleteLocalFile { path, local } => {
            assert_eq!(local_file(w.local.remove(path.as_str()).unwrap()), *local);
            w.base.remove(path.as_str());
        }
        Action::DeleteLocalFolder { path } => {
            if !w.local.keys().any(|k| is_below(k, path)) {
                assert_eq!(w.local.remove(path.as_str()), Some(Node::Folder));
            }
            w.base.remove(path.as_str());
        }
        Action::DeleteRemoteFile { path, remote } => {
            assert_eq!(remote_file(w.remote.remove(path.as_str()).unwrap()), *remote);
            w.base.remove(path.as_str());
        }
        Action::DeleteRemoteFolder { path } => {
            assert_eq!(take_tree(&mut w.remote, path).first(), Some(&(path.clone(), Node::Folder)));
            w.base.retain(|k, _| k != path && !is_below(k, path));
        }
        Action::RenameLocal { from, to, local, remote } => {
            let node = w.local.remove(from.as_str()).unwrap();
            assert_eq!(local_file(node), *local);
            assert_eq!(remote_file(w.remote[to.as_str()]), *remote);
            place(&mut w.local, to, node);
            w.base.remove(from.as_str());
            record_file(w, to);
        }
        Action::RenameRemote { from, to, remote, local } => {
            let node = w.remote.remove(from.as_str()).unwrap();
            assert_eq!(remote_file(node), *remote);
            assert_eq!(local_file(w.local[to.as_str()]), *local);
            place(&mut w.remote, to, node);
            w.base.remove(from.as_str());
            record_file(w, to);
        }
        Action::Conflict { path, local, remote } => conflict(w, path, *local, *remote),
        Action::Record { path, base } => {
            w.base.insert(path.clone(), *base);
        }
        Action::Forget { path } => {
            w.base.remove(path.as_str());
        }
    }
}

fn conflict(w: &mut World, path: &str, local: Local, remote: Remote) {
    if let (Local::File(l), Remote::File(r)) = (local, remote) {
        assert_eq!(local_file(w.local[path]), l);
        assert_eq!(remote_file(w.remote[path]), r);
        if content(&w.local, path) == content(&w.remote, path) {
            record_file(w, path);
            return;
        }
    }
    let copy = conflicted_copy(path, "dev", "2026-01-01 000000", |q| {
        w.local.contains_key(q) || w.remote.contains_key(q)
    });
    // The local item (a file, or a folder with everything below it, links included) moves to
    // the copy's name.
    for (p, node) in take_tree(&mut w.local, path) {
        let moved = format!("{copy}{}", &p[path.len()..]);
        place(&mut w.local, &moved, node);
    }
    let links: Vec<String> = w.held.keys().filter(|k| is_below(k, path)).cloned().collect();
    for link in links {
        let hold = w.held.remove(&link).unwrap();
        w.held.insert(format!("{copy}{}", &link[path.len()..]), hold);
    }
    if matches!(local, Local::File(_)) {
        upload_new(w, &copy);
    }
    match remote {
        Remote::File(_) => download(w, path),
        _ => {
            place(&mut w.local, path, Node::Folder);
            w.base.insert(path.to_owned(), Base::Folder);
        }
    }
}

/// One random change: (kind, path, second path) as indices into the universe.
type Change = (u8, usize, usize);

fn mutate(w: &mut World, remote: bool, changes: &[Change], paths: &[String]) {
    for &(kind, i, j) in changes {
        let (path, other) = (&paths[i % paths.len()], &paths[j % paths.len()]);
        let (fresh_id, fresh_v, content) = (w.fresh(), w.fresh(), (w.fresh() % 251) as u8);
        let side = if remote { &mut w.remote } else { &mut w.local };
        match (kind % 6, side.get(path.as_str()).copied()) {
            (0, Some(Node::File { id, v, .. })) => {
                let v = if remote { v + 1 } else { fresh_v };
                side.insert(path.clone(), Node::File { content, id, v });
            }
            (1, Some(_)) => drop(take_tree(side, path)),
            (2, None) if can_place(side, path) => {
                place(side, path, Node::File { content, id: fresh_id, v: 1 });
            }
            (3, None) if can_place(side, path) => place(side, path, Node::Folder),
            (4, Some(node @ Node::File { .. })) if can_place(side, other) && !is_below(other, path) => {
                side.remove(path.as_str());
                place(side, other, node);
            }
            (5, Some(Node::File { .. })) => {
                side.remove(path.as_str());
                place(side, path, Node::Folder);
            }
            (5, Some(Node::Folder)) => {
                take_tree(side, path);
                place(side, path, Node::File { content, id: fresh_id, v: 1 });
            }
            _ => {}
        }
    }
}

/// The contents each side created or changed since the base, with the path they were at.
fn changed(w: &World) -> Vec<(String, u8)> {
    let mut out = Vec::new();
    for (p, n) in w.local.iter().chain(w.remote.iter()) {
        let Node::File { content, .. } = n else { continue };
        let same = matches!(w.base.get(p), Some(Base::File(b)) if b.hash == [*content; 32]);
        if !same {
            out.push((p.clone(), *content));
        }
    }
    out
}

fn world(start: &[(usize, bool)], local: &[Change], remote: &[Change]) -> World {
    let paths = universe();
    let mut w =
        World { local: Side::new(), remote: Side::new(), base: BaseTree::new(), held: Held::new(), next: 0 };
    for &(i, folder) in start {
        let path = &paths[i % paths.len()];
        let node =
            if folder { Node::Folder } else { Node::File { content: w.next as u8, id: w.fresh(), v: 1 } };
        if can_place(&w.local, path) {
            place(&mut w.local, path, node);
        }
    }
    w.remote = w.local.clone();
    w.base = base_of(&w.local);
    mutate(&mut w, false, local, &paths);
    mutate(&mut w, true, remote, &paths);
    w
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn identical_trees_need_no_action(start in prop::collection::vec((0..39usize, any::<bool>()), 0..12)) {
        let w = world(&start, &[], &[]);
        let p = plan(&local_tree(&w.local), &remote_tree(&w.remote), &w.base, &w.held);
        prop_assert!(p.actions.is_empty() && p.waiting.is_empty(), "{p:?}");
    }

    #[test]
    fn plans_converge_and_lose_no_change(
        start in prop::collection::vec((0..39usize, any::<bool>()), 0..12),
        local in prop::collection::vec((0..6u8, 0..39usize, 0..39usize), 0..8),
        remote in prop::collection::vec((0..6u8, 0..39usize, 0..39usize), 0..8),
    ) {
        converges(&start, &local, &remote)?;
    }

    #[test]
    fn held_paths_are_never_touched(
        start in prop::collection::vec((0..39usize, any::<bool>()), 0..12),
        local in prop::collection::vec((0..6u8, 0..39usize, 0..39usize), 0..8),
        remote in prop::collection::vec((0..6u8, 0..39usize, 0..39usize), 0..8),
        links in prop::collection::vec(0..39usize, 0..3),
        unseen_in in prop::collection::vec(0..40usize, 0..3),
    ) {
        let mut w = world(&start, &local, &remote);
        hold(&mut w, &links, &unseen_in);
        settle(w)?;
    }

    #[test]
    fn the_guard_holds_back_every_delete_of_a_mass_delete(
        start in prop::collection::vec((0..39usize, any::<bool>()), 0..16),
        local in prop::collection::vec((0..6u8, 0..39usize, 0..39usize), 0..10),
        remote in prop::collection::vec((0..6u8, 0..39usize, 0..39usize), 0..4),
        percent in 0..100u8,
        min_files in 0..4usize,
    ) {
        guarded(&start, &local, &remote, DeleteGuard { percent, min_files })?;
    }
}

/// One guarded pass, then the rest: the guard's verdict matches the plan's deletes, a held
/// plan deletes nothing in the drive and runs as it stands, and the confirmed rest converges.
fn guarded(
    start: &[(usize, bool)],
    local: &[Change],
    remote: &[Change],
    guard: DeleteGuard,
) -> Result<(), TestCaseError> {
    let mut w = world(start, local, remote);
    let mut p = plan(&local_tree(&w.local), &remote_tree(&w.remote), &w.base, &w.held);
    let files = w.base.values().filter(|b| matches!(b, Base::File(_))).count();
    let deleted: usize = p
        .actions
        .iter()
        .map(|a| match a {
            Action::DeleteRemoteFile { .. } => 1,
            Action::DeleteRemoteFolder { path } => {
                w.base.iter().filter(|(k, b)| is_below(k, path) && matches!(b, Base::File(_))).count()
            }
            _ => 0,
        })
        .sum();
    let tripped = guard.check(&p, &w.base);
    let over = deleted >= guard.min_files && deleted * 100 > files * usize::from(guard.percent);
    prop_assert_eq!(tripped.as_ref().map(|m| (m.files, m.of)), over.then_some((deleted, files)));
    if tripped.is_none() {
        return Ok(());
    }
    hold_deletes(&mut p);
    for action in &p.actions {
        prop_assert!(
            !matches!(action, Action::DeleteRemoteFile { .. } | Action::DeleteRemoteFolder { .. }),
            "{action:?} deletes in the drive while the guard holds"
        );
        apply(&mut w, action);
    }
    // Confirmed: the plans go on to the end.
    run_plans(&mut w, |_, _| Ok(()))?;
    prop_assert_eq!(contents(&w.local), contents(&w.remote));
    Ok(())
}

/// Puts links at the `links` paths of the disk (where a link can be: nothing there, no file
/// above) and a name this device cannot see in the drive's folders `unseen_in` (an index past
/// the paths, or a folder the drive lacks, means the top).
fn hold(w: &mut World, links: &[usize], unseen_in: &[usize]) {
    let paths = universe();
    for &i in links {
        let path = &paths[i % paths.len()];
        if !can_place(&w.local, path)
            || w.held.keys().any(|h| h == path || is_below(path, h) || is_below(h, path))
        {
            continue;
        }
        let mut at = parent(path);
        while let Some(p) = at {
            w.local.entry(p.to_owned()).or_insert(Node::Folder);
            at = parent(p);
        }
        w.held.insert(path.clone(), Hold { shown: path.clone(), reason: "a link".into() });
    }
    for (n, &i) in unseen_in.iter().enumerate() {
        let folder = paths.get(i).filter(|p| w.remote.get(p.as_str()) == Some(&Node::Folder));
        let key = unseen(folder.map_or("", String::as_str), n);
        w.held.insert(key, Hold { shown: "?".into(), reason: "refused".into() });
    }
}

/// Whether `path` is a held path or below one.
fn in_held(held: &Held, path: &str) -> bool {
    held.keys().any(|h| path == h || is_below(path, h))
}

/// The contents of a side outside every held path.
fn visible(side: &Side, held: &Held) -> BTreeMap<String, Option<u8>> {
    contents(side).into_iter().filter(|(p, _)| !in_held(held, p)).collect()
}

/// Runs plans with held paths until there is nothing to do: no action may touch a held path
/// or delete a folder holding one; outside them, the sides converge and no change is lost.
fn settle(mut w: World) -> Result<(), TestCaseError> {
    let must_survive: Vec<(String, u8)> =
        changed(&w).into_iter().filter(|(p, _)| !in_held(&w.held, p)).collect();
    run_plans(&mut w, |w, action| {
        let touched: Vec<&str> = match action {
            Action::RenameLocal { from, to, .. } | Action::RenameRemote { from, to, .. } => vec![from, to],
            other => vec![other.path()],
        };
        for path in touched {
            prop_assert!(!in_held(&w.held, path), "{action:?} touches a held path: {:?}", w.held);
        }
        if let Action::DeleteRemoteFolder { path } | Action::DeleteLocalFolder { path } = action {
            prop_assert!(!w.held.keys().any(|h| is_below(h, path)), "{action:?} holds {:?}", w.held);
        }
        Ok(())
    })?;
    prop_assert_eq!(visible(&w.local, &w.held), visible(&w.remote, &w.held));
    all_kept(&w, must_survive)
}

/// Runs plans until there is nothing to do, checking the properties of the module.
fn converges(start: &[(usize, bool)], local: &[Change], remote: &[Change]) -> Result<(), TestCaseError> {
    let mut w = world(start, local, remote);
    let must_survive = changed(&w);
    let last = run_plans(&mut w, |_, _| Ok(()))?;
    prop_assert!(last.waiting.is_empty(), "{last:?}");
    prop_assert_eq!(contents(&w.local), contents(&w.remote));
    all_kept(&w, must_survive)
}

/// Runs plans until one has nothing to do, at most four passes, putting each action to `check`
/// before the model executor carries it out; returns the last, empty, plan.
fn run_plans(
    w: &mut World,
    mut check: impl FnMut(&World, &Action) -> Result<(), TestCaseError>,
) -> Result<Plan, TestCaseError> {
    for _ in 0..4 {
        let p = plan(&local_tree(&w.local), &remote_tree(&w.remote), &w.base, &w.held);
        if p.actions.is_empty() {
            return Ok(p);
        }
        for action in &p.actions {
            check(w, action)?;
            apply(w, action);
        }
    }
    let p = plan(&local_tree(&w.local), &remote_tree(&w.remote), &w.base, &w.held);
    prop_assert!(p.actions.is_empty(), "no convergence after 4 passes; still {p:?}");
    Ok(p)
}

/// Every content in `must_survive` is on the disk, at its path or as a conflicted copy.
fn all_kept(w: &World, must_survive: Vec<(String, u8)>) -> Result<(), TestCaseError> {
    for (path, c) in must_survive {
        let kept = w.local.iter().any(|(p, n)| {
            matches!(n, Node::File { content, .. } if *content == c)
                && (*p == path || p.contains("conflicted copy"))
        });
        prop_assert!(kept, "content {} of {} was lost: {:?}", c, path, w.local);
    }
    Ok(())
}

/// Cases the properties once failed on: a file renamed out of a folder that a file replaced
/// on the same side, one renamed out of a folder that waits for a conflict, and one renamed
/// into such a folder.
#[test]
fn renames_around_replaced_folders() {
    converges(&[(22, false)], &[(4, 22, 30), (5, 1, 0)], &[]).unwrap();
    converges(&[(27, false), (28, false)], &[(5, 27, 0)], &[(4, 28, 30), (5, 8, 0)]).unwrap();
    converges(&[(9, false), (20, false)], &[(4, 20, 33), (5, 5, 0)], &[(5, 2, 0)]).unwrap();
    converges(&[(35, false), (12, false)], &[(5, 0, 0)], &[(4, 35, 13), (5, 2, 0)]).unwrap();
}
