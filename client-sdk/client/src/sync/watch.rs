//! File-system events of the synced folder, as wake-ups for the engine: the `notify` crate
//! (inotify, FSEvents, ReadDirectoryChangesW) watching recursively. Only events that can
//! change what sync sees count: reads (the engine's own hashing among them) and anything in an
//! ignored path — `.cairn/`, where the engine writes its state, above all — are dropped, or the
//! engine would wake itself forever. The one file there that does wake it is a person's
//! confirmation of a held mass delete.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc::UnboundedSender;

use super::error::SyncError;
use super::guard::CONFIRM_FILE;
use super::rules::Rules;
use super::state::STATE_DIR;

/// A running watcher; dropping it stops the events.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
}

/// What woke the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The file system: a file may still be being written, so the engine waits for quiet.
    Local,
    /// The change journal: what it reports is committed, so the engine goes at once.
    Remote,
}

/// Watches `root` recursively and sends [`Wake::Local`] for every event that may matter, judged
/// by the current `rules` (the engine refreshes them after each scan).
pub fn watch(
    root: &Path,
    rules: Arc<RwLock<Rules>>,
    wake: UnboundedSender<Wake>,
) -> Result<Watcher, SyncError> {
    let base: PathBuf = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let plain = root.to_path_buf();
    let handler = move |event: notify::Result<Event>| {
        let event = match event {
            Ok(event) => event,
            // A lost event (a full queue): a pass finds out what changed.
            Err(error) => {
                tracing::debug!(%error, "watcher error");
                let _ = wake.send(Wake::Local);
                return;
            }
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let Ok(rules) = rules.read() else {
            let _ = wake.send(Wake::Local);
            return;
        };
        let matters = event.paths.is_empty()
            || event.paths.iter().any(|path| {
                let rel = path.strip_prefix(&base).or_else(|_| path.strip_prefix(&plain));
                match rel.ok().and_then(|r| r.to_str()) {
                    Some(rel) => {
                        let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
                        // A person confirming a held mass delete (`cairn sync resume`).
                        let confirms = rel.strip_prefix(STATE_DIR).and_then(|r| r.strip_prefix('/'))
                            == Some(CONFIRM_FILE);
                        confirms || (!rel.is_empty() && !rules.is_ignored(&rel, path.is_dir()))
                    }
                    None => true,
                }
            });
        if matters {
            let _ = wake.send(Wake::Local);
        }
    };
    let watch_error =
        |e: notify::Error| SyncError::Watch { path: root.to_path_buf(), message: e.to_string() };
    // A link in the folder is not synced, so what it points at is not watched either.
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut inner = notify::RecommendedWatcher::new(handler, config).map_err(watch_error)?;
    inner.watch(root, RecursiveMode::Recursive).map_err(watch_error)?;
    Ok(Watcher { _inner: inner })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn changes_wake_and_the_engines_own_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".cairn")).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _watcher = watch(dir.path(), Arc::new(RwLock::new(Rules::built_in())), tx).unwrap();

        std::fs::write(dir.path().join(".cairn/state.redb"), b"x").unwrap();
        std::fs::write(dir.path().join("scratch.tmp"), b"x").unwrap();
        let _ = std::fs::read(dir.path().join("scratch.tmp")).unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(300), rx.recv()).await.is_err());

        std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(woke.unwrap(), Some(Wake::Local));
    }
}
