//! The mass-delete guard. A pass that would delete in the drive most of what the synced folder
//! holds is far more often an accident — a disk that did not mount, a folder another program
//! wiped, a link that went away — than an intention, and a delete in the drive reaches every
//! device and everyone the folder is shared with. Nextcloud and ownCloud users lost whole
//! servers that way (nextcloud/desktop#1433, owncloud/client#3066). So such a pass holds those
//! deletes back (everything else goes on), says so in the status, and lets them go only when
//! a person confirms: `cairn sync --confirm-deletes`, or `cairn sync resume` beside a running
//! sync, which leaves a confirmation in the folder's `.cairn/` naming exactly the deletes it
//! saw.
//!
//! The check itself is a pure function of the plan and the base.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::action::{Action, Plan};
use super::state::STATE_DIR;
use super::tree::{Base, BaseTree, below, is_below};

/// The file in `.cairn/` that confirms a paused mass delete: the [`MassDelete::id`] it
/// confirms.
pub const CONFIRM_FILE: &str = "confirm-deletes";

/// When a pass counts as a mass delete: more than `percent` % of the folder's files, and at
/// least `min_files` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteGuard {
    /// The share of the synced files, in percent (100: never).
    pub percent: u8,
    /// The fewest deletes that count.
    pub min_files: usize,
}

impl Default for DeleteGuard {
    /// More than half of the files, and at least 20.
    fn default() -> Self {
        Self { percent: 50, min_files: 20 }
    }
}

/// Deletes in the drive that wait for a person, as the status shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MassDelete {
    /// Files the pass would delete in the drive.
    pub files: usize,
    /// Files the folder held when last in step.
    pub of: usize,
    /// Names this exact set of deletes: a confirmation of it confirms nothing more.
    pub id: String,
    /// The files.
    #[serde(skip)]
    pub paths: BTreeSet<String>,
}

impl MassDelete {
    /// For people.
    pub fn describe(&self) -> String {
        format!(
            "paused: this pass would delete {} of the {} synced files in the drive; if that is \
             meant, run `cairn sync resume` on the folder",
            self.files, self.of
        )
    }
}

impl DeleteGuard {
    /// The mass delete `plan` would make, if it would make one.
    pub fn check(&self, plan: &Plan, base: &BaseTree) -> Option<MassDelete> {
        let deleted = deleted_files(plan, base);
        let of = base.values().filter(|b| matches!(b, Base::File(_))).count();
        let trips =
            deleted.len() >= self.min_files && deleted.len() * 100 > of * usize::from(self.percent.min(100));
        trips.then(|| {
            let mut hasher = blake3::Hasher::new();
            for path in &deleted {
                hasher.update(path.as_bytes());
                hasher.update(b"\0");
            }
            let id = hasher.finalize().to_hex()[..16].to_owned();
            MassDelete {
                files: deleted.len(),
                of,
                id,
                paths: deleted.iter().map(|p| (*p).to_owned()).collect(),
            }
        })
    }
}

/// The synced files `plan` would delete in the drive: each file deleted, and every file
/// below each folder deleted.
fn deleted_files<'a>(plan: &'a Plan, base: &'a BaseTree) -> BTreeSet<&'a str> {
    let mut files = BTreeSet::new();
    for action in &plan.actions {
        match action {
            Action::DeleteRemoteFile { path, .. } => {
                files.insert(path.as_str());
            }
            Action::DeleteRemoteFolder { path } => {
                files.extend(
                    below(base, path).filter(|(_, b)| matches!(b, Base::File(_))).map(|(p, _)| p.as_str()),
                );
            }
            _ => {}
        }
    }
    files
}

/// Takes the deletes in the drive out of `plan`, with whatever was to happen at or below
/// their paths (a file taking a deleted folder's name), so they wait for a confirmation.
pub fn hold_deletes(plan: &mut Plan) {
    let deleted: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::DeleteRemoteFile { .. } | Action::DeleteRemoteFolder { .. }))
        .map(|a| a.path().to_owned())
        .collect();
    plan.actions.retain(|action| {
        let path = action.path();
        !deleted.iter().any(|d| path == d || is_below(path, d))
    });
}

/// The confirmation left in `folder`'s `.cairn/`, if any.
pub fn read_confirmation(folder: &Path) -> Option<String> {
    let text = std::fs::read_to_string(confirmation_path(folder)).ok()?;
    Some(text.trim().to_owned()).filter(|id| !id.is_empty())
}

/// Confirms the mass delete `id` for the sync of `folder`, running or next.
pub fn confirm(folder: &Path, id: &str) -> std::io::Result<()> {
    let path = confirmation_path(folder);
    let temp = path.with_extension("new");
    std::fs::write(&temp, format!("{id}\n"))?;
    std::fs::rename(&temp, &path)
}

/// Removes a confirmation that was used, or that no longer matches what waits.
pub fn clear_confirmation(folder: &Path) {
    let path = confirmation_path(folder);
    if let Err(error) = std::fs::remove_file(&path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "could not remove the delete confirmation");
    }
}

fn confirmation_path(folder: &Path) -> PathBuf {
    folder.join(STATE_DIR).join(CONFIRM_FILE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::sync::tree::{BaseFile, FileMeta, LocalFile, RemoteFile};

    fn base(files: usize) -> BaseTree {
        let mut base = BaseTree::new();
        base.insert("docs".into(), Base::Folder);
        for i in 0..files {
            let remote = RemoteFile { id: i as u64, version: 1, size: 1 };
            let meta = FileMeta { size: 1, mtime_ns: 1, inode: i as u64 };
            let file = Base::File(BaseFile { remote, meta, hash: [0; 32] });
            let path = if i % 2 == 0 { format!("docs/{i}") } else { format!("top{i}") };
            base.insert(path, file);
        }
        base
    }

    fn delete_files(base: &BaseTree, n: usize) -> Vec<Action> {
        base.iter()
            .filter_map(|(p, b)| match b {
                Base::File(f) => Some(Action::DeleteRemoteFile { path: p.clone(), remote: f.remote }),
                Base::Folder => None,
            })
            .take(n)
            .collect()
    }

    #[test]
    fn most_of_the_folder_and_enough_files_trip_it() {
        let guard = DeleteGuard::default();
        let base = base(40);
        let plan = |actions| Plan { actions, waiting: Vec::new() };
        // 20 of 40 is half, not more.
        assert_eq!(guard.check(&plan(delete_files(&base, 20)), &base), None);
        let tripped = guard.check(&plan(delete_files(&base, 21)), &base).unwrap();
        assert_eq!((tripped.files, tripped.of), (21, 40));
        // The same deletes name themselves the same; others do not.
        assert_eq!(guard.check(&plan(delete_files(&base, 21)), &base).unwrap().id, tripped.id);
        assert_ne!(guard.check(&plan(delete_files(&base, 22)), &base).unwrap().id, tripped.id);
        // A small folder never trips it: 19 of 19 is fewer than 20 files.
        let small = super::tests::base(19);
        assert_eq!(guard.check(&plan(delete_files(&small, 19)), &small), None);
        // A folder delete counts the files below it; renames and uploads count nothing.
        let folder = plan(vec![Action::DeleteRemoteFolder { path: "docs".into() }]);
        assert_eq!(guard.check(&folder, &base), None, "20 of 40");
        let mut both = delete_files(&base, 40)
            .into_iter()
            .filter(|a| !a.path().starts_with("docs/"))
            .take(1)
            .collect::<Vec<_>>();
        both.push(Action::DeleteRemoteFolder { path: "docs".into() });
        assert_eq!(guard.check(&plan(both), &base).map(|m| m.files), Some(21));
        let off = DeleteGuard { percent: 100, min_files: 0 };
        assert_eq!(off.check(&plan(delete_files(&base, 40)), &base), None);
    }

    #[test]
    fn held_deletes_take_what_depends_on_them_along() {
        let local = LocalFile { meta: FileMeta { size: 1, mtime_ns: 1, inode: 1 }, hash: [1; 32] };
        let mut plan = Plan {
            actions: vec![
                Action::MakeRemoteFolder { path: "new".into() },
                Action::DeleteRemoteFolder { path: "old".into() },
                Action::Upload { path: "old".into(), local, base: None },
                Action::DeleteRemoteFile {
                    path: "gone.txt".into(),
                    remote: RemoteFile { id: 1, version: 1, size: 1 },
                },
                Action::Upload { path: "old/x".into(), local, base: None },
                Action::Upload { path: "older".into(), local, base: None },
            ],
            waiting: Vec::new(),
        };
        hold_deletes(&mut plan);
        let left: Vec<&str> = plan.actions.iter().map(Action::path).collect();
        assert_eq!(left, ["new", "older"]);
    }

    #[test]
    fn a_confirmation_is_one_id_in_the_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
        assert_eq!(read_confirmation(dir.path()), None);
        confirm(dir.path(), "0123abcd").unwrap();
        assert_eq!(read_confirmation(dir.path()).as_deref(), Some("0123abcd"));
        clear_confirmation(dir.path());
        clear_confirmation(dir.path());
        assert_eq!(read_confirmation(dir.path()), None);
    }
}
