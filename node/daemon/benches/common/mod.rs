//! What more than one cluster benchmark needs: the release `cairn` command line beside the
//! benchmark, and the two-device sync-latency measurement (`sync`).

pub mod sync;

use std::path::PathBuf;

/// The release `cairn` binary beside this benchmark's (`target/release/cairn`, the parent of
/// the benchmark's `deps/`), if it was built: `make bench` builds it first.
pub fn cli_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    Some(dir.join("cairn")).filter(|p| p.exists())
}
