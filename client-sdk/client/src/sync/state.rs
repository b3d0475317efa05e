//! The base on disk: for each synced path, what both sides held when last in step (the drive's
//! file id and version; the local size, mtime, inode and blake3 hash), plus the journal cursor.
//!
//! It lives in the synced folder itself, in `.cairn/state.redb`, which sync never touches: the
//! state goes where the folder goes (a moved or renamed folder keeps it, a deleted one takes it
//! along), and nothing maps folder paths to state files. redb is a pure-Rust embedded store
//! whose commits are copy-on-write with checksummed roots and an fsync, so a crash leaves the
//! last committed state, never a half-written one; each action's outcome is one small
//! transaction, where a single JSON file would be rewritten whole for every file synced. redb
//! also locks its file, so two `cairn sync` processes can never run on one folder.
//!
//! Losing the state is safe, only slower: the next pass compares both sides from scratch, and
//! files found equal on both (same hash) are simply recorded.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::tree::{Base, BaseTree, below};

/// The folder inside a synced folder that holds the engine's own files.
pub const STATE_DIR: &str = ".cairn";
const STATE_FILE: &str = "state.redb";

/// path → postcard-encoded [`Base`].
const BASE: TableDefinition<&str, &[u8]> = TableDefinition::new("base");
/// Settings and the cursor, by name.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BINDING: &str = "binding";
const CURSOR: &str = "cursor";

/// Which drive folder a local folder is synced with; fixed when it is first synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Binding {
    remote: String,
    ns: Option<u64>,
}

/// One change to the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set what a path holds.
    Put(String, Base),
    /// Forget a path.
    Remove(String),
    /// Forget a path and everything below it.
    RemoveTree(String),
}

/// What a folder's state holds, for people (`cairn sync status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The drive folder it is synced with ("" for the whole drive).
    pub remote: String,
    /// The namespace, if not the user's own drive.
    pub ns: Option<u64>,
    /// Files in step.
    pub files: usize,
    /// Folders in step.
    pub folders: usize,
    /// The journal cursor saved last.
    pub cursor: Option<u64>,
}

/// The open state database of one synced folder, with the base mirrored in memory.
pub struct StateDb {
    db: Database,
    path: PathBuf,
    base: BaseTree,
}

impl StateDb {
    /// Opens (or creates) the state of `folder`, synced with `remote` in namespace `ns`.
    /// Fails if another process has it open, or if the folder was synced with another drive
    /// folder.
    pub fn open(folder: &Path, remote: &str, ns: Option<u64>) -> Result<Self, SyncError> {
        let dir = folder.join(STATE_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| SyncError::io(&dir, e))?;
        let path = dir.join(STATE_FILE);
        let db = match Database::create(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(SyncError::InUse(folder.to_path_buf()));
            }
            Err(e) => return Err(db_error(&path, e)),
        };
        let wanted = Binding { remote: remote.to_owned(), ns };
        let txn = db.begin_write().map_err(|e| db_error(&path, e))?;
        {
            txn.open_table(BASE).map_err(|e| db_error(&path, e))?;
            let mut meta = txn.open_table(META).map_err(|e| db_error(&path, e))?;
            let bound = meta.get(BINDING).map_err(|e| db_error(&path, e))?.map(|v| v.value().to_vec());
            match bound {
                None => {
                    let bytes = postcard::to_allocvec(&wanted).map_err(|e| db_error(&path, e))?;
                    meta.insert(BINDING, bytes.as_slice()).map_err(|e| db_error(&path, e))?;
                }
                Some(bytes) => {
                    let bound: Binding = postcard::from_bytes(&bytes).map_err(|e| db_error(&path, e))?;
                    if bound != wanted {
                        return Err(SyncError::Bound {
                            folder: folder.to_path_buf(),
                            bound: describe(&bound),
                            asked: describe(&wanted),
                        });
                    }
                }
            }
        }
        txn.commit().map_err(|e| db_error(&path, e))?;
        let mut state = Self { db, path, base: BaseTree::new() };
        state.base = state.load()?;
        Ok(state)
    }

    /// What the state of `folder` holds, without opening it for a sync: `None` if the folder
    /// was never synced, [`SyncError::InUse`] while a sync runs on it.
    pub fn summary(folder: &Path) -> Result<Option<Summary>, SyncError> {
        let path = folder.join(STATE_DIR).join(STATE_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let db = match Database::open(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(SyncError::InUse(folder.to_path_buf()));
            }
            Err(e) => return Err(db_error(&path, e)),
        };
        let txn = db.begin_read().map_err(|e| db_error(&path, e))?;
        let meta = txn.open_table(META).map_err(|e| db_error(&path, e))?;
        let binding = meta.get(BINDING).map_err(|e| db_error(&path, e))?.map(|v| v.value().to_vec());
        let Some(binding) = binding else { return Ok(None) };
        let binding: Binding = postcard::from_bytes(&binding).map_err(|e| db_error(&path, e))?;
        let cursor = meta
            .get(CURSOR)
            .map_err(|e| db_error(&path, e))?
            .and_then(|v| v.value().try_into().ok().map(u64::from_be_bytes));
        let state = Self { db, path: path.clone(), base: BaseTree::new() };
        let base = state.load()?;
        let folders = base.values().filter(|b| matches!(b, Base::Folder)).count();
        Ok(Some(Summary {
            remote: binding.remote,
            ns: binding.ns,
            files: base.len() - folders,
            folders,
            cursor,
        }))
    }

    /// The base as last committed.
    pub fn base(&self) -> &BaseTree {
        &self.base
    }

    /// The journal cursor saved last, if any.
    pub fn cursor(&self) -> Result<Option<u64>, SyncError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let meta = txn.open_table(META).map_err(|e| self.error(e))?;
        let value = meta.get(CURSOR).map_err(|e| self.error(e))?;
        Ok(value.and_then(|v| v.value().try_into().ok().map(u64::from_be_bytes)))
    }

    /// Saves the journal cursor.
    pub fn set_cursor(&mut self, cursor: u64) -> Result<(), SyncError> {
        let txn = self.db.begin_write().map_err(|e| self.error(e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.error(e))?;
            meta.insert(CURSOR, cursor.to_be_bytes().as_slice()).map_err(|e| self.error(e))?;
        }
        txn.commit().map_err(|e| self.error(e))
    }

    /// Applies `changes` in one transaction: all of them are durable when this returns, or
    /// none is.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), SyncError> {
        if changes.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(|e| self.error(e))?;
        {
            let mut table = txn.open_table(BASE).map_err(|e| self.error(e))?;
            for change in changes {
                match change {
                    Change::Put(path, base) => {
                        let bytes = postcard::to_allocvec(base).map_err(|e| self.error(e))?;
                        table.insert(path.as_str(), bytes.as_slice()).map_err(|e| self.error(e))?;
                    }
                    Change::Remove(path) => {
                        table.remove(path.as_str()).map_err(|e| self.error(e))?;
                    }
                    Change::RemoveTree(path) => {
                        table.remove(path.as_str()).map_err(|e| self.error(e))?;
                        for (below, _) in below(&self.base, path) {
                            table.remove(below.as_str()).map_err(|e| self.error(e))?;
                        }
                    }
                }
            }
        }
        txn.commit().map_err(|e| self.error(e))?;
        for change in changes {
            match change {
                Change::Put(path, base) => {
                    self.base.insert(path.clone(), *base);
                }
                Change::Remove(path) => {
                    self.base.remove(path);
                }
                Change::RemoveTree(path) => {
                    let gone: Vec<String> = below(&self.base, path).map(|(p, _)| p.clone()).collect();
                    self.base.remove(path);
                    for p in gone {
                        self.base.remove(&p);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads the whole base from disk.
    fn load(&self) -> Result<BaseTree, SyncError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(BASE).map_err(|e| self.error(e))?;
        let mut base = BaseTree::new();
        for item in table.iter().map_err(|e| self.error(e))? {
            let (key, value) = item.map_err(|e| self.error(e))?;
            let entry: Base = postcard::from_bytes(value.value())
                .map_err(|e| self.error(format!("the entry of {:?}: {e}", key.value())))?;
            base.insert(key.value().to_owned(), entry);
        }
        Ok(base)
    }

    fn error(&self, e: impl std::fmt::Display) -> SyncError {
        db_error(&self.path, e)
    }
}

fn db_error(path: &Path, e: impl std::fmt::Display) -> SyncError {
    SyncError::State { path: path.to_path_buf(), message: e.to_string() }
}

fn describe(binding: &Binding) -> String {
    match binding.ns {
        Some(ns) => format!("/{} in namespace {ns}", binding.remote),
        None => format!("/{}", binding.remote),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::sync::tree::{BaseFile, FileMeta, RemoteFile};

    fn file(n: u8) -> Base {
        Base::File(BaseFile {
            remote: RemoteFile { id: u64::from(n), version: 1, size: 3 },
            meta: FileMeta { size: 3, mtime_ns: 1_700_000_000_000_000_000, inode: 42 },
            hash: [n; 32],
        })
    }

    #[test]
    fn the_base_survives_a_reopen_and_trees_are_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut db = StateDb::open(dir.path(), "docs", None).unwrap();
            assert!(db.base().is_empty());
            assert_eq!(db.cursor().unwrap(), None);
            db.apply(&[
                Change::Put("a".into(), Base::Folder),
                Change::Put("a/x".into(), file(1)),
                Change::Put("a/y/z".into(), file(2)),
                Change::Put("ab".into(), file(3)),
            ])
            .unwrap();
            db.apply(&[Change::RemoveTree("a/y".into()), Change::Remove("nothing".into())]).unwrap();
            db.set_cursor(17).unwrap();
        }
        let mut db = StateDb::open(dir.path(), "docs", None).unwrap();
        let paths: Vec<_> = db.base().keys().cloned().collect();
        assert_eq!(paths, ["a", "a/x", "ab"]);
        assert_eq!(db.base()["a/x"], file(1));
        assert_eq!(db.cursor().unwrap(), Some(17));
        db.apply(&[Change::RemoveTree("a".into())]).unwrap();
        drop(db);
        let db = StateDb::open(dir.path(), "docs", None).unwrap();
        assert_eq!(db.base().keys().collect::<Vec<_>>(), ["ab"]);
    }

    #[test]
    fn one_folder_one_sync_one_drive_folder() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path(), "docs", None).unwrap();
        assert!(matches!(StateDb::open(dir.path(), "docs", None), Err(SyncError::InUse(_))));
        drop(db);
        let err = StateDb::open(dir.path(), "other", None).err().unwrap();
        assert!(matches!(err, SyncError::Bound { .. }), "{err}");
        assert!(matches!(StateDb::open(dir.path(), "docs", Some(3)), Err(SyncError::Bound { .. })));
        let mut db = StateDb::open(dir.path(), "docs", None).unwrap();
        assert!(matches!(StateDb::summary(dir.path()), Err(SyncError::InUse(_))));
        db.apply(&[Change::Put("a".into(), Base::Folder), Change::Put("a/x".into(), file(1))]).unwrap();
        drop(db);
        let summary = StateDb::summary(dir.path()).unwrap().unwrap();
        assert_eq!(summary, Summary { remote: "docs".into(), ns: None, files: 1, folders: 1, cursor: None });
        assert_eq!(StateDb::summary(&dir.path().join("never")).unwrap(), None);
    }
}
