//! The executor's steps that move content: uploads on a base version, downloads renamed into
//! place only over what the plan expected, and conflicts, which keep the local side as a
//! conflicted copy (uploaded as a new file) and take the drive's.

use super::conflict_name::{conflicted_copy, stamp_now};
use super::error::SyncError;
use super::execute::{Executor, Step, TMP_DIR, changed_locally, create_parent, meta_of, parse_hash};
use super::local::{hash_file, local_path, trusted};
use super::state::{Change, STATE_DIR};
use super::tree::{Base, BaseFile, FileMeta, Local, Remote, RemoteFile};
use crate::api::{DownloadOptions, Manifest};
use crate::upload::{Base as On, PutOptions};

impl Executor<'_> {
    /// Uploads the local file at `path` on `base`; if another device committed first, the
    /// conflict is settled at once.
    pub(super) async fn upload(&mut self, path: &str, base: Option<u64>) -> Result<Step, SyncError> {
        match self.upload_on(path, base).await {
            Err(SyncError::Client(e)) if e.code() == "conflict" => {
                tracing::info!(path, "another device committed first");
                let Some(head) = self.remote_head(path).await? else {
                    return Ok(Step::Deferred("the drive's file went away meanwhile".into()));
                };
                let file = self.local(path);
                let read = tokio::task::spawn_blocking(move || hash_file(&file)).await;
                let Ok(Ok(Some((meta, hash)))) = read else { return Ok(changed_locally()) };
                let local = Local::File(super::tree::LocalFile { meta, hash });
                self.conflict(path, local, Remote::File(head)).await
            }
            other => other,
        }
    }

    /// The upload itself: a refused commit comes back as the client's `conflict` error.
    async fn upload_on(&mut self, path: &str, base: Option<u64>) -> Result<Step, SyncError> {
        let file = self.local(path);
        // The metadata before the read is what the base remembers: if the file changes during
        // the upload, the next scan sees other metadata, reads it again and uploads again.
        let before = match meta_of(&file).await? {
            Some(meta) if meta.mtime_ns >= 0 => meta,
            _ => return Ok(changed_locally()),
        };
        let options = PutOptions {
            base: base.map_or(On::New, On::Version),
            ns: self.config.ns,
            ..PutOptions::default()
        };
        let report = self.client.upload_file(&file, &self.remote(path), &options).await?;
        let hash = parse_hash(&report.hash)?;
        let remote =
            RemoteFile { id: report.committed.file, version: report.committed.version, size: report.size };
        let base = BaseFile { remote, meta: trusted(before), hash };
        self.record(vec![Change::Put(path.to_owned(), Base::File(base))])
    }

    /// Downloads `remote` to `path`, where the local file must still have the metadata
    /// `replace` (or nothing must be, for `None`).
    pub(super) async fn download(
        &mut self,
        path: &str,
        remote: RemoteFile,
        replace: Option<FileMeta>,
    ) -> Result<Step, SyncError> {
        let target = self.local(path);
        // No point fetching what could not be put in place.
        if meta_of(&target).await? != replace {
            return Ok(changed_locally());
        }
        let tmp_dir = self.config.local.join(STATE_DIR).join(TMP_DIR);
        let tmp = tmp_dir.join(format!("{:016x}.download", rand::random::<u64>()));
        let options = DownloadOptions { ns: self.config.ns, version: Some(remote.version) };
        let downloaded = match self.client.download_file(&self.remote(path), &tmp, &options, None).await {
            Ok(downloaded) => downloaded,
            Err(e) if e.code() == "not_found" => {
                return Ok(Step::Deferred("gone from the drive meanwhile".into()));
            }
            Err(e) => return Err(e.into()),
        };
        let result = self.put_in_place(path, &tmp, replace, &downloaded.manifest).await;
        if !matches!(result, Ok(Step::Done)) {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Renames a verified download over `path`, after one last look at what is there.
    async fn put_in_place(
        &mut self,
        path: &str,
        tmp: &std::path::Path,
        replace: Option<FileMeta>,
        manifest: &Manifest,
    ) -> Result<Step, SyncError> {
        let hash = parse_hash(&manifest.hash)?;
        let target = self.local(path);
        // The rename keeps the inode and mtime: what the base remembers is the file's as it
        // lands, before anyone else can touch it.
        let Some(meta) = meta_of(tmp).await? else {
            return Ok(Step::Deferred("the download vanished before it was put in place".into()));
        };
        // The last look: an edit made since the scan is never overwritten.
        if meta_of(&target).await? != replace {
            return Ok(changed_locally());
        }
        create_parent(&target).await?;
        tokio::fs::rename(tmp, &target).await.map_err(|e| SyncError::io(&target, e))?;
        let remote = RemoteFile { id: manifest.file, version: manifest.version, size: manifest.size };
        let base = BaseFile { remote, meta: trusted(meta), hash };
        self.record(vec![Change::Put(path.to_owned(), Base::File(base))])
    }

    /// Both sides changed `path`. The same content on both: in step. Otherwise the local side
    /// moves to a conflicted copy's name (and a local file is uploaded as a new file there),
    /// and the drive's side is taken at `path`.
    pub(super) async fn conflict(
        &mut self,
        path: &str,
        local: Local,
        remote: Remote,
    ) -> Result<Step, SyncError> {
        let source = self.local(path);
        let still = match local {
            Local::File(l) => meta_of(&source).await? == Some(l.meta),
            Local::Folder => tokio::fs::symlink_metadata(&source).await.is_ok_and(|m| m.is_dir()),
        };
        if !still {
            return Ok(changed_locally());
        }
        if let (Local::File(l), Remote::File(r)) = (local, remote) {
            let options = DownloadOptions { ns: self.config.ns, version: Some(r.version) };
            let manifest = match self.client.manifest(&self.remote(path), &options).await {
                Ok(manifest) => manifest,
                Err(e) if e.code() == "not_found" => {
                    return Ok(Step::Deferred("gone from the drive meanwhile".into()));
                }
                Err(e) => return Err(e.into()),
            };
            if parse_hash(&manifest.hash)? == l.hash {
                let remote = RemoteFile { id: manifest.file, version: manifest.version, size: manifest.size };
                let base = BaseFile { remote, meta: trusted(l.meta), hash: l.hash };
                return self.record(vec![Change::Put(path.to_owned(), Base::File(base))]);
            }
        }
        let root = self.config.local.clone();
        let copy = conflicted_copy(path, &self.config.device, &stamp_now(), |q| {
            self.state.base().contains_key(q) || local_path(&root, q).symlink_metadata().is_ok()
        });
        let copy_path = self.local(&copy);
        if meta_of(&copy_path).await?.is_some() {
            return Ok(Step::Deferred("no free name for a conflicted copy".into()));
        }
        tokio::fs::rename(&source, &copy_path).await.map_err(|e| SyncError::io(&source, e))?;
        tracing::warn!(%path, %copy, "conflict: this device's version is kept as a conflicted copy");
        if matches!(local, Local::File(_)) {
            // Uploaded as a new file now; if that fails, the next pass uploads it.
            match self.upload_on(&copy, None).await {
                Err(e) if e.is_offline() || matches!(e, SyncError::State { .. }) => return Err(e),
                Err(e) => tracing::warn!(%copy, error = %e, "the conflicted copy is uploaded later"),
                Ok(_) => {}
            }
        }
        match remote {
            Remote::File(r) => self.download(path, r, None).await,
            Remote::Folder => {
                tokio::fs::create_dir_all(&source).await.map_err(|e| SyncError::io(&source, e))?;
                self.record(vec![Change::Put(path.to_owned(), Base::Folder)])
            }
            Remote::Busy => Ok(Step::Deferred("being uploaded from another device".into())),
        }
    }
}
