//! The wall around a local folder that sync or a folder download writes into: every path is
//! built from names checked one by one, and before anything is made, written, renamed or
//! removed, the way to it is checked to stay on real folders of the folder's own file system.
//! A symbolic link or a mount point inside the folder is never gone through, whatever it
//! points at: a synced folder holding `docs -> /elsewhere` must not fill `/elsewhere`.
//!
//! The check is made on each call, just before the change, as Syncthing's `TraversesSymlink`
//! is; a local process swapping a folder for a link in between could still win the race, but
//! such a process can already write wherever the user can, so the wall is about what the
//! drive and its names can make this device do, and about links and mounts the user keeps in
//! the folder.

use std::path::{Component, Path, PathBuf};

use cairn_proto::drive_name::printable;

use super::names::DiskNames;

/// Why a path was refused.
#[derive(Debug, thiserror::Error)]
pub enum Breach {
    /// A name that is no plain name on this disk: it would leave the folder, name a drive or
    /// a device, or the disk cannot hold it.
    #[error("{name:?} cannot be a local name: {reason}")]
    BadName {
        /// The name, printable.
        name: String,
        /// Why.
        reason: String,
    },
    /// The path goes through (or is) a symbolic link.
    #[error("{0} is a symbolic link; nothing is written through one")]
    Symlink(String),
    /// The path goes into (or is) another mounted file system.
    #[error("{0} is a mount point (another file system); nothing is written into one")]
    MountPoint(String),
    /// A name on the way is not a folder.
    #[error("{0} is not a folder")]
    NotAFolder(String),
    /// The whole path would be longer than the platform allows.
    #[error("{0}: the local path would be longer than this system allows")]
    TooLong(String),
    /// The disk failed.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Longest path the platform takes, in bytes (Linux's `PATH_MAX` counts the final NUL; macOS's
/// is 1024). Windows paths are not limited here: the standard library writes long ones in
/// their `\\?\` form.
#[cfg(target_os = "macos")]
const MAX_LOCAL_PATH: usize = 1023;
#[cfg(not(target_os = "macos"))]
const MAX_LOCAL_PATH: usize = 4095;

/// A local folder, walled: paths relative to it (`/`-separated) are built and checked here.
#[derive(Debug, Clone)]
pub struct Root {
    path: PathBuf,
    /// The file system the folder is on.
    #[cfg(unix)]
    device: u64,
    names: DiskNames,
}

impl Root {
    /// The folder `path` (which must exist and be a folder), holding names as `names` says.
    pub fn new(path: &Path, names: DiskNames) -> Result<Self, Breach> {
        let meta =
            std::fs::metadata(path).map_err(|source| Breach::Io { path: path.to_path_buf(), source })?;
        if !meta.is_dir() {
            return Err(Breach::NotAFolder(path.display().to_string()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            #[cfg(unix)]
            device: std::os::unix::fs::MetadataExt::dev(&meta),
            names,
        })
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What names its disk holds.
    pub fn names(&self) -> &DiskNames {
        &self.names
    }

    /// The local path of `rel`, built name by name; nothing on the disk is looked at.
    pub fn join(&self, rel: &str) -> Result<PathBuf, Breach> {
        let mut path = self.path.clone();
        if rel.is_empty() {
            return Ok(path);
        }
        for name in rel.split('/') {
            self.check_name(name)?;
            path.push(name);
        }
        if path.as_os_str().len() > MAX_LOCAL_PATH {
            return Err(Breach::TooLong(printable(rel).into_owned()));
        }
        Ok(path)
    }

    /// One name: a single plain component (never `..`, a root, a drive or a prefix) that the
    /// disk can hold.
    fn check_name(&self, name: &str) -> Result<(), Breach> {
        let bad =
            |reason: &str| Breach::BadName { name: printable(name).into_owned(), reason: reason.to_owned() };
        if name.is_empty() || name.contains(['/', '\\', '\0']) {
            return Err(bad("empty, or holding a path separator or NUL"));
        }
        let mut components = Path::new(name).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(plain)), None) if plain == name => {}
            _ => return Err(bad("not a plain name: it would name another place")),
        }
        if let Some(reason) = self.names.problem(name) {
            return Err(bad(reason));
        }
        Ok(())
    }

    /// The local path of `rel`, once every folder on the way that exists is a real folder of
    /// this file system, and `rel` itself, if it exists, is no link and no mount point.
    pub fn check(&self, rel: &str) -> Result<PathBuf, Breach> {
        let path = self.join(rel)?;
        let names: Vec<&str> = if rel.is_empty() { Vec::new() } else { rel.split('/').collect() };
        let mut at = self.path.clone();
        for (i, name) in names.iter().enumerate() {
            at.push(name);
            let shown = || printable(&names[..=i].join("/")).into_owned();
            let meta = match std::fs::symlink_metadata(&at) {
                Ok(meta) => meta,
                // Nothing deeper can exist: what is made there is made by the caller, here.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(source) => return Err(Breach::Io { path: at, source }),
            };
            if meta.file_type().is_symlink() {
                return Err(Breach::Symlink(shown()));
            }
            if meta.is_dir() && self.crosses_mount(&meta) {
                return Err(Breach::MountPoint(shown()));
            }
            let last = i + 1 == names.len();
            if !last && !meta.is_dir() {
                return Err(Breach::NotAFolder(shown()));
            }
        }
        Ok(path)
    }

    /// Whether the folder `meta` describes (read without following links) is another file
    /// system mounted inside this one.
    pub fn is_mount_point(&self, meta: &std::fs::Metadata) -> bool {
        meta.is_dir() && self.crosses_mount(meta)
    }

    #[cfg(unix)]
    fn crosses_mount(&self, meta: &std::fs::Metadata) -> bool {
        std::os::unix::fs::MetadataExt::dev(meta) != self.device
    }

    /// Windows: a mounted volume in a folder is a reparse point, which `is_symlink` reports.
    #[cfg(not(unix))]
    fn crosses_mount(&self, _meta: &std::fs::Metadata) -> bool {
        false
    }

    /// Makes the folder `rel` and any missing above it, one checked folder at a time.
    pub fn create_dir_all(&self, rel: &str) -> Result<PathBuf, Breach> {
        let path = self.check(rel)?;
        if rel.is_empty() {
            return Ok(path);
        }
        let mut made = String::new();
        for name in rel.split('/') {
            if !made.is_empty() {
                made.push('/');
            }
            made.push_str(name);
            let at = self.check(&made)?;
            match std::fs::create_dir(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Already there: it must be a real folder (checked just above), not a file.
                    if !at.is_dir() {
                        return Err(Breach::NotAFolder(printable(&made).into_owned()));
                    }
                }
                Err(source) => return Err(Breach::Io { path: at, source }),
            }
        }
        Ok(path)
    }

    /// Makes the folder `rel` will be in.
    pub fn create_parent(&self, rel: &str) -> Result<(), Breach> {
        let parent = rel.rsplit_once('/').map_or("", |(parent, _)| parent);
        self.create_dir_all(parent).map(|_| ())
    }

    /// Renames `from` to `to`, both inside the folder.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), Breach> {
        let (source, target) = (self.check(from)?, self.check(to)?);
        std::fs::rename(&source, &target)
            .map_err(|source_error| Breach::Io { path: source, source: source_error })
    }

    /// Removes the file `rel`.
    pub fn remove_file(&self, rel: &str) -> Result<(), Breach> {
        let path = self.check(rel)?;
        std::fs::remove_file(&path).map_err(|source| Breach::Io { path, source })
    }

    /// Removes the empty folder `rel`.
    pub fn remove_dir(&self, rel: &str) -> Result<(), Breach> {
        let path = self.check(rel)?;
        std::fs::remove_dir(&path).map_err(|source| Breach::Io { path, source })
    }
}

impl Breach {
    /// The disk's own error, if that is what it is.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn linux() -> DiskNames {
        DiskNames { windows: false, case_insensitive: false, normalization_insensitive: false }
    }

    #[test]
    fn paths_are_built_from_plain_names_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path(), linux()).unwrap();
        assert_eq!(root.join("a/b.txt").unwrap(), dir.path().join("a").join("b.txt"));
        assert_eq!(root.join("").unwrap(), dir.path());
        for rel in ["../x", "a/../../x", "/etc/passwd", "a//b", "a/.", "a\\b", "a\0b"] {
            assert!(matches!(root.join(rel), Err(Breach::BadName { .. })), "{rel:?}");
        }
        let windows = Root::new(dir.path(), DiskNames { windows: true, ..linux() }).unwrap();
        for rel in ["CON", "docs/aux.txt", "a:b", "trailing."] {
            assert!(matches!(windows.join(rel), Err(Breach::BadName { .. })), "{rel:?}");
        }
        assert!(root.join(&vec!["x".repeat(200); 30].join("/")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn nothing_goes_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root_dir = dir.path().join("root");
        std::fs::create_dir(&root_dir).unwrap();
        std::os::unix::fs::symlink(outside.path(), root_dir.join("docs")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), root_dir.join("f")).unwrap();
        let root = Root::new(&root_dir, linux()).unwrap();

        assert!(matches!(root.check("docs/a.txt"), Err(Breach::Symlink(p)) if p == "docs"));
        assert!(matches!(root.check("docs"), Err(Breach::Symlink(_))));
        assert!(matches!(root.create_dir_all("docs/sub"), Err(Breach::Symlink(_))));
        assert!(matches!(root.remove_file("f"), Err(Breach::Symlink(_))));
        std::fs::write(root_dir.join("x"), b"x").unwrap();
        assert!(matches!(root.rename("x", "docs/x"), Err(Breach::Symlink(_))));
        assert!(matches!(root.check("x/y"), Err(Breach::NotAFolder(p)) if p == "x"));
        // Nothing reached the other side.
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

        // Real folders are made and used.
        root.create_dir_all("a/b/c").unwrap();
        root.rename("x", "a/b/c/x").unwrap();
        assert_eq!(std::fs::read(root_dir.join("a/b/c/x")).unwrap(), b"x");
        root.remove_file("a/b/c/x").unwrap();
        root.remove_dir("a/b/c").unwrap();
    }
}
