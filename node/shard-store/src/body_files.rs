//! Where a store keeps its shard bodies on disk, for tests and fault injection that rot them.

use std::path::{Path, PathBuf};

use crate::segments::SEGMENTS_DIR;

/// The files of the store at `dir` that hold shard bodies, in name order: its segment files,
/// and the blob files of shards an earlier release stored. For tests and fault injection that
/// rot shards on disk.
pub fn body_files(dir: &Path) -> Vec<PathBuf> {
    let segments = dir.join(SEGMENTS_DIR);
    let mut files = Vec::new();
    for (folder, extension) in [(dir, "blob"), (segments.as_path(), "seg")] {
        if let Ok(entries) = std::fs::read_dir(folder) {
            files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == extension)),
            );
        }
    }
    files.sort();
    files
}
