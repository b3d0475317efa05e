//! What to sync and how eagerly: the two folders, the device's name for conflicted copies,
//! and the engine's timings.

use std::path::PathBuf;
use std::time::Duration;

use super::error::SyncError;
use super::guard::DeleteGuard;
use crate::drive::drive_path;

/// The settings of one synced folder.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The local folder.
    pub local: PathBuf,
    /// The drive folder, normalised, without a leading slash ("" for the whole drive).
    pub remote: String,
    /// A namespace shared with the user, instead of their own drive.
    pub ns: Option<u64>,
    /// This device's name, as conflicted copies show it.
    pub device: String,
    /// How long local events must be quiet before a pass starts: editors write a file in
    /// several steps, and a burst of events should cost one pass, not many.
    pub debounce: Duration,
    /// A full rescan this often, whatever the watcher said (it can miss events: a full
    /// inotify queue, a network file system).
    pub rescan: Duration,
    /// How long one long poll of the change journal waits.
    pub poll: Duration,
    /// The longest wait between attempts while the cluster cannot be reached.
    pub max_backoff: Duration,
    /// When deletes in the drive wait for a person.
    pub guard: DeleteGuard,
    /// The mass delete the first pass finds (if any) is confirmed already: a person started
    /// this sync to let it go on.
    pub confirm_deletes: bool,
}

impl SyncConfig {
    /// Settings for syncing `local` with the drive folder `remote` as `device`, with the
    /// default timings (200 ms debounce, a rescan every minute, 30 s long polls) and guard.
    pub fn new(local: impl Into<PathBuf>, remote: &str, device: &str) -> Result<Self, SyncError> {
        let remote = drive_path(remote)?.as_str().to_owned();
        Ok(Self {
            local: local.into(),
            remote,
            ns: None,
            device: device.to_owned(),
            debounce: Duration::from_millis(200),
            rescan: Duration::from_secs(60),
            poll: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
            guard: DeleteGuard::default(),
            confirm_deletes: false,
        })
    }
}

/// A name for this device: `$CAIRN_DEVICE`, else the host's name, else `device`.
pub fn default_device_name() -> String {
    let from_env = std::env::var("CAIRN_DEVICE").ok().or_else(|| std::env::var("HOSTNAME").ok());
    let from_file = || std::fs::read_to_string("/etc/hostname").ok();
    from_env
        .or_else(from_file)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "device".to_owned())
}
