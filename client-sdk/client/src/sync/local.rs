//! Reading the local tree: every folder and regular file below the synced folder that the
//! rules do not ignore, with size, mtime and inode — and the content hash, read only when those
//! differ from the base's (an unchanged file is never read again).
//!
//! Blocking: run it on a blocking thread. What cannot be synced is held — left alone on both
//! sides, and never reported as deleted: a symbolic link or a mount point (whatever it points
//! at), a special file, a name the drive refuses, a folder or file that cannot be read, a file
//! that keeps changing. So the planner deletes nothing in the drive because of a link, a
//! permission error or a disk mounted into the folder.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_proto::drive_name::{name_problem, printable, to_nfc};

use super::action::Waiting;
use super::error::SyncError;
use super::rules::Rules;
use super::tree::{Base, BaseTree, FileMeta, Hash, Held, Hold, Local, LocalFile, LocalTree};
use crate::disk::Root;

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
    /// What is left alone on both sides, and why.
    pub held: Held,
    /// Names that are no relative path at all (not UTF-8): reported, and nothing else.
    pub unnamed: Vec<Waiting>,
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
pub fn scan(root: &Root, base: &BaseTree) -> Result<Scan, SyncError> {
    std::fs::metadata(root.path()).map_err(|e| SyncError::io(root.path(), e))?;
    let mut scan =
        Scan { tree: LocalTree::new(), rules: Rules::built_in(), held: Held::new(), unnamed: Vec::new() };
    walk(root, "", base, &mut scan).map_err(|e| SyncError::io(root.path(), e))?;
    Ok(scan)
}

fn walk(root: &Root, dir: &str, base: &BaseTree, scan: &mut Scan) -> std::io::Result<()> {
    scan.rules.load_dir(root.path(), dir);
    let folder = root.join(dir).map_err(std::io::Error::other)?;
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            let shown = printable(&entry.file_name().to_string_lossy()).into_owned();
            let path = if dir.is_empty() { shown } else { format!("{}/{shown}", printable(dir)) };
            tracing::debug!(%path, "not synced: the name is not UTF-8");
            scan.unnamed.push(Waiting {
                path,
                reason: "the name is not valid UTF-8, which drive names must be".into(),
            });
            continue;
        };
        // The drive keeps names in NFC. Where the disk takes both spellings for one name
        // (macOS), the NFC spelling reaches the file; elsewhere a name in another form is not
        // the drive's name, and is held (under the drive's spelling, so nothing there is
        // downloaded over it either).
        let key = if root.names().normalization_insensitive { to_nfc(&name).into_owned() } else { name };
        let rel = if dir.is_empty() { key.clone() } else { format!("{dir}/{key}") };
        let Ok(kind) = entry.file_type() else { continue };
        if scan.rules.is_ignored(&rel, kind.is_dir()) {
            continue;
        }
        if kind.is_symlink() {
            hold(
                scan,
                &rel,
                "a symbolic link: not synced in either direction; what it points at is left alone",
            );
            continue;
        }
        if !(kind.is_dir() || kind.is_file()) {
            hold(scan, &rel, "a special file (a device, socket or pipe): not synced");
            continue;
        }
        if let Some(problem) = name_problem(&key) {
            hold(
                scan,
                &rel,
                &format!("the drive does not accept this name: {problem}; rename it to sync it"),
            );
            continue;
        }
        if kind.is_dir() {
            if entry.metadata().is_ok_and(|meta| root.is_mount_point(&meta)) {
                hold(
                    scan,
                    &rel,
                    "a mount point (another file system): not synced, and nothing is written into it",
                );
                continue;
            }
            scan.tree.insert(rel.clone(), Local::Folder);
            if let Err(error) = walk(root, &rel, base, scan) {
                hold(scan, &rel, &format!("cannot read the folder: {error}"));
            }
            continue;
        }
        match read_file(&entry.path(), base.get(&rel)) {
            Ok(Some(file)) => {
                scan.tree.insert(rel, Local::File(file));
            }
            // Gone since the folder was listed: it is simply not there.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => hold(scan, &rel, &format!("cannot read the file: {error}")),
            Ok(None) => hold(scan, &rel, "the file keeps changing; waiting for it to settle"),
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

/// Leaves `rel` alone, saying why.
fn hold(scan: &mut Scan, rel: &str, reason: &str) {
    let shown = printable(rel).into_owned();
    tracing::debug!(path = %shown, reason, "held");
    scan.held.insert(rel.to_owned(), Hold { shown, reason: reason.to_owned() });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::disk::DiskNames;
    use crate::sync::tree::{BaseFile, RemoteFile};

    fn root(path: &Path) -> Root {
        Root::new(path, DiskNames::probe(path)).unwrap()
    }

    #[test]
    fn a_scan_sees_files_and_folders_and_skips_what_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root_dir = dir.path();
        std::fs::create_dir_all(root_dir.join("a/b")).unwrap();
        std::fs::write(root_dir.join("a/b/x.txt"), b"hello").unwrap();
        std::fs::write(root_dir.join("top.txt"), b"top").unwrap();
        std::fs::write(root_dir.join("junk.tmp"), b"junk").unwrap();
        std::fs::create_dir_all(root_dir.join(".cairn")).unwrap();
        std::fs::write(root_dir.join(".cairn/state.redb"), b"db").unwrap();
        std::fs::write(root_dir.join(".cairnignore"), b"*.log\n").unwrap();
        std::fs::write(root_dir.join("a/run.log"), b"log").unwrap();

        let scan = scan(&root(root_dir), &BaseTree::new()).unwrap();
        let paths: Vec<_> = scan.tree.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a", "a/b", "a/b/x.txt", "top.txt"]);
        let Local::File(x) = scan.tree["a/b/x.txt"] else { panic!() };
        assert_eq!(x.hash, *blake3::hash(b"hello").as_bytes());
        assert_eq!(x.meta.size, 5);
        assert!(scan.held.is_empty(), "{:?}", scan.held);
        assert!(scan.rules.is_ignored("other.log", false));
    }

    #[cfg(unix)]
    #[test]
    fn links_special_files_and_refused_names_are_held_not_missing() {
        use std::os::unix::ffi::OsStrExt as _;

        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("a.txt"), b"outside").unwrap();
        let root_dir = dir.path();
        std::fs::write(root_dir.join("top.txt"), b"top").unwrap();
        std::os::unix::fs::symlink("top.txt", root_dir.join("link")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root_dir.join("docs")).unwrap();
        std::fs::write(root_dir.join("esc\u{1b}[2J"), b"x").unwrap();
        std::fs::write(root_dir.join("cafe\u{301}"), b"nfd").unwrap();
        std::fs::write(root_dir.join(std::ffi::OsStr::from_bytes(b"\xff\xfe")), b"").unwrap();
        let base: BaseTree = [("docs".to_owned(), Base::Folder)].into();

        let scan = scan(&root(root_dir), &base).unwrap();
        assert_eq!(scan.tree.keys().collect::<Vec<_>>(), ["top.txt"]);
        let held: Vec<(&str, &str)> = scan.held.iter().map(|(k, h)| (k.as_str(), h.shown.as_str())).collect();
        assert_eq!(
            held,
            [
                ("cafe\u{301}", "cafe\u{301}"),
                ("docs", "docs"),
                ("esc\u{1b}[2J", "esc\\u{1b}[2J"),
                ("link", "link")
            ]
        );
        assert!(scan.held["docs"].reason.contains("symbolic link"));
        assert!(scan.held["cafe\u{301}"].reason.contains("NFC"));
        assert!(scan.held["esc\u{1b}[2J"].reason.contains("U+001B"));
        assert_eq!(scan.unnamed.len(), 1, "{:?}", scan.unnamed);
    }

    /// A file system mounted into the folder (tmpfs here, as the suite runs as root; an
    /// unprivileged run says so and checks nothing).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_mount_point_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "cairn-test", mnt.to_str().unwrap()])
            .status();
        if !mounted.is_ok_and(|s| s.success()) {
            eprintln!("not run: mounting a tmpfs needs root");
            return;
        }
        struct Unmount(std::path::PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let _unmount = Unmount(mnt.clone());
        std::fs::write(mnt.join("inside.txt"), b"x").unwrap();
        let root = root(dir.path());
        let scan = scan(&root, &BaseTree::new()).unwrap();
        assert!(scan.tree.is_empty(), "{:?}", scan.tree);
        assert!(scan.held["mnt"].reason.contains("mount point"), "{:?}", scan.held);
        assert!(
            matches!(root.create_dir_all("mnt/sub"), Err(crate::disk::Breach::MountPoint(p)) if p == "mnt")
        );
        assert!(matches!(root.remove_file("mnt/inside.txt"), Err(crate::disk::Breach::MountPoint(_))));
    }

    #[test]
    fn an_unchanged_file_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"real content").unwrap();
        let meta = file_meta(&std::fs::metadata(dir.path().join("f")).unwrap());
        // The base claims another hash for the same metadata: the scan believes the base.
        let remote = RemoteFile { id: 1, version: 1, size: meta.size };
        let base: BaseTree = [("f".to_owned(), Base::File(BaseFile { remote, meta, hash: [7; 32] }))].into();
        let Local::File(f) = scan(&root(dir.path()), &base).unwrap().tree["f"] else { panic!() };
        assert_eq!(f.hash, [7; 32]);
        // Unless the remembered mtime is unknown (it was too recent to trust).
        let racy = FileMeta { mtime_ns: 0, ..meta };
        assert_eq!(trusted(meta), racy);
        let base: BaseTree =
            [("f".to_owned(), Base::File(BaseFile { remote, meta: racy, hash: [7; 32] }))].into();
        let Local::File(f) = scan(&root(dir.path()), &base).unwrap().tree["f"] else { panic!() };
        assert_eq!(f.hash, *blake3::hash(b"real content").as_bytes());
    }
}
