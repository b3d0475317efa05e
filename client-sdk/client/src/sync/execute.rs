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
//! was checked once more.
//!
//! A failure of one action is reported and the rest go on; only a cluster that cannot be
//! reached (or a state database that cannot be written) stops the pass.

use std::path::{Path, PathBuf};

use tokio::sync::watch;

use super::action::{Action, Plan, Waiting};
use super::config::SyncConfig;
use super::error::SyncError;
use super::local::{file_meta, local_path, trusted};
use super::remote::remote_path;
use super::state::{Change, STATE_DIR, StateDb};
use super::status::SyncStatus;
use super::tree::{Base, BaseFile, FileMeta, Hash, RemoteFile};
use crate::api::Listing;
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
    /// The journal cursor the remote listing was taken after: deletes in the drive are made on
    /// the condition that nothing was put there since.
    listed_after: u64,
    /// Bookkeeping not written yet: it changes nothing on either side, so it is written in
    /// one transaction at the end of the pass, and losing it in a crash only costs a re-check.
    bookkeeping: Vec<Change>,
}

impl<'a> Executor<'a> {
    /// An executor for `config`'s folders, recording into `state` and reporting on `status`,
    /// for a plan made from a remote listing taken after journal cursor `listed_after`.
    pub fn new(
        client: &'a Client,
        config: &'a SyncConfig,
        state: &'a mut StateDb,
        status: &'a watch::Sender<SyncStatus>,
        listed_after: u64,
    ) -> Self {
        Self { client, config, state, status, listed_after, bookkeeping: Vec::new() }
    }

    /// Carries out `plan`. Stops early only when the cluster cannot be reached or the base
    /// cannot be written; anything else that fails is reported in the outcome.
    pub async fn run(&mut self, plan: &Plan) -> Result<Outcome, SyncError> {
        let tmp = self.config.local.join(STATE_DIR).join(TMP_DIR);
        tokio::fs::create_dir_all(&tmp).await.map_err(|e| SyncError::io(&tmp, e))?;
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
                let local = self.local(path);
                tokio::fs::create_dir_all(&local).await.map_err(|e| SyncError::io(&local, e))?;
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
                let file = self.local(path);
                match meta_of(&file).await? {
                    None => {}
                    Some(now) if now == local.meta => {
                        tokio::fs::remove_file(&file).await.map_err(|e| SyncError::io(&file, e))?;
                    }
                    Some(_) => return Ok(changed_locally()),
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
                let (source, target) = (self.local(from), self.local(to));
                if meta_of(&source).await? != Some(local.meta) {
                    return Ok(changed_locally());
                }
                if meta_of(&target).await?.is_some() {
                    return Ok(Step::Deferred("something appeared at the new name meanwhile".into()));
                }
                create_parent(&target).await?;
                tokio::fs::rename(&source, &target).await.map_err(|e| SyncError::io(&source, e))?;
                let base = BaseFile { remote: *remote, meta: trusted(local.meta), hash: local.hash };
                self.record(vec![Change::Remove(from.clone()), Change::Put(to.clone(), Base::File(base))])
            }
            Action::RenameRemote { from, to, remote, local } => {
                match self.client.move_path(&self.remote(from), &self.remote(to), self.config.ns).await {
                    Ok(_) => {}
                    Err(e) if matches!(e.code(), "not_found" | "exists") => {
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
            Err(e) if matches!(e.code(), "not_found" | "wrong_kind") => {}
            Err(e) if matches!(e.code(), "changed" | "cursor_expired") => {
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
        let folder = self.local(path);
        if let Ok(mut entries) = tokio::fs::read_dir(&folder).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                let name = entry.file_name();
                if matches!(name.to_str(), Some(".DS_Store" | "Thumbs.db" | "desktop.ini")) {
                    let _ = tokio::fs::remove_file(entry.path()).await;
                }
            }
        }
        match tokio::fs::remove_dir(&folder).await {
            Ok(()) => self.record(vec![Change::RemoveTree(path.to_owned())]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.record(vec![Change::RemoveTree(path.to_owned())])
            }
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                self.record(vec![Change::Remove(path.to_owned())])?;
                Ok(Step::Deferred("the folder still holds files that are not synced; it is kept".into()))
            }
            Err(e) => Err(SyncError::io(&folder, e)),
        }
    }

    /// The local path of a relative path.
    pub(super) fn local(&self, rel: &str) -> PathBuf {
        local_path(&self.config.local, rel)
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
            Err(e) if e.code() == "not_found" => Ok(None),
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
pub(super) async fn meta_of(path: &Path) -> Result<Option<FileMeta>, SyncError> {
    match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.is_file() => Ok(Some(file_meta(&meta))),
        Ok(_) => Ok(Some(FileMeta { size: u64::MAX, mtime_ns: -1, inode: 0 })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SyncError::io(path, e)),
    }
}

pub(super) async fn create_parent(path: &Path) -> Result<(), SyncError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(|e| SyncError::io(parent, e))?;
    }
    Ok(())
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
