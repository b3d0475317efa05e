//! Backups of the metadata state on the node that takes them: a RocksDB checkpoint of the live
//! state machine, packed into one tar file by the same packer as snapshots, with the log id of
//! the last entry it holds.
//!
//! The checkpoint is made of hard links, so taking one never blocks `apply`; the copy is
//! consistent at one applied index, which is read from the copy itself (the live database may
//! have moved on meanwhile). Packed backups wait under `<state>/backups/` until the operator's
//! command has fetched them and says so, or until a later backup finds them stale.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use openraft::LogId;
use rocksdb::{DB, Options};

use super::snapshot::pack;
use super::state_machine::{StateReader, applied};
use crate::NodeId;
use crate::model::Space;

/// How long a packed backup nobody fetched to the end is kept: an operator's command that died
/// midway leaves its file behind, and the next backup removes it after this.
pub const KEEP_UNFETCHED: Duration = Duration::from_secs(3_600);

/// A packed copy of the state, ready to be fetched in chunks.
#[derive(Clone, Debug)]
pub struct PackedState {
    /// The tar file.
    pub path: PathBuf,
    /// The last log entry the copy holds.
    pub last_applied: LogId<NodeId>,
    /// The tar file's length in bytes.
    pub len: u64,
    /// The blake3 hash of the tar file, for the fetching side to check what it received.
    pub blake3: [u8; 32],
}

/// Why a backup could not be packed or read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A backup name that is not one this node hands out (it could name another file).
    #[error("{0:?} is not a backup name")]
    BadName(String),
    /// No packed backup of that name (fetched and removed already, or never taken).
    #[error("no backup {0} on this node (it was removed, or taken on another node)")]
    NotFound(String),
    /// The state machine has applied nothing yet: there is nothing to back up.
    #[error("the state machine holds no applied entry yet")]
    Empty,
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> BackupError {
    move |source| BackupError::Io { what, source }
}

/// Names this node hands out: lowercase hex, so a name is never a path.
fn check_name(name: &str) -> Result<(), BackupError> {
    let ok = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(BackupError::BadName(name.to_owned())) }
}

impl StateReader {
    fn backups_dir(&self) -> PathBuf {
        self.base().join("backups")
    }

    fn backup_path(&self, name: &str) -> Result<PathBuf, BackupError> {
        check_name(name)?;
        Ok(self.backups_dir().join(format!("{name}.tar")))
    }

    /// Packs a copy of the state as it is now into backup `name` (hex). Long: a checkpoint, a
    /// tar of the whole state and a hash of it; call it on a blocking thread. Backups older than
    /// [`KEEP_UNFETCHED`] are removed on the way.
    pub fn pack_backup(&self, name: &str) -> Result<PackedState, BackupError> {
        let path = self.backup_path(name)?;
        let dir = self.backups_dir();
        fs::create_dir_all(&dir).map_err(io("create the backups folder"))?;
        self.remove_stale_backups();
        let checkpoint = dir.join(format!("{name}.checkpoint"));
        let result = (|| {
            rocksdb::checkpoint::Checkpoint::new(&self.db())
                .and_then(|c| c.create_checkpoint(&checkpoint))
                .map_err(|e| BackupError::Io {
                what: "checkpoint the state",
                source: std::io::Error::other(e),
            })?;
            let last = {
                let names = Space::ALL.iter().map(|s| s.name());
                let frozen =
                    DB::open_cf_for_read_only(&Options::default(), &checkpoint, names, false).map_err(
                        |e| BackupError::Io { what: "open the checkpoint", source: std::io::Error::other(e) },
                    )?;
                applied(&frozen)
                    .map_err(|e| BackupError::Io {
                        what: "read the checkpoint",
                        source: std::io::Error::other(e),
                    })?
                    .0
            };
            let last_applied = last.ok_or(BackupError::Empty)?;
            let partial = path.with_extension("partial");
            pack(&checkpoint, &partial).map_err(io("pack the checkpoint"))?;
            fs::rename(&partial, &path).map_err(io("name the packed backup"))?;
            let (len, blake3) = hash_file(&path)?;
            Ok(PackedState { path: path.clone(), last_applied, len, blake3 })
        })();
        let _ = fs::remove_dir_all(&checkpoint);
        if result.is_err() {
            let _ = fs::remove_file(&path);
        }
        result
    }

    /// Up to `max` bytes of backup `name` from `offset` (fewer at its end, none past it).
    pub fn read_backup(&self, name: &str, offset: u64, max: usize) -> Result<Vec<u8>, BackupError> {
        let path = self.backup_path(name)?;
        let mut file = fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BackupError::NotFound(name.to_owned()),
            _ => BackupError::Io { what: "open the packed backup", source: e },
        })?;
        file.seek(SeekFrom::Start(offset)).map_err(io("seek in the packed backup"))?;
        let mut chunk = Vec::with_capacity(max.min(16 << 20));
        file.take(max as u64).read_to_end(&mut chunk).map_err(io("read the packed backup"))?;
        Ok(chunk)
    }

    /// Removes backup `name` once fetched.
    pub fn remove_backup(&self, name: &str) -> Result<(), BackupError> {
        let path = self.backup_path(name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BackupError::NotFound(name.to_owned())),
            Err(e) => Err(BackupError::Io { what: "remove the packed backup", source: e }),
        }
    }

    /// Best effort: a leftover costs disk space, never correctness.
    fn remove_stale_backups(&self) {
        let Ok(entries) = fs::read_dir(self.backups_dir()) else { return };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > KEEP_UNFETCHED));
            if old {
                let path = entry.path();
                let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            }
        }
    }
}

/// Length and blake3 hash of a file, read in large pieces.
fn hash_file(path: &std::path::Path) -> Result<(u64, [u8; 32]), BackupError> {
    let mut hasher = blake3::Hasher::new();
    let file = fs::File::open(path).map_err(io("open the packed backup"))?;
    let len = std::io::copy(&mut std::io::BufReader::with_capacity(1 << 20, file), &mut hasher)
        .map_err(io("hash the packed backup"))?;
    Ok((len, *hasher.finalize().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_names_are_backups() {
        assert!(check_name("00ff").is_ok());
        for bad in ["", "../x", "a/b", "name.tar", &"f".repeat(65)] {
            assert!(matches!(check_name(bad), Err(BackupError::BadName(_))), "{bad:?}");
        }
    }
}
