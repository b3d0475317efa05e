//! Carries a plan out with the SDK, one action at a time, and writes each outcome to the base
//! as soon as it is done — so a crash loses at most the step under way, which the next pass
//! plans again.
//!
//! Every action re-checks its premise just before it acts, because the plan is a few moments
//! old: a local file about to be replaced or deleted must still be exactly as scanned (else the
//! step waits for the next pass, which sees the edit); an upload commits only on the base
//! version it was planned on (the cluster refuses it otherwise, and the conflict is handled on
//! the spot); a delete in the drive is made on the condition that nothing was put there after
//! the listing (the cluster checks its journal), so another device's edit is never trashed; a
//! download lands in `.cairn/tmp/` first and is renamed into place only after the destination
//! was checked once more. Every local path goes through the folder's [`Root`]: built from
//! checked names, and checked to reach no link and no mount point just before it is used.
//!
//! A failure of one action is reported and the rest go on; only a cluster that cannot be
//! reached (or a state database that cannot be written) stops the pass.

use crate::api::ErrorCode;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::action::{Action, Plan, Waiting};
use super::config::SyncConfig;
use super::error::SyncError;
use super::local::{file_meta, trusted};
use super::remote::remote_path;
use super::state::{Change, STATE_DIR, StateDb};
use super::status::SyncStatus;
use super::tree::{Base, BaseFile, FileMeta, Hash, RemoteFile};
use crate::api::Listing;
use crate::disk::{Breach, Root};
use crate::{Client, ClientError};

/// Where downloads are written before they are renamed into place.
pub const TMP_DIR: &str = "tmp";

/// How one action ended.
#[derive(Debug)]
pub enum Step {
    /// Done (and recorded).
    Done,
    /// Not done: its premise no longer holds; the next pass plans again.
    Deferred(String),
}

/// What a pass did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Actions that changed something on either side.
    pub changed: usize,
    /// Actions that only updated the base.
    pub recorded: usize,
    /// Paths whose action did not happen, and why.
    pub waiting: Vec<Waiting>,
}

/// Carries out plans for one synced folder.
pub struct Executor<'a> {
    pub(super) client: &'a Client,
    pub(super) config: &'a SyncConfig,
    pub(super) state: &'a mut StateDb,
    pub(super) status: &'a watch::Sender<SyncStatus>,
    /// The synced folder, walled.
    pub(super) root: Arc<Root>,
    /// The journal cursor the remote listing was taken after: deletes in the drive are made on
    /// the condition that nothing was put there since.
    listed_after: u64,
    /// Bookkeeping not written yet: it changes nothing on either side, so it is written in
    /// one transaction at the end of the pass, and losing it in a crash only costs a re-check.
    bookkeeping: Vec<Change>,
}

impl<'a> Executor<'a> {
    /// An executor for `config`'s folders (the local one walled as `root`), recording into
    /// `state` and reporting on `status`, for a plan made from a remote listing taken after
    /// journal cursor `listed_after`.
    pub fn new(
        client: &'a Client,
        config: &'a SyncConfig,
        root: Arc<Root>,
        state: &'a mut StateDb,
        status: &'a watch::Sender<SyncStatus>,
        listed_after: u64,
    ) -> Self {
        Self { client, config, state, status, root, listed_after, bookkeeping: Vec::new() }
    }

    /// Carries out `plan`. Stops early only when the cluster cannot be reached or the base
    /// cannot be written; anything else that fails is reported in the outcome.
    pub async fn run(&mut self, plan: &Plan) -> Result<Outcome, SyncError> {
        self.on_disk(|root| root.create_dir_all(&tmp_rel(""))).await?;
        let mut outcome = Outcome::default();
        let total = plan.actions.len();
        for (i, action) in plan.actions.iter().enumerate() {
            if !action.is_bookkeeping() {
                self.status.send_modify(|s| {
                    s.detail = format!("{} {}", action.verb(), action.path());
                    s.done = i;
                    s.total = total;
                });
            }
            let result = self.one(action).await;
            if let Err(e) = &result
                && (e.is_offline() || matches!(e, SyncError::State { .. }))
            {
                self.flush_bookkeeping()?;
            }
            match result {
                Ok(Step::Done) if action.is_bookkeeping() => outcome.recorded += 1,
                Ok(Step::Done) => outcome.changed += 1,
                Ok(Step::Deferred(reason)) => {
                    tracing::debug!(path = action.path(), %reason, "deferred");
                    outcome.waiting.push(Waiting { path: action.path().to_owned(), reason });
                }
                Err(e) if e.is_offline() || matches!(e, SyncError::State { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(path = action.path(), error = %e, "{} failed", action.verb());
                    let reason = format!("{} failed: {e}", action.verb());
                    outcome.waiting.push(Waiting { path: action.path().to_owned(), reason });
                }
            }
        }
        self.flush_bookkeeping()?;
        self.status.send_modify(|s| s.done = total);
        Ok(outcome)
    }

    fn flush_bookkeeping(&mut self) -> Result<(), SyncError> {
        let changes = std::mem::take(&mut self.bookkeeping);
        self.state.apply(&changes)
    }

    /// One action.
    async fn one(&mut self, action: &Action) -> Result<Step, SyncError> {
        match action {
            Action::MakeLocalFolder { path } => {
                let rel = path.clone();
                self.on_disk(move |root| root.create_dir_all(&rel)).await?;
                self.record(vec![Change::Put(path.clone(), Base::Folder)])
            }
            Action::MakeRemoteFolder { path } => {
                self.client.make_folder(&self.remote(path), self.config.ns).await?;
                self.record(vec![Change::Put(path.clone(), Base::Folder)])
            }
            Action::Upload { path, base, .. } => self.upload(path, *base).await,
            Action::Download { path, remote, replace } => {
                self.download(path, *remote, replace.map(|l| l.meta)).await
            }
            Action::DeleteLocalFile { path, local } => {
                let (rel, expected) = (path.clone(), local.meta);
                let removed = self
                    .on_disk(move |root| match meta_of(&root.check(&rel)?)? {
                        None => Ok(true),
                        Some(now) if now == expected => root.remove_file(&rel).map(|()| true),
                        Some(_) => Ok(false),
                    })
                    .await?;
                if !removed {
                    return Ok(changed_locally());
                }
                self.record(vec![Change::Remove(path.clone())])
            }
            Action::DeleteLocalFolder { path } => self.delete_local_folder(path).await,
            Action::DeleteRemoteFile { path, .. } => {
                self.delete_remote(path, Change::Remove(path.clone())).await
            }
            Action::DeleteRemoteFolder { path } => {
                self.delete_remote(path, Change::RemoveTree(path.clone())).await
            }
            Action::RenameLocal { from, to, local, remote } => {
                let (source, target, expected) = (from.clone(), to.clone(), local.meta);
                let moved = self
                    .on_disk(move |root| {
                        if meta_of(&root.check(&source)?)? != Some(expected) {
                            return Ok(Some(changed_locally()));
                        }
                        // On a disk that takes both names for one (a change of case), the new
                        // name finds the file itself.
                        let one_name = root.names().fold(&source) == root.names().fold(&target);
                        if meta_of(&root.check(&target)?)?.is_some() && !one_name {
                            return Ok(Some(Step::Deferred(
                                "something appeared at the new name meanwhile".into(),
                            )));
                        }
                        root.create_parent(&target)?;
                        root.rename(&source, &target).map(|()| None)
                    })
                    .await?;
                if let Some(step) = moved {
                    return Ok(step);
                }
                let base = BaseFile { remote: *remote, meta: trusted(local.meta), hash: local.hash };
                self.record(vec![Change::Remove(from.clone()), Change::Put(to.clone(), Base::File(base))])
            }
            Action::RenameRemote { from, to, remote, local } => {
                match self.client.move_path(&self.remote(from), &self.remote(to), self.config.ns).await {
                    Ok(_) => {}
                    Err(e) if matches!(e.api_code(), Some(ErrorCode::NotFound | ErrorCode::Exists)) => {
                        return Ok(Step::Deferred(format!("the drive refused the rename: {e}")));
                    }
                    Err(e) => return Err(e.into()),
                }
                let base = BaseFile { remote: *remote, meta: trusted(local.meta), hash: local.hash };
                self.record(vec![Change::Remove(from.clone()), Change::Put(to.clone(), Base::File(base))])
            }
            Action::Conflict { path, local, remote } => self.conflict(path, *local, *remote).await,
            Action::Record { path, base } => {
                let base = match base {
                    Base::File(f) => Base::File(BaseFile { meta: trusted(f.meta), ..*f }),
                    Base::Folder => Base::Folder,
                };
                // Metadata too recent to trust is remembered as unknown, as it was: nothing new.
                if self.state.base().get(path) != Some(&base) {
                    self.bookkeeping.push(Change::Put(path.clone(), base));
                }
                Ok(Step::Done)
            }
            Action::Forget { path } => {
                self.bookkeeping.push(Change::Remove(path.clone()));
                Ok(Step::Done)
            }
        }
    }

    /// Trashes what the disk lost, unless another device put something there after the listing
    /// the plan was made from: then it waits, and the next pass downloads the edit instead.
    async fn delete_remote(&mut self, path: &str, forget: Change) -> Result<Step, SyncError> {
        let remote = self.remote(path);
        match self.client.delete_if_unchanged(&remote, self.config.ns, self.listed_after).await {
            Ok(_) => {}
            // Gone already: deleted (or trashed) by another device, as wanted.
            Err(e) if matches!(e.api_code(), Some(ErrorCode::NotFound | ErrorCode::WrongKind)) => {}
            Err(e) if matches!(e.api_code(), Some(ErrorCode::Changed | ErrorCode::CursorExpired)) => {
                return Ok(Step::Deferred("changed in the drive meanwhile".into()));
            }
            Err(e) => return Err(e.into()),
        }
        self.record(vec![forget])
    }

    /// Removes a local folder the drive deleted, once what was synced in it is gone. Files
    /// systems drop into folders (`.DS_Store`, `Thumbs.db`) go with it; anything else left in it
    /// keeps it, and it is forgotten, so the next pass puts it back in the drive.
    async fn delete_local_folder(&mut self, path: &str) -> Result<Step, SyncError> {
        let rel = path.to_owned();
        let removed = self
            .on_disk(move |root| {
                let folder = root.check(&rel)?;
                if let Ok(entries) = std::fs::read_dir(&folder) {
                    for entry in entries.flatten() {
                        if let Some(name @ (".DS_Store" | "Thumbs.db" | "desktop.ini")) =
                            entry.file_name().to_str()
                        {
                            let _ = root.remove_file(&format!("{rel}/{name}"));
                        }
                    }
                }
                match root.remove_dir(&rel) {
                    Ok(()) => Ok(true),
                    Err(e) => match e.io_error().map(std::io::Error::kind) {
                        Some(std::io::ErrorKind::NotFound) => Ok(true),
                        Some(std::io::ErrorKind::DirectoryNotEmpty) => Ok(false),
                        _ => Err(e),
                    },
                }
            })
            .await?;
        if removed {
            self.record(vec![Change::RemoveTree(path.to_owned())])
        } else {
            self.record(vec![Change::Remove(path.to_owned())])?;
            Ok(Step::Deferred("the folder still holds files that are not synced; it is kept".into()))
        }
    }

    /// Runs `work` on the walled folder, on a blocking thread.
    pub(super) async fn on_disk<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Root) -> Result<T, Breach> + Send + 'static,
    ) -> Result<T, SyncError> {
        let root = self.root.clone();
        let joined = tokio::task::spawn_blocking(move || work(&root)).await;
        let done = joined.map_err(|e| SyncError::io(self.root.path(), std::io::Error::other(e)))?;
        Ok(done?)
    }

    /// The checked local path of a relative path, for the SDK calls that take one.
    pub(super) async fn checked(&self, rel: &str) -> Result<PathBuf, SyncError> {
        let rel = rel.to_owned();
        self.on_disk(move |root| root.check(&rel)).await
    }

    /// The drive path of a relative path.
    pub(super) fn remote(&self, rel: &str) -> String {
        remote_path(&self.config.remote, rel)
    }

    /// The head of the drive's file at `rel`, or `None` if there is no file there.
    pub(super) async fn remote_head(&self, rel: &str) -> Result<Option<RemoteFile>, SyncError> {
        let listing = Listing { ns: self.config.ns, limit: Some(1), ..Listing::default() };
        match self.client.stat(&self.remote(rel), &listing).await {
            Ok(view) => Ok(view.file.filter(|f| f.status == "complete").map(|f| RemoteFile {
                id: f.id,
                version: f.version,
                size: f.size,
            })),
            Err(e) if e.is(ErrorCode::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes `changes` to the base.
    pub(super) fn record(&mut self, changes: Vec<Change>) -> Result<Step, SyncError> {
        self.state.apply(&changes)?;
        Ok(Step::Done)
    }
}

/// A local file's metadata, or `None` if nothing is there (a folder counts as something).
/// Blocking: call it inside [`Executor::on_disk`].
pub(super) fn meta_of(path: &Path) -> Result<Option<FileMeta>, Breach> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(file_meta(&meta))),
        Ok(_) => Ok(Some(FileMeta { size: u64::MAX, mtime_ns: -1, inode: 0 })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Breach::Io { path: path.to_path_buf(), source }),
    }
}

/// The relative path of a name in the folder downloads land in first.
pub(super) fn tmp_rel(name: &str) -> String {
    if name.is_empty() { format!("{STATE_DIR}/{TMP_DIR}") } else { format!("{STATE_DIR}/{TMP_DIR}/{name}") }
}

pub(super) fn changed_locally() -> Step {
    Step::Deferred("changed locally since the scan".into())
}

/// A hash from its hex form.
pub(super) fn parse_hash(hex_hash: &str) -> Result<Hash, SyncError> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut hash).map_err(|_| {
        SyncError::Client(ClientError::Protocol {
            node: String::new(),
            what: format!("{hex_hash:?} is not a hash"),
        })
    })?;
    Ok(hash)
}
