//! Free space on the disk that holds a path.

use std::path::Path;

use super::ShardStoreError;

/// Bytes available to this process on the file system holding `path`.
pub(super) fn available(path: &Path) -> Result<u64, ShardStoreError> {
    fs4::available_space(path)
        .map_err(|e| ShardStoreError::Io { context: "measure free disk space", message: e.to_string() })
}
