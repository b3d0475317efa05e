//! Renames, for the planner: a delete on one side paired with the creation of the same thing
//! elsewhere on that side becomes one rename, so a moved file is moved on the other side too
//! rather than sent again and deleted; and the pairs that a later decision leaves waiting are
//! undone again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::verdict::{Verdict, blocked_paths, under_blocked};
use crate::sync::action::Action;
use crate::sync::tree::{Base, BaseTree, LocalFile, RemoteFile, below};

/// Turns a delete on one side plus a creation of the same thing elsewhere on that side into a
/// rename. Remotely, "the same thing" is the same file id at the same version; locally, the
/// same content hash (a local rename keeps no id the drive knows).
pub(super) fn pair_renames(
    verdicts: &mut BTreeMap<String, Verdict>,
    base: &BaseTree,
    blocked: &BTreeSet<String>,
) {
    // Files the drive lost and the disk still has unchanged, by (id, version); files the disk
    // lost and the drive still has unchanged, by hash.
    let mut lost_remotely: HashMap<(u64, u64), (String, LocalFile)> = HashMap::new();
    let mut lost_locally: HashMap<[u8; 32], Vec<(String, RemoteFile)>> = HashMap::new();
    for (path, verdict) in verdicts.iter() {
        if under_blocked(path, blocked) {
            continue;
        }
        match (verdict.later.as_slice(), base.get(path)) {
            ([Action::DeleteLocalFile { local, .. }], Some(Base::File(b))) => {
                lost_remotely.insert((b.remote.id, b.remote.version), (path.clone(), *local));
            }
            ([Action::DeleteRemoteFile { remote, .. }], Some(Base::File(b))) => {
                lost_locally.entry(b.hash).or_default().push((path.clone(), *remote));
            }
            _ => {}
        }
    }
    let mut moves = Vec::new();
    for (path, verdict) in verdicts.iter() {
        if under_blocked(path, blocked) || base.contains_key(path) {
            continue;
        }
        match verdict.now.as_slice() {
            [Action::Download { remote, replace: None, .. }] => {
                if let Some((from, local)) = lost_remotely.remove(&(remote.id, remote.version)) {
                    let rename =
                        Action::RenameLocal { from: from.clone(), to: path.clone(), local, remote: *remote };
                    moves.push((from, path.clone(), rename));
                }
            }
            [Action::Upload { local, base: None, .. }] => {
                if let Some(candidates) = lost_locally.get_mut(&local.hash)
                    && let Some((from, remote)) = candidates.pop()
                {
                    let rename =
                        Action::RenameRemote { from: from.clone(), to: path.clone(), remote, local: *local };
                    moves.push((from, path.clone(), rename));
                }
            }
            _ => {}
        }
    }
    for (from, to, rename) in moves {
        if let Some(v) = verdicts.get_mut(&from) {
            v.later.clear();
            v.moved_to = Some(to.clone());
        }
        if let Some(v) = verdicts.get_mut(&to) {
            v.now = vec![rename];
            v.arrives = true;
        }
    }
}

/// The renames of files out of `folder`, taken from where they would run: a folder deleted in
/// the first phase (a file takes its name) must let them run before it goes.
pub(super) fn take_renames_out(verdicts: &mut BTreeMap<String, Verdict>, folder: &str) -> Vec<Action> {
    let targets: Vec<String> = below(verdicts, folder).filter_map(|(_, v)| v.moved_to.clone()).collect();
    let mut renames = Vec::new();
    for to in targets {
        if let Some(v) = verdicts.get_mut(&to) {
            renames.append(&mut v.now);
        }
    }
    renames
}

/// Undoes the renames that touch a path left waiting by the folder checks. One into it waits
/// too, and its source is deleted as first planned (the drive or the disk has the file at the
/// new path, which comes over once the wait is over). One out of it becomes a plain download
/// or upload, and its source stays where it is until the wait is over.
pub(super) fn unpair_blocked_renames(verdicts: &mut BTreeMap<String, Verdict>) {
    let blocked = blocked_paths(verdicts);
    if blocked.is_empty() {
        return;
    }
    let mut restore = Vec::new();
    for (at, verdict) in verdicts.iter_mut() {
        for action in std::mem::take(&mut verdict.now) {
            let (from, to, delete, plain) = match &action {
                Action::RenameLocal { from, to, local, remote } => (
                    from,
                    to,
                    Action::DeleteLocalFile { path: from.clone(), local: *local },
                    Action::Download { path: to.clone(), remote: *remote, replace: None },
                ),
                Action::RenameRemote { from, to, remote, local } => (
                    from,
                    to,
                    Action::DeleteRemoteFile { path: from.clone(), remote: *remote },
                    Action::Upload { path: to.clone(), local: *local, base: None },
                ),
                _ => {
                    verdict.now.push(action);
                    continue;
                }
            };
            if under_blocked(to, &blocked) {
                if at == to {
                    // In its own place: the source's delete goes back to the source's place.
                    restore.push((from.clone(), delete));
                } else {
                    // Moved before a folder's delete: the delete empties the folder instead.
                    verdict.now.push(delete);
                }
            } else if under_blocked(from, &blocked) {
                verdict.now.push(plain);
            } else {
                verdict.now.push(action);
            }
        }
    }
    for (from, delete) in restore {
        if let Some(v) = verdicts.get_mut(&from) {
            v.moved_to = None;
            v.later.push(delete);
        }
    }
}
