//! The executor's steps that move content: uploads on a base version, downloads renamed into
//! place only over what the plan expected, and conflicts, which keep the local side as a
//! conflicted copy (uploaded as a new file) and take the drive's.
//!
//! "Both sides hold the same content" is never taken on the drive's word: the local file is
//! read again and cut into blocks as an upload would cut it, and its block ids — the hashes of
//! their content, which every download checks — must be the version's; a version cut
//! differently is downloaded and checked against its hash instead.

use crate::api::ErrorCode;
use std::path::{Path, PathBuf};

use cairn_proto::StreamChunker;

use super::conflict_name::{conflicted_copy, stamp_now};
use super::error::SyncError;
use super::execute::{Executor, Step, changed_locally, meta_of, parse_hash, tmp_rel};
use super::local::{hash_file, trusted};
use super::state::Change;
use super::tree::{Base, BaseFile, FileMeta, Hash, Local, LocalFile, Remote, RemoteFile};
use crate::api::{BlockEntry, DownloadOptions, Manifest};
use crate::upload::{CommitOn, PutOptions};

/// Whether a local file holds a drive version's content.
enum Same {
    /// Yes, checked.
    Yes,
    /// No (or it could not be shown).
    No,
    /// The local file changed since the scan.
    Changed,
}

impl Executor<'_> {
    /// Uploads the local file at `path` on `base`; if another device committed first, the
    /// conflict is settled at once.
    pub(super) async fn upload(&mut self, path: &str, base: Option<u64>) -> Result<Step, SyncError> {
        match self.upload_on(path, base).await {
            Err(SyncError::Client(e)) if e.is(ErrorCode::Conflict) => {
                tracing::info!(path, "another device committed first");
                let Some(head) = self.remote_head(path).await? else {
                    return Ok(Step::Deferred("the drive's file went away meanwhile".into()));
                };
                let file = self.checked(path).await?;
                let read = tokio::task::spawn_blocking(move || hash_file(&file)).await;
                let Ok(Ok(Some((meta, hash)))) = read else { return Ok(changed_locally()) };
                let local = Local::File(LocalFile { meta, hash });
                self.conflict(path, local, Remote::File(head)).await
            }
            other => other,
        }
    }

    /// The upload itself: a refused commit comes back as the client's `conflict` error.
    async fn upload_on(&mut self, path: &str, base: Option<u64>) -> Result<Step, SyncError> {
        let file = self.checked(path).await?;
        // The metadata before the read is what the base remembers: if the file changes during
        // the upload, the next scan sees other metadata, reads it again and uploads again.
        let before = match self.meta(&file).await? {
            Some(meta) if meta.mtime_ns >= 0 => meta,
            _ => return Ok(changed_locally()),
        };
        let options = PutOptions {
            base: base.map_or(CommitOn::New, CommitOn::Version),
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
        // No point fetching what could not be put in place.
        if self.meta_at(path).await? != replace {
            return Ok(changed_locally());
        }
        let (tmp_name, tmp) = self.fresh_tmp().await?;
        let options = DownloadOptions { ns: self.config.ns, version: Some(remote.version) };
        let downloaded = match self.client.download_file(&self.remote(path), &tmp, &options, None).await {
            Ok(downloaded) => downloaded,
            Err(e) if e.is(ErrorCode::NotFound) => {
                return Ok(Step::Deferred("gone from the drive meanwhile".into()));
            }
            Err(e) => return Err(e.into()),
        };
        let result = self.put_in_place(path, &tmp_name, replace, &downloaded.manifest).await;
        if !matches!(result, Ok(Step::Done)) {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Renames a verified download (`.cairn/tmp/{tmp_name}`) over `path`, after one last look at
    /// what is there.
    async fn put_in_place(
        &mut self,
        path: &str,
        tmp_name: &str,
        replace: Option<FileMeta>,
        manifest: &Manifest,
    ) -> Result<Step, SyncError> {
        let hash = parse_hash(&manifest.hash)?;
        let (rel, tmp) = (path.to_owned(), tmp_rel(tmp_name));
        let placed = self
            .on_disk(move |root| {
                // The rename keeps the inode and mtime: what the base remembers is the file's as
                // it lands, before anyone else can touch it.
                let Some(meta) = meta_of(&root.check(&tmp)?)? else {
                    return Ok(Err(Step::Deferred(
                        "the download vanished before it was put in place".into(),
                    )));
                };
                // The last look: an edit made since the scan is never overwritten.
                if meta_of(&root.check(&rel)?)? != replace {
                    return Ok(Err(changed_locally()));
                }
                root.create_parent(&rel)?;
                root.rename(&tmp, &rel)?;
                Ok(Ok(meta))
            })
            .await?;
        let meta = match placed {
            Ok(meta) => meta,
            Err(step) => return Ok(step),
        };
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
        let rel = path.to_owned();
        let still = self
            .on_disk(move |root| {
                let source = root.check(&rel)?;
                Ok(match local {
                    Local::File(l) => meta_of(&source)? == Some(l.meta),
                    Local::Folder => std::fs::symlink_metadata(&source).is_ok_and(|m| m.is_dir()),
                })
            })
            .await?;
        if !still {
            return Ok(changed_locally());
        }
        if let (Local::File(l), Remote::File(r)) = (local, remote) {
            let options = DownloadOptions { ns: self.config.ns, version: Some(r.version) };
            let manifest = match self.client.manifest(&self.remote(path), &options).await {
                Ok(manifest) => manifest,
                Err(e) if e.is(ErrorCode::NotFound) => {
                    return Ok(Step::Deferred("gone from the drive meanwhile".into()));
                }
                Err(e) => return Err(e.into()),
            };
            match self.same_content(path, l, &manifest).await? {
                Same::Yes => {
                    let remote =
                        RemoteFile { id: manifest.file, version: manifest.version, size: manifest.size };
                    let base = BaseFile { remote, meta: trusted(l.meta), hash: l.hash };
                    return self.record(vec![Change::Put(path.to_owned(), Base::File(base))]);
                }
                Same::Changed => return Ok(changed_locally()),
                Same::No => {}
            }
        }
        let root = self.root.clone();
        let copy = conflicted_copy(path, &self.config.device, &stamp_now(), |q| {
            self.state.base().contains_key(q) || root.join(q).is_ok_and(|p| p.symlink_metadata().is_ok())
        });
        let (source, target) = (path.to_owned(), copy.clone());
        let moved = self
            .on_disk(move |root| {
                if meta_of(&root.check(&target)?)?.is_some() {
                    return Ok(false);
                }
                root.rename(&source, &target).map(|()| true)
            })
            .await?;
        if !moved {
            return Ok(Step::Deferred("no free name for a conflicted copy".into()));
        }
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
                let rel = path.to_owned();
                self.on_disk(move |root| root.create_dir_all(&rel)).await?;
                self.record(vec![Change::Put(path.to_owned(), Base::Folder)])
            }
            Remote::Busy => Ok(Step::Deferred("being uploaded from another device".into())),
        }
    }

    /// Whether the local file at `path` (scanned as `local`) holds exactly the content of the
    /// drive's version `manifest`, checked as the module says.
    async fn same_content(
        &mut self,
        path: &str,
        local: LocalFile,
        manifest: &Manifest,
    ) -> Result<Same, SyncError> {
        // What the scan read (or took from the base) differs from what the drive declares:
        // there is nothing to check.
        if parse_hash(&manifest.hash)? != local.hash {
            return Ok(Same::No);
        }
        let file = self.checked(path).await?;
        let cut = tokio::task::spawn_blocking(move || blocks_of(&file)).await;
        let (blocks, hash) = match cut {
            Ok(Ok(cut)) => cut,
            _ => return Ok(Same::Changed),
        };
        if hash != local.hash {
            return Ok(Same::Changed);
        }
        if blocks == manifest.blocks {
            return Ok(Same::Yes);
        }
        // Cut differently (uploaded by another client, or as one stream): fetch it; the
        // download checks every block against its id and the whole against the hash, which is
        // the local file's.
        let (_, tmp) = self.fresh_tmp().await?;
        let fetched = self.client.download_manifest(manifest.clone(), self.config.ns, &tmp, None).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        match fetched.map_err(SyncError::from) {
            Ok(_) => Ok(Same::Yes),
            Err(e) if e.is_offline() => Err(e),
            Err(e) => {
                tracing::warn!(path, error = %e, "the drive's version does not hold what it declares");
                Ok(Same::No)
            }
        }
    }

    /// A new name in `.cairn/tmp/`, and its checked path.
    async fn fresh_tmp(&self) -> Result<(String, PathBuf), SyncError> {
        let name = format!("{:016x}.download", rand::random::<u64>());
        let path = self.checked(&tmp_rel(&name)).await?;
        Ok((name, path))
    }

    /// The metadata of the local file at the relative path `rel`.
    async fn meta_at(&self, rel: &str) -> Result<Option<FileMeta>, SyncError> {
        let rel = rel.to_owned();
        self.on_disk(move |root| meta_of(&root.check(&rel)?)).await
    }

    /// The metadata of a checked local path.
    async fn meta(&self, path: &Path) -> Result<Option<FileMeta>, SyncError> {
        let path = path.to_path_buf();
        self.on_disk(move |_| meta_of(&path)).await
    }
}

/// The blocks a file's content is cut into (as an upload cuts it), and its hash.
fn blocks_of(path: &Path) -> std::io::Result<(Vec<BlockEntry>, Hash)> {
    let mut chunker = StreamChunker::new(std::fs::File::open(path)?);
    let mut hasher = blake3::Hasher::new();
    let mut blocks = Vec::new();
    while let Some(chunk) = chunker.next_chunk().map_err(std::io::Error::other)? {
        hasher.update(&chunk.data);
        blocks.push(BlockEntry { id: chunk.id.to_hex(), len: chunk.data.len() as u32 });
    }
    Ok((blocks, *hasher.finalize().as_bytes()))
}
