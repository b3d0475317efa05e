//! File-system events of the synced folder, as wake-ups for the engine: the `notify` crate
//! (inotify, FSEvents, ReadDirectoryChangesW) watching recursively. Only events that can
//! change what sync sees count: reads (the engine's own hashing among them) and anything in an
//! ignored path — `.cairn/`, where the engine writes its state, above all — are dropped, or the
//! engine would wake itself forever. The one file there that does wake it is a person's
//! confirmation of a held mass delete.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
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
    /// A file written has just been closed (inotify's `IN_CLOSE_WRITE`) and no other is
    /// still open for writing: nothing is half-written, so the engine goes at once. Platforms
    /// that do not report closes only ever send [`Wake::Local`].
    Written,
    /// The change journal: what it reports is committed, so the engine goes at once.
    Remote,
}

/// Watches `root` recursively and sends [`Wake::Local`] or [`Wake::Written`] for every event
/// that may matter, judged by the current `rules` (the engine refreshes them after each scan).
pub fn watch(
    root: &Path,
    rules: Arc<RwLock<Rules>>,
    wake: UnboundedSender<Wake>,
) -> Result<Watcher, SyncError> {
    let base: PathBuf = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let plain = root.to_path_buf();
    let mut writing = Writing::default();
    let handler = move |event: notify::Result<Event>| {
        let event = match event {
            Ok(event) => event,
            // A lost event (a full queue): a pass finds out what changed. A close may have been
            // lost with it, so what was being written is forgotten and this wake waits for quiet.
            Err(error) => {
                tracing::debug!(%error, "watcher error");
                writing = Writing::default();
                let _ = wake.send(Wake::Local);
                return;
            }
        };
        if matches!(event.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write)) {
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
            let _ = wake.send(writing.after(&event));
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

/// The files written and not yet closed, as the events tell.
#[derive(Default)]
struct Writing(HashSet<PathBuf>);

impl Writing {
    /// Takes `event` in and says what to wake the engine with: [`Wake::Written`] for the close
    /// of a written file when no other is left open for writing, else [`Wake::Local`].
    ///
    /// Only a close goes at once. Deletes, renames and new folders come in bursts (`rm -r`, a
    /// folder moved in, a disk going away), and a pass that saw only the start of a burst
    /// would act on part of it: a mass delete would reach the drive one small pass at a time,
    /// each under the guard's threshold. They wait for the quiet window.
    fn after(&mut self, event: &Event) -> Wake {
        let closed = matches!(event.kind, EventKind::Access(AccessKind::Close(AccessMode::Write)));
        match event.kind {
            EventKind::Create(CreateKind::File)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                self.0.extend(event.paths.iter().cloned());
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) | EventKind::Remove(_) => {
                for path in &event.paths {
                    self.0.remove(path);
                }
            }
            // A file renamed while open is still open, under its new name.
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice()
                    && self.0.remove(from)
                {
                    self.0.insert(to.clone());
                }
            }
            _ => {}
        }
        if closed && self.0.is_empty() { Wake::Written } else { Wake::Local }
    }
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
        assert!(matches!(woke.unwrap(), Some(Wake::Local | Wake::Written)));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_file_closed_after_writing_says_so_and_one_still_open_does_not() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _watcher = watch(dir.path(), Arc::new(RwLock::new(Rules::built_in())), tx).unwrap();
        let mut open = std::fs::File::create(dir.path().join("log.txt")).unwrap();
        open.write_all(b"first line").unwrap();
        open.sync_all().unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
        assert_eq!(first, Some(Wake::Local), "a file open for writing is not done");

        std::fs::write(dir.path().join("saved.txt"), b"saved").unwrap();
        // The close of saved.txt leaves log.txt open: still Local.
        let mut last = None;
        while let Ok(Some(w)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            last = Some(w);
        }
        assert_eq!(last, Some(Wake::Local));

        drop(open);
        let closed = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
        assert_eq!(closed, Some(Wake::Written), "every written file is closed now");
        assert!(rx.try_recv().is_err());
    }

    fn event(kind: EventKind, paths: &[&str]) -> Event {
        paths.iter().fold(Event::new(kind), |e, p| e.add_path(PathBuf::from(p)))
    }

    #[test]
    fn writing_follows_creates_writes_closes_renames_and_removes() {
        let mut writing = Writing::default();
        let data = EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any));
        let close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(writing.after(&event(EventKind::Create(CreateKind::Folder), &["/d"])), Wake::Local);
        assert_eq!(writing.after(&event(EventKind::Create(CreateKind::File), &["/a"])), Wake::Local);
        assert_eq!(writing.after(&event(data, &["/a"])), Wake::Local);
        let rename = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert_eq!(
            writing.after(&event(rename, &["/a", "/b"])),
            Wake::Local,
            "still open under its new name"
        );
        assert_eq!(writing.after(&event(close, &["/b"])), Wake::Written);
        assert_eq!(writing.after(&event(data, &["/c"])), Wake::Local);
        let remove = EventKind::Remove(notify::event::RemoveKind::File);
        assert_eq!(writing.after(&event(remove, &["/c"])), Wake::Local, "no longer open, but deletes wait");
        assert!(writing.0.is_empty());
        assert_eq!(
            writing.after(&event(remove, &["/e"])),
            Wake::Local,
            "a delete waits for the rest of its burst"
        );
        assert_eq!(writing.after(&event(close, &["/f"])), Wake::Written);
    }
}
