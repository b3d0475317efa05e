//! The disk a cluster's nodes take: every file under their data folders, as `du` counts it.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Bytes under some folders: allocated on disk (`st_blocks` × 512, what the disks give up,
/// holes not counted) and apparent (the files' lengths).
#[derive(Clone, Copy, Debug, Default)]
pub struct DiskUse {
    pub allocated: u64,
    pub apparent: u64,
}

/// What every file and folder under `dirs` takes (symbolic links are not followed).
pub fn disk_use(dirs: &[PathBuf]) -> DiskUse {
    let mut sum = DiskUse::default();
    let mut stack = dirs.to_vec();
    while let Some(path) = stack.pop() {
        // A file RocksDB deletes between the listing and this look is simply not counted.
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        sum.allocated += meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.map_while(Result::ok).map(|e| e.path()));
            }
        } else {
            sum.apparent += meta.len();
        }
    }
    sum
}
