//! The planner: a pure function from (local tree, remote tree, base) to the [`Plan`] that brings
//! the two sides in step. No disk, no network, no clock — every rule is tested with plain data.
//!
//! Each path is judged by what changed since the base on each side:
//!
//! | local vs base | remote vs base | action |
//! |---|---|---|
//! | same | same | nothing (or record newer metadata of an unchanged file) |
//! | changed | same | the local change goes up: upload, make folder, delete remotely |
//! | same | changed | the remote change comes down: download, make folder, delete locally |
//! | changed | changed | both deleted: forget; one deleted: the other (the edit) wins; both folders: record; two files: conflict |
//! | any | being uploaded elsewhere | wait |
//! | held (a link, a mount point, a name that cannot be here) | any | wait, and everything below |
//!
//! A folder deleted on one side is deleted on the other only if nothing below it changed
//! there; otherwise it comes back, holding what changed. A file that turned into a folder (or
//! back) on one side replaces the other side's only under the same condition, and is a
//! conflict otherwise. A delete paired with a creation of the same content (locally: the same
//! hash; remotely: the same file id and version) is a rename. Actions come out in two phases:
//! makes, moves, transfers and conflicts parents-first, then deletes children-first, so a
//! folder is emptied before it is removed and a renamed file leaves before its old folder goes.
//!
//! A held path is never acted on, nor anything below it, and it never counts as deleted on
//! either side; a folder holding one is never deleted whole (what was synced in it is deleted
//! one by one, and the folder stays), so nothing is trashed that this device cannot see.

use std::collections::{BTreeMap, BTreeSet};

use renames::{pair_renames, take_renames_out, unpair_blocked_renames};
use verdict::{Lost, Verdict, blocked_paths, under_blocked};

use super::action::{Action, Plan, Waiting};
use super::tree::{Base, BaseTree, Held, Local, LocalTree, Remote, RemoteTree, below, parent};

/// The plan that brings `local` and `remote` in step, given what they held when last in step,
/// leaving the `held` paths alone.
pub fn plan(local: &LocalTree, remote: &RemoteTree, base: &BaseTree, held: &Held) -> Plan {
    let paths: BTreeSet<&String> =
        local.keys().chain(remote.keys()).chain(base.keys()).chain(held.keys()).collect();
    let mut verdicts: BTreeMap<String, Verdict> = paths
        .into_iter()
        .map(|path| {
            let verdict = match held.get(path) {
                Some(hold) => Verdict::blocked(Vec::new(), &hold.reason),
                None => decide(path, base.get(path), local.get(path), remote.get(path)),
            };
            (path.clone(), verdict)
        })
        .collect();
    let blocked_by_decision = blocked_paths(&verdicts);
    pair_renames(&mut verdicts, base, &blocked_by_decision);
    check_folders(&mut verdicts);
    unpair_blocked_renames(&mut verdicts);
    assemble(verdicts, held)
}

/// Whether the local side differs from the base.
fn local_changed(base: Option<&Base>, local: Option<&Local>) -> bool {
    match (base, local) {
        (None, None) | (Some(Base::Folder), Some(Local::Folder)) => false,
        (Some(Base::File(b)), Some(Local::File(l))) => b.hash != l.hash,
        _ => true,
    }
}

/// Whether the remote side differs from the base.
fn remote_changed(base: Option<&Base>, remote: Option<&Remote>) -> bool {
    match (base, remote) {
        (None, None) | (Some(Base::Folder), Some(Remote::Folder)) => false,
        (Some(Base::File(b)), Some(Remote::File(r))) => (b.remote.id, b.remote.version) != (r.id, r.version),
        _ => true,
    }
}

/// The rules of the table above, for one path.
fn decide(path: &str, base: Option<&Base>, local: Option<&Local>, remote: Option<&Remote>) -> Verdict {
    let p = || path.to_owned();
    if remote == Some(&Remote::Busy) {
        return Verdict::blocked(Vec::new(), "its first version is being uploaded from another device");
    }
    match (local_changed(base, local), remote_changed(base, remote)) {
        (false, false) => match (base, local) {
            // Touched but not changed: remember the new metadata, so it is not read again.
            (Some(Base::File(b)), Some(Local::File(l))) if b.meta != l.meta => {
                let base = Base::File(super::tree::BaseFile { meta: l.meta, ..*b });
                Verdict::now(vec![Action::Record { path: p(), base }])
            }
            _ => Verdict::default(),
        },
        // The local change goes up; the remote side is as the base says.
        (true, false) => match (local, base) {
            (None, Some(Base::Folder)) => Verdict::gone(Lost::Locally, None),
            (None, Some(Base::File(b))) => {
                Verdict::later(Action::DeleteRemoteFile { path: p(), remote: b.remote })
            }
            (Some(Local::Folder), None) => Verdict::now(vec![Action::MakeRemoteFolder { path: p() }]),
            (Some(Local::Folder), Some(Base::File(b))) => Verdict::now(vec![
                Action::DeleteRemoteFile { path: p(), remote: b.remote },
                Action::MakeRemoteFolder { path: p() },
            ]),
            (Some(Local::File(l)), None) => {
                Verdict::now(vec![Action::Upload { path: p(), local: *l, base: None }])
            }
            (Some(Local::File(l)), Some(Base::File(b))) => {
                Verdict::now(vec![Action::Upload { path: p(), local: *l, base: Some(b.remote.version) }])
            }
            (Some(Local::File(l)), Some(Base::Folder)) => {
                Verdict::gone(Lost::Locally, Some(Action::Upload { path: p(), local: *l, base: None }))
            }
            // Unchanged locally in every other combination.
            _ => Verdict::default(),
        },
        // The remote change comes down; the local side is as the base says.
        (false, true) => match (remote, base, local) {
            (None, Some(Base::Folder), _) => Verdict::gone(Lost::Remotely, None),
            (None, Some(Base::File(_)), Some(Local::File(l))) => {
                Verdict::later(Action::DeleteLocalFile { path: p(), local: *l })
            }
            (Some(Remote::Folder), None, _) => Verdict::now(vec![Action::MakeLocalFolder { path: p() }]),
            (Some(Remote::Folder), Some(Base::File(_)), Some(Local::File(l))) => Verdict::now(vec![
                Action::DeleteLocalFile { path: p(), local: *l },
                Action::MakeLocalFolder { path: p() },
            ]),
            (Some(Remote::File(r)), None, _) => {
                Verdict::now(vec![Action::Download { path: p(), remote: *r, replace: None }])
            }
            (Some(Remote::File(r)), Some(Base::File(_)), Some(Local::File(l))) => {
                Verdict::now(vec![Action::Download { path: p(), remote: *r, replace: Some(*l) }])
            }
            (Some(Remote::File(r)), Some(Base::Folder), _) => {
                Verdict::gone(Lost::Remotely, Some(Action::Download { path: p(), remote: *r, replace: None }))
            }
            _ => Verdict::default(),
        },
        // Both changed: a deletion loses to an edit; two edits are a conflict.
        (true, true) => match (local, remote) {
            (None, None) => Verdict::later(Action::Forget { path: p() }),
            (None, Some(Remote::Folder)) => Verdict::now(vec![Action::MakeLocalFolder { path: p() }]),
            (None, Some(Remote::File(r))) => {
                Verdict::now(vec![Action::Download { path: p(), remote: *r, replace: None }])
            }
            (Some(Local::Folder), None) => Verdict::now(vec![Action::MakeRemoteFolder { path: p() }]),
            (Some(Local::File(l)), None) => {
                Verdict::now(vec![Action::Upload { path: p(), local: *l, base: None }])
            }
            (Some(Local::Folder), Some(Remote::Folder)) => {
                Verdict::now(vec![Action::Record { path: p(), base: Base::Folder }])
            }
            (Some(l @ Local::File(_)), Some(r @ Remote::File(_))) => {
                Verdict::now(vec![Action::Conflict { path: p(), local: *l, remote: *r }])
            }
            // A file on one side and a folder on the other: settle the name first.
            (Some(l), Some(r)) => Verdict::blocked(
                vec![Action::Conflict { path: p(), local: *l, remote: *r }],
                "a file on one side is a folder on the other; settling that first",
            ),
            (_, Some(Remote::Busy)) => Verdict::default(),
        },
    }
}

/// Settles every folder one side lost, deepest first: deleted on the other side too when
/// nothing below it changed there, kept (or a conflict, when a file took its name) otherwise.
fn check_folders(verdicts: &mut BTreeMap<String, Verdict>) {
    let lost: Vec<String> =
        verdicts.iter().rev().filter(|(_, v)| v.gone.is_some()).map(|(p, _)| p.clone()).collect();
    for path in lost {
        let Some(gone) = verdicts.get_mut(&path).and_then(|v| v.gone.take()) else { continue };
        let safe = below(verdicts, &path).all(|(_, v)| v.only_leaves(gone.lost));
        let p = path.clone();
        let verdict = match (gone.lost, safe, gone.then) {
            (Lost::Locally, true, then) => {
                // The drive trashes the folder with everything in it, so the deletes below are
                // one call; what the base remembers below it goes with it.
                let below_paths: Vec<String> = below(verdicts, &path).map(|(p, _)| p.clone()).collect();
                for d in below_paths {
                    if let Some(v) = verdicts.get_mut(&d) {
                        v.later.retain(|a| matches!(a, Action::Forget { .. }));
                    }
                }
                match then {
                    None => Verdict::later(Action::DeleteRemoteFolder { path: p }),
                    Some(then) => {
                        let mut now = take_renames_out(verdicts, &path);
                        now.extend([Action::DeleteRemoteFolder { path: p }, then]);
                        Verdict::now(now)
                    }
                }
            }
            (Lost::Remotely, true, None) => Verdict::later(Action::DeleteLocalFolder { path: p }),
            (Lost::Remotely, true, Some(then)) => {
                // The folder must be empty before the file can take its name: what moves out
                // of it goes first, then its deletes, children first.
                let mut now = take_renames_out(verdicts, &path);
                let below_paths: Vec<String> = below(verdicts, &path).map(|(p, _)| p.clone()).collect();
                for d in below_paths.iter().rev() {
                    if let Some(v) = verdicts.get_mut(d) {
                        now.append(&mut v.later);
                    }
                }
                now.push(Action::DeleteLocalFolder { path: p });
                now.push(then);
                Verdict::now(now)
            }
            // Something below changed on the side that still has the folder: it stays, and
            // comes back on the side that lost it.
            (Lost::Locally, false, None) => Verdict::now(vec![Action::MakeLocalFolder { path: p }]),
            (Lost::Remotely, false, None) => Verdict::now(vec![Action::MakeRemoteFolder { path: p }]),
            (Lost::Locally, false, Some(Action::Upload { local, .. })) => Verdict::blocked(
                vec![Action::Conflict { path: p, local: Local::File(local), remote: Remote::Folder }],
                "a file here replaced a folder whose content changed in the drive; settling that first",
            ),
            (Lost::Remotely, false, Some(Action::Download { remote, .. })) => Verdict::blocked(
                vec![Action::Conflict { path: p, local: Local::Folder, remote: Remote::File(remote) }],
                "a file in the drive replaced a folder whose content changed here; settling that first",
            ),
            (_, false, Some(_)) => Verdict::default(),
        };
        verdicts.insert(path, verdict);
    }
}

/// Puts the verdicts in order: first phase parents first, second phase children first, and
/// nothing below a path that waits. A folder that a file replaces in the first phase, with
/// files renamed out of it first, goes once the renames' new paths are reached: a new path may
/// need a folder made first that comes later in path order (a file turned into one).
fn assemble(verdicts: BTreeMap<String, Verdict>, held: &Held) -> Plan {
    let blocked = blocked_paths(&verdicts);
    let mut plan = Plan::default();
    let mut later = Vec::new();
    let mut deferred: BTreeMap<String, Vec<Action>> = BTreeMap::new();
    for (path, verdict) in verdicts {
        while let Some(due) = deferred.first_entry()
            && *due.key() <= path
        {
            plan.actions.extend(due.remove());
        }
        let inside_blocked = parent(&path).is_some_and(|parent| under_blocked(parent, &blocked));
        if inside_blocked {
            continue;
        }
        if let Some(reason) = verdict.blocks {
            let shown = held.get(&path).map_or_else(|| path.clone(), |hold| hold.shown.clone());
            plan.waiting.push(Waiting { path: shown, reason });
        }
        match last_rename_elsewhere(&path, &verdict.now) {
            // Just past the new path: once it is reached, in the next round or at the end.
            Some(to) => deferred.entry(format!("{to}\u{0}")).or_default().extend(verdict.now),
            None => plan.actions.extend(verdict.now),
        }
        later.push(verdict.later);
    }
    plan.actions.extend(deferred.into_values().flatten());
    plan.actions.extend(later.into_iter().rev().flatten());
    plan
}

/// The greatest new path, after `path`, of a rename among `actions` that was taken out of
/// where it would run (see [`renames::take_renames_out`]).
fn last_rename_elsewhere(path: &str, actions: &[Action]) -> Option<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RenameLocal { to, .. } | Action::RenameRemote { to, .. } if to.as_str() > path => {
                Some(to)
            }
            _ => None,
        })
        .max()
        .cloned()
}

mod renames;
#[cfg(test)]
mod tests;
mod verdict;
