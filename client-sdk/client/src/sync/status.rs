//! What a sync is doing, for people: the engine publishes a [`SyncStatus`] on a tokio watch
//! channel (the CLI's live status line follows it) and also writes it to the synced folder's
//! `.cairn/status.json`, so `cairn sync status DIR` can show it from another process while the
//! state database is locked by the running sync.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::action::Waiting;
use super::guard::MassDelete;
use super::state::STATE_DIR;

/// The file in `.cairn/` with the last status a running sync published.
pub const STATUS_FILE: &str = "status.json";

/// The engine's phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Opening the state, starting the watcher.
    #[default]
    Starting,
    /// Reading the local folder.
    Scanning,
    /// Listing the drive folder.
    Listing,
    /// Carrying out a plan.
    Syncing,
    /// In step; waiting for a change on either side.
    Idle,
    /// The cluster cannot be reached; trying again after a pause.
    Offline,
    /// Stopped (by the caller, or by an error a person must fix).
    Stopped,
}

/// A snapshot of the engine's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncStatus {
    /// What it is doing.
    pub activity: Activity,
    /// The current step, for people (`uploading docs/a.txt`).
    pub detail: String,
    /// Steps done in the current pass.
    pub done: usize,
    /// Steps in the current pass.
    pub total: usize,
    /// Paths not in step, and why (cannot be synced, failed, waiting for something).
    pub waiting: Vec<Waiting>,
    /// Deletes in the drive held back until a person confirms them.
    pub paused: Option<MassDelete>,
    /// Paths in step that are worth knowing about (names devices on Windows cannot hold).
    pub notes: Vec<Waiting>,
    /// The last error of a pass, if the last pass failed.
    pub last_error: Option<String>,
    /// When both sides were last found in step (ms since the epoch).
    pub in_step_ms: Option<u64>,
    /// The change-journal cursor the engine follows.
    pub cursor: u64,
    /// Paths (files and folders) the base holds.
    pub synced: usize,
    /// Passes run since the start.
    pub passes: u64,
    /// The process running the sync.
    pub pid: u32,
    /// When this snapshot was taken (ms since the epoch).
    pub updated_ms: u64,
}

impl SyncStatus {
    /// One line for a terminal: what is going on and what waits.
    pub fn line(&self) -> String {
        let mut line = match self.activity {
            Activity::Starting => "starting".to_owned(),
            Activity::Scanning => "scanning the local folder".to_owned(),
            Activity::Listing => "listing the drive folder".to_owned(),
            Activity::Syncing if self.detail.is_empty() => format!("syncing ({}/{})", self.done, self.total),
            Activity::Syncing => format!("{} ({}/{})", self.detail, self.done, self.total),
            Activity::Idle if self.paused.is_some() => {
                format!("waiting for a person ({} synced)", self.synced)
            }
            Activity::Idle => format!("up to date ({} synced)", self.synced),
            Activity::Offline => format!("offline: {}", self.detail),
            Activity::Stopped => format!("stopped: {}", self.detail),
        };
        if let Some(paused) = &self.paused {
            line.push_str(&format!("; {}", paused.describe()));
        }
        if let Some(first) = self.waiting.first() {
            let more = match self.waiting.len() {
                1 => String::new(),
                n => format!(" (+{} more)", n - 1),
            };
            line.push_str(&format!("; waiting: {}: {}{more}", first.path, first.reason));
        }
        line
    }
}

/// Writes `status` to the folder's status file, through a temporary file renamed into place,
/// so a reader never sees half of it. Best effort: a status file is a convenience.
pub fn write_status_file(folder: &Path, status: &SyncStatus) {
    let dir = folder.join(STATE_DIR);
    let Ok(json) = serde_json::to_vec_pretty(status) else { return };
    let result = tempfile::NamedTempFile::new_in(&dir).and_then(|mut temp| {
        std::io::Write::write_all(&mut temp, &json)?;
        temp.persist(dir.join(STATUS_FILE)).map_err(|e| e.error)?;
        Ok(())
    });
    if let Err(error) = result {
        tracing::debug!(%error, "could not write the status file");
    }
}

/// The status a sync of `folder` last wrote, if any.
pub fn read_status_file(folder: &Path) -> Option<SyncStatus> {
    let bytes = std::fs::read(folder.join(STATE_DIR).join(STATUS_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_status_file_round_trips_and_the_line_says_what_waits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
        assert_eq!(read_status_file(dir.path()), None);
        let status = SyncStatus {
            activity: Activity::Syncing,
            detail: "uploading a.txt".into(),
            done: 1,
            total: 3,
            waiting: vec![
                Waiting { path: "x".into(), reason: "being uploaded elsewhere".into() },
                Waiting { path: "y".into(), reason: "unreadable".into() },
            ],
            ..SyncStatus::default()
        };
        write_status_file(dir.path(), &status);
        assert_eq!(read_status_file(dir.path()), Some(status.clone()));
        assert_eq!(status.line(), "uploading a.txt (1/3); waiting: x: being uploaded elsewhere (+1 more)");
        let paused = MassDelete { files: 30, of: 40, id: "0123".into(), paths: Default::default() };
        let held = SyncStatus {
            activity: Activity::Idle,
            synced: 40,
            paused: Some(paused),
            ..SyncStatus::default()
        };
        let line = held.line();
        assert!(
            line.starts_with("waiting for a person (40 synced); paused: this pass would delete 30 of the 40"),
            "{line}"
        );
        assert!(line.contains("cairn sync resume"), "{line}");
        // A status file of an older version, without the newer fields, still reads.
        std::fs::write(dir.path().join(STATE_DIR).join(STATUS_FILE), r#"{"activity":"idle","synced":3}"#)
            .unwrap();
        assert_eq!(read_status_file(dir.path()).map(|s| s.synced), Some(3));
    }
}
