//! Snapshot files: a RocksDB checkpoint of the state machine, packed into one tar file.
//!
//! A checkpoint is a consistent copy of the state machine made of hard links, so taking one
//! costs almost nothing and never blocks `apply`. Packed into a single file it can be streamed to
//! a follower in chunks by openraft and unpacked there into a fresh state-machine directory.
//!
//! Layout under the state machine's base directory:
//!
//! ```text
//! snapshots/<id>.tar    the packed checkpoint
//! snapshots/<id>.meta   its SnapshotMeta (postcard)
//! snapshots/current     the id of the newest complete snapshot
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use openraft::SnapshotMeta;

use super::db::{StorageResult, decode, failed, kind};
use crate::NodeAddr;
use crate::NodeId;
use crate::model::txn_encode as encode;

/// Metadata of a snapshot as openraft sees it.
pub type Meta = SnapshotMeta<NodeId, NodeAddr>;

/// The snapshot folder of a state machine.
#[derive(Clone, Debug)]
pub struct SnapshotDir {
    dir: PathBuf,
}

impl SnapshotDir {
    /// The snapshot folder under `base`, created if needed.
    pub fn open(base: &Path) -> StorageResult<Self> {
        let dir = base.join("snapshots");
        fs::create_dir_all(&dir).map_err(failed(kind::write_snapshot))?;
        // Scratch left by a crash: nothing else runs yet when the state machine opens.
        for entry in fs::read_dir(&dir).map_err(failed(kind::read_snapshot))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("build-") || name.starts_with("incoming-") || name.ends_with(".partial") {
                let path = entry.path();
                let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            }
        }
        Ok(Self { dir })
    }

    /// A fresh path for scratch work (a checkpoint being built, a snapshot being received).
    pub fn scratch(&self, what: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        self.dir.join(format!("{what}-{nanos}-{}", std::process::id()))
    }

    /// Where the tar file of snapshot `id` lives.
    pub fn tar_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.tar"))
    }

    /// Packs a checkpoint directory into the snapshot `meta.snapshot_id`, then makes it current.
    pub fn store_checkpoint(&self, checkpoint: &Path, meta: &Meta) -> StorageResult<PathBuf> {
        let tar_path = self.tar_path(&meta.snapshot_id);
        let partial = tar_path.with_extension("partial");
        pack(checkpoint, &partial).map_err(failed(kind::write_snapshot))?;
        fs::rename(&partial, &tar_path).map_err(failed(kind::write_snapshot))?;
        self.adopt(meta)?;
        Ok(tar_path)
    }

    /// Records `meta` as the current snapshot (its tar file must already be in place) and removes
    /// older snapshots.
    pub fn adopt(&self, meta: &Meta) -> StorageResult<()> {
        let id = &meta.snapshot_id;
        write_atomically(&self.dir.join(format!("{id}.meta")), &encode(meta))?;
        write_atomically(&self.dir.join("current"), id.as_bytes())?;
        self.remove_all_but(id);
        Ok(())
    }

    /// The current snapshot's metadata and tar path, if there is one.
    pub fn current(&self) -> StorageResult<Option<(Meta, PathBuf)>> {
        let id = match fs::read_to_string(self.dir.join("current")) {
            Ok(id) => id,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(failed(kind::read_snapshot)(e)),
        };
        let bytes = fs::read(self.dir.join(format!("{id}.meta"))).map_err(failed(kind::read_snapshot))?;
        let meta: Meta = decode(&bytes).map_err(failed(kind::read_snapshot))?;
        Ok(Some((meta, self.tar_path(&id))))
    }

    /// Unpacks a snapshot tar file into `target` (which must not exist yet).
    pub fn unpack(tar_path: &Path, target: &Path) -> StorageResult<()> {
        let file = fs::File::open(tar_path).map_err(failed(kind::read_snapshot))?;
        fs::create_dir_all(target).map_err(failed(kind::write_snapshot))?;
        unpack_from(file, target).map_err(failed(kind::read_snapshot))
    }

    /// Best-effort clean-up of everything except snapshot `keep`: old snapshots, and scratch
    /// left by a crash. A leftover costs disk space, never correctness.
    fn remove_all_but(&self, keep: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((stem, ext)) = name.rsplit_once('.') else { continue };
            // Scratch work may be in progress; only finished snapshots of other ids go.
            if stem == keep || !matches!(ext, "tar" | "meta") {
                continue;
            }
            let path = entry.path();
            let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            if let Err(e) = removed {
                tracing::warn!(path = %path.display(), error = %e, "remove old snapshot file");
            }
        }
    }
}

/// Packs a checkpoint directory into one tar file at `out`, synced: the one packer of state
/// machine copies, for snapshots sent to followers and for operators' backups alike.
pub(crate) fn pack(checkpoint: &Path, out: &Path) -> std::io::Result<()> {
    let file = fs::File::create(out)?;
    let mut builder = tar::Builder::new(file);
    builder.append_dir_all(".", checkpoint)?;
    let file = builder.into_inner()?;
    file.sync_all()
}

/// Unpacks a packed checkpoint read from `tar` into the existing folder `target`. The tar
/// crate refuses entries that would land outside `target`.
pub(crate) fn unpack_from(tar: impl std::io::Read, target: &Path) -> std::io::Result<()> {
    tar::Archive::new(tar).unpack(target)
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new content.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> StorageResult<()> {
    let partial = path.with_extension("partial");
    let mut file = fs::File::create(&partial).map_err(failed(kind::write_snapshot))?;
    file.write_all(bytes).map_err(failed(kind::write_snapshot))?;
    file.sync_all().map_err(failed(kind::write_snapshot))?;
    fs::rename(&partial, path).map_err(failed(kind::write_snapshot))?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent).and_then(|d| d.sync_all()).map_err(failed(kind::write_snapshot))?;
    }
    Ok(())
}
