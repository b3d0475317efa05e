//! The three views of a synced folder the planner compares, as plain data: the local tree (what
//! the disk holds now), the remote tree (what the drive holds now) and the base (what both held
//! when they were last in step). Paths are relative to the synced folder, `/`-separated, with no
//! leading slash — the same text locally and remotely, so one key names one thing on both sides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// blake3 of a file's content.
pub type Hash = [u8; 32];

/// What a local file looked like when it was read: what tells a changed file from an unchanged
/// one without reading it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileMeta {
    /// Its length in bytes.
    pub size: u64,
    /// Its modification time, in ns since the epoch (0: unknown, never trusted).
    pub mtime_ns: i64,
    /// Its inode (0 where the platform has none).
    pub inode: u64,
}

/// A local file: its metadata and the hash of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalFile {
    /// Size, time, inode.
    pub meta: FileMeta,
    /// blake3 of the content, read when the metadata differed from the base's.
    pub hash: Hash,
}

/// One name on the local disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// A folder.
    Folder,
    /// A regular file.
    File(LocalFile),
}

/// A file's head in the drive: which file (ids survive renames) and which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RemoteFile {
    /// The file's id.
    pub id: u64,
    /// Its head version.
    pub version: u64,
    /// The head's size.
    pub size: u64,
}

/// One name in the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    /// A folder.
    Folder,
    /// A file with a committed head.
    File(RemoteFile),
    /// A name whose first version is still being uploaded somewhere: not known yet, so nothing
    /// is done about it (in particular, a local file of the same name is not deleted).
    Busy,
}

/// A file as both sides held it when last in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseFile {
    /// The drive's file and version.
    pub remote: RemoteFile,
    /// The local file's metadata then.
    pub meta: FileMeta,
    /// The content's hash.
    pub hash: Hash,
}

/// One name of the base: what was last synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Base {
    /// A folder on both sides.
    Folder,
    /// The same file on both sides.
    File(BaseFile),
}

/// The local tree, by relative path.
pub type LocalTree = BTreeMap<String, Local>;
/// The remote tree, by path relative to the synced remote folder.
pub type RemoteTree = BTreeMap<String, Remote>;
/// The base, by relative path.
pub type BaseTree = BTreeMap<String, Base>;

/// Why a path is left alone on both sides, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The path as people see it (control characters escaped).
    pub shown: String,
    /// Why it is left alone.
    pub reason: String,
}

/// Paths left alone on both sides — nothing made, written, downloaded, uploaded or deleted at
/// or below them, and no folder above them deleted whole — by relative path: symbolic links
/// and mount points in the folder, names the disk cannot hold, names the drive should never
/// have sent. A name that maps to no path here (a refused name from the drive) is held under
/// an [`unseen`] key below its folder, so that folder is never trashed with it.
pub type Held = BTreeMap<String, Hold>;

/// The key of the `n`th name in `folder` that cannot be a path here. It holds a NUL, which no
/// real path does, so it names nothing on either side; it sorts below `folder`, so the folder
/// counts as holding something this device cannot see.
pub fn unseen(folder: &str, n: usize) -> String {
    if folder.is_empty() { format!("\0{n}") } else { format!("{folder}/\0{n}") }
}

/// The parent of a relative path (`None` at the top level).
pub fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(parent, _)| parent)
}

/// Whether `path` lies strictly below the folder `folder`.
pub fn is_below(path: &str, folder: &str) -> bool {
    path.len() > folder.len() + 1 && path.starts_with(folder) && path.as_bytes()[folder.len()] == b'/'
}

/// How many names deep a relative path is (`a` is 1, `a/b` is 2).
pub fn depth(path: &str) -> usize {
    path.split('/').count()
}

/// The entries of `tree` strictly below `folder`, in order. Paths below a folder share the
/// prefix `folder/`, which sorts as one contiguous range.
pub fn below<'t, V>(
    tree: &'t BTreeMap<String, V>,
    folder: &str,
) -> impl Iterator<Item = (&'t String, &'t V)> {
    let prefix = format!("{folder}/");
    tree.range(prefix.clone()..).take_while(move |(path, _)| path.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn paths_relate_by_whole_names() {
        assert_eq!(parent("a/b/c"), Some("a/b"));
        assert_eq!(parent("a"), None);
        assert!(is_below("a/b", "a"));
        assert!(!is_below("ab/c", "a"));
        assert!(!is_below("a", "a"));
        assert_eq!(depth("a/b/c"), 3);
        let tree: BTreeMap<String, u8> =
            ["a", "a b", "a.txt", "a/x", "a/y/z", "b"].iter().map(|p| ((*p).to_owned(), 0)).collect();
        let names: Vec<_> = below(&tree, "a").map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["a/x", "a/y/z"]);
    }
}
