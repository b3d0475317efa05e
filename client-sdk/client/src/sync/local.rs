//! Reading the local tree: every folder and regular file below the synced folder that the
//! rules do not ignore, with size, mtime and inode — and the content hash, read only when those
//! differ from the base's (an unchanged file is never read again).
//!
//! Blocking: run it on a blocking thread. What cannot be read is never reported as deleted: an
//! unreadable folder or file the base knows is taken to be as the base says (so the planner
//! deletes nothing on the drive because of a permission error), and a new unreadable one waits.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_proto::DrivePath;

use super::action::Waiting;
use super::error::SyncError;
use super::rules::Rules;
use super::tree::{Base, BaseTree, FileMeta, Hash, Local, LocalFile, LocalTree, below};

/// How recent an mtime must be to be distrusted: a file written again within the file
/// system's timestamp granularity of the last write could keep both size and mtime.
const RACY: Duration = Duration::from_secs(2);

/// What a scan found.
#[derive(Debug)]
pub struct Scan {
    /// The local tree.
    pub tree: LocalTree,
    /// The ignore rules, with every `.cairnignore` found.
    pub rules: Rules,
    /// Names that cannot be synced (not UTF-8, refused by the drive, unreadable), and why.
    pub skipped: Vec<Waiting>,
}

/// The local path of a relative path.
pub fn local_path(root: &Path, rel: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(rel.split('/'));
    path
}

/// The metadata the engine compares, from a file's `std` metadata.
pub fn file_meta(meta: &std::fs::Metadata) -> FileMeta {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0);
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    FileMeta { size: meta.len(), mtime_ns, inode }
}

/// The metadata to remember for a file: an mtime too recent to rule out a second write within
/// the same timestamp is remembered as unknown, so the next scan reads the file again.
pub fn trusted(meta: FileMeta) -> FileMeta {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let recent = u128::try_from(meta.mtime_ns).map_or(true, |t| now.saturating_sub(t) < RACY.as_nanos());
    if recent { FileMeta { mtime_ns: 0, ..meta } } else { meta }
}

/// blake3 of a file's content, and its metadata, read so that a file written during the read
/// is noticed: `None` if it kept changing.
pub fn hash_file(path: &Path) -> std::io::Result<Option<(FileMeta, Hash)>> {
    for _ in 0..3 {
        let mut file = std::fs::File::open(path)?;
        let before = file_meta(&file.metadata()?);
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let after = file_meta(&std::fs::metadata(path)?);
        if before == after {
            return Ok(Some((after, *hasher.finalize().as_bytes())));
        }
    }
    Ok(None)
}

/// Reads the tree below `root`, reusing the base's hash of every file whose metadata did not
/// change.
pub fn scan(root: &Path, base: &BaseTree) -> Result<Scan, SyncError> {
    std::fs::metadata(root).map_err(|e| SyncError::io(root, e))?;
    let mut scan = Scan { tree: LocalTree::new(), rules: Rules::built_in(), skipped: Vec::new() };
    walk(root, "", base, &mut scan).map_err(|e| SyncError::io(root, e))?;
    Ok(scan)
}

fn walk(root: &Path, dir: &str, base: &BaseTree, scan: &mut Scan) -> std::io::Result<()> {
    scan.rules.load_dir(root, dir);
    let entries = std::fs::read_dir(local_path(root, dir))?;
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            let shown = entry.file_name().to_string_lossy().into_owned();
            skip(scan, dir, &shown, "the name is not valid UTF-8");
            continue;
        };
        let rel = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
        let Ok(kind) = entry.file_type() else { continue };
        if scan.rules.is_ignored(&rel, kind.is_dir()) {
            continue;
        }
        if kind.is_symlink() || !(kind.is_dir() || kind.is_file()) {
            skip(scan, dir, &name, "symbolic links and special files are not synced");
            continue;
        }
        if DrivePath::parse(&rel).map(|p| p.as_str() != rel).unwrap_or(true) {
            skip(scan, dir, &name, "the drive does not accept this name");
            continue;
        }
        if kind.is_dir() {
            scan.tree.insert(rel.clone(), Local::Folder);
            if let Err(error) = walk(root, &rel, base, scan) {
                keep_as_synced(scan, base, &rel);
                scan.skipped.push(Waiting { path: rel, reason: format!("cannot read the folder: {error}") });
            }
            continue;
        }
        match read_file(&entry.path(), base.get(&rel)) {
            Ok(Some(file)) => {
                scan.tree.insert(rel, Local::File(file));
            }
            // Gone since the folder was listed: it is simply not there.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            other => {
                keep_as_synced(scan, base, &rel);
                let reason = match other {
                    Err(error) => format!("cannot read the file: {error}"),
                    _ => "the file keeps changing; waiting for it to settle".to_owned(),
                };
                scan.skipped.push(Waiting { path: rel, reason });
            }
        }
    }
    Ok(())
}

/// A file's metadata and hash: the base's hash if the metadata is the base's, else read.
fn read_file(path: &Path, base: Option<&Base>) -> std::io::Result<Option<LocalFile>> {
    let meta = file_meta(&std::fs::symlink_metadata(path)?);
    if let Some(Base::File(b)) = base
        && b.meta == meta
        && meta.mtime_ns != 0
    {
        return Ok(Some(LocalFile { meta, hash: b.hash }));
    }
    Ok(hash_file(path)?.map(|(meta, hash)| LocalFile { meta, hash }))
}

/// Puts what the base says about `path` (and below it) into the tree, for a path that could
/// not be read: unknown is treated as unchanged, never as deleted.
fn keep_as_synced(scan: &mut Scan, base: &BaseTree, path: &str) {
    let known = base.get_key_value(path).into_iter().chain(below(base, path));
    for (p, b) in known {
        let local = match b {
            Base::Folder => Local::Folder,
            Base::File(f) => Local::File(LocalFile { meta: f.meta, hash: f.hash }),
        };
        scan.tree.insert(p.clone(), local);
    }
}

fn skip(scan: &mut Scan, dir: &str, name: &str, reason: &str) {
    let path = if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") };
    tracing::debug!(%path, reason, "not synced");
    scan.skipped.push(Waiting { path, reason: reason.to_owned() });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::sync::tree::{BaseFile, RemoteFile};

    #[test]
    fn a_scan_sees_files_and_folders_and_skips_what_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/x.txt"), b"hello").unwrap();
        std::fs::write(root.join("top.txt"), b"top").unwrap();
        std::fs::write(root.join("junk.tmp"), b"junk").unwrap();
        std::fs::create_dir_all(root.join(".cairn")).unwrap();
        std::fs::write(root.join(".cairn/state.redb"), b"db").unwrap();
        std::fs::write(root.join(".cairnignore"), b"*.log\n").unwrap();
        std::fs::write(root.join("a/run.log"), b"log").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("top.txt", root.join("link")).unwrap();

        let scan = scan(root, &BaseTree::new()).unwrap();
        let paths: Vec<_> = scan.tree.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a", "a/b", "a/b/x.txt", "top.txt"]);
        let Local::File(x) = scan.tree["a/b/x.txt"] else { panic!() };
        assert_eq!(x.hash, *blake3::hash(b"hello").as_bytes());
        assert_eq!(x.meta.size, 5);
        #[cfg(unix)]
        assert_eq!(scan.skipped.iter().map(|w| w.path.as_str()).collect::<Vec<_>>(), ["link"]);
        assert!(scan.rules.is_ignored("other.log", false));
    }

    #[test]
    fn an_unchanged_file_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"real content").unwrap();
        let meta = file_meta(&std::fs::metadata(dir.path().join("f")).unwrap());
        // The base claims another hash for the same metadata: the scan believes the base.
        let remote = RemoteFile { id: 1, version: 1, size: meta.size };
        let base: BaseTree = [("f".to_owned(), Base::File(BaseFile { remote, meta, hash: [7; 32] }))].into();
        let Local::File(f) = scan(dir.path(), &base).unwrap().tree["f"] else { panic!() };
        assert_eq!(f.hash, [7; 32]);
        // Unless the remembered mtime is unknown (it was too recent to trust).
        let racy = FileMeta { mtime_ns: 0, ..meta };
        assert_eq!(trusted(meta), racy);
        let base: BaseTree =
            [("f".to_owned(), Base::File(BaseFile { remote, meta: racy, hash: [7; 32] }))].into();
        let Local::File(f) = scan(dir.path(), &base).unwrap().tree["f"] else { panic!() };
        assert_eq!(f.hash, *blake3::hash(b"real content").as_bytes());
    }
}
