//! The local side of a folder transfer: a local folder walked into the drive folders and files
//! an upload makes, names checked on the way (a drive path is UTF-8; a local name may not be).

use std::path::{Path, PathBuf};

use cairn_proto::DrivePath;

use crate::exit::Failure;

/// What a folder upload does, in order: make these folders, then send these files.
pub struct Plan {
    /// Folders to make, parents first.
    pub folders: Vec<DrivePath>,
    /// Files: local path, drive path, size.
    pub files: Vec<(PathBuf, DrivePath, u64)>,
    /// Entries that are neither files nor folders (symbolic links, devices), left out.
    pub skipped: Vec<PathBuf>,
}

/// The name a local file or folder goes by in the drive (`.` is the current folder's name).
pub fn local_name(path: &Path) -> Result<String, Failure> {
    let named = match path.file_name() {
        Some(name) => Some(name.to_owned()),
        None => std::fs::canonicalize(path)
            .map_err(|e| Failure::io("resolve", path, e))?
            .file_name()
            .map(ToOwned::to_owned),
    };
    let name =
        named.ok_or_else(|| Failure::usage(format!("{} has no name: say where it goes", path.display())))?;
    name.into_string()
        .map_err(|name| Failure::bad_input(format!("{name:?} is not UTF-8, which drive names must be")))
}

/// Walks the folder `root` (not following symbolic links, names sorted) into the plan of its
/// upload to the drive folder `target`.
pub fn plan_upload(root: &Path, target: &DrivePath) -> Result<Plan, Failure> {
    let mut plan = Plan { folders: Vec::new(), files: Vec::new(), skipped: Vec::new() };
    for entry in walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            Failure::io("read", &path, e.into())
        })?;
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let mut remote = target.clone();
        for part in relative.components() {
            let name = part.as_os_str().to_str().ok_or_else(|| {
                Failure::bad_input(format!(
                    "{} is not UTF-8, which drive names must be",
                    entry.path().display()
                ))
            })?;
            remote = remote.join(name).map_err(|e| Failure::bad_input(e.to_string()))?;
        }
        let kind = entry.file_type();
        if kind.is_dir() {
            plan.folders.push(remote);
        } else if kind.is_file() {
            let size = entry.metadata().map_err(|e| Failure::io("read", entry.path(), e.into()))?.len();
            plan.files.push((entry.path().to_path_buf(), remote, size));
        } else {
            plan.skipped.push(entry.path().to_path_buf());
        }
    }
    Ok(plan)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Test code: a panic is a failure report.
mod tests {
    use super::*;

    #[test]
    fn a_folder_plans_into_folders_then_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        std::fs::create_dir_all(root.join("2024/summer")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("a.jpg"), b"aaa").unwrap();
        std::fs::write(root.join("2024/summer/b.jpg"), b"bb").unwrap();
        let target = DrivePath::parse("/backup/photos").unwrap();
        let plan = plan_upload(&root, &target).unwrap();
        let folders: Vec<&str> = plan.folders.iter().map(DrivePath::as_str).collect();
        assert_eq!(
            folders,
            ["backup/photos", "backup/photos/2024", "backup/photos/2024/summer", "backup/photos/empty"]
        );
        let files: Vec<(&str, u64)> = plan.files.iter().map(|(_, r, s)| (r.as_str(), *s)).collect();
        assert_eq!(files, [("backup/photos/2024/summer/b.jpg", 2), ("backup/photos/a.jpg", 3)]);
    }

    #[test]
    fn the_current_folder_is_named_by_its_real_name() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        assert_eq!(local_name(&inner.join(".")).unwrap(), "inner");
        assert_eq!(local_name(Path::new("some/file.txt")).unwrap(), "file.txt");
    }
}
