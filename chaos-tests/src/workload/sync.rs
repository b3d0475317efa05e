//! The sync workload: two devices, each a sync engine on its own folder, both syncing the drive
//! folder `sync/`, while an editor on each creates, edits, renames and deletes files — some in
//! a folder of its own, some in a shared folder both edit at once, so conflicts happen.
//!
//! What the editors did is kept as each device's *live edits*: contents a device wrote that it
//! has not itself overwritten or deleted since. No edit is lost if, in the end, every live edit
//! of every device is still somewhere: a file in the (converged) folders — conflicted copies
//! count — or a version in the drive's history of some file, live or trashed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cairn_client::Client;
use cairn_client::api::{DownloadOptions, HistoryOptions, TrashListing};
use cairn_client::sync::{Engine, SyncConfig, SyncStatus};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinHandle;

use super::UserClient;

/// The drive folder both devices sync.
pub const REMOTE: &str = "sync";

/// What a folder holds: relative path → blake3 of the content.
pub type Snapshot = BTreeMap<String, String>;

/// One device: a folder, and its engine, restarted with a fresh client when the membership
/// changes (a device would be restarted or reconfigured so too).
pub struct Device {
    /// Its name, in conflicted copies.
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    engine: JoinHandle<()>,
    /// The running engine's status, for saying why a device is behind.
    status: Arc<Mutex<Option<tokio::sync::watch::Receiver<SyncStatus>>>>,
    /// Contents it wrote and has not overwritten or deleted itself: path → hash, as it wrote
    /// them, and every live hash.
    edits: Arc<Mutex<Edits>>,
}

/// A device's live edits.
#[derive(Default)]
struct Edits {
    /// What this device last wrote at each path (if it is still its own).
    at: BTreeMap<String, String>,
    /// Every live content hash.
    live: BTreeSet<String>,
    /// Edits made.
    made: usize,
}

impl Drop for Device {
    fn drop(&mut self) {
        self.engine.abort();
    }
}

/// Starts device `name` on folder `dir`.
pub fn start_device(user: Arc<UserClient>, name: &str, dir: PathBuf) -> Device {
    let (device, folder) = (name.to_owned(), dir.clone());
    let status: Arc<Mutex<Option<tokio::sync::watch::Receiver<SyncStatus>>>> = Arc::default();
    let latest = status.clone();
    let engine = tokio::spawn(async move {
        loop {
            let mut renewals = user.renewals();
            let mut config = match SyncConfig::new(&folder, REMOTE, &device) {
                Ok(config) => config,
                Err(e) => return tracing::error!(%device, error = %e, "sync config"),
            };
            config.rescan = Duration::from_secs(10);
            config.max_backoff = Duration::from_secs(2);
            let engine = Engine::new(user.get(), config);
            *latest.lock().unwrap_or_else(PoisonError::into_inner) = Some(engine.status());
            match engine.run(async move { _ = renewals.changed().await }).await {
                Ok(()) => tracing::info!(%device, "sync engine restarts with the new members"),
                Err(e) => {
                    tracing::warn!(%device, error = %e, "sync engine stopped; restarting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Device { name: name.to_owned(), dir, engine, status, edits: Arc::default() }
}

/// The editor of `device` (number `index`): edits until `until`, every few hundred ms.
pub async fn edit(device: &Device, index: usize, until: Instant, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut n = 0usize;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..600))).await;
        n += 1;
        let files = files_of(&device.dir);
        let dice = rng.random_range(0..100);
        let target = if dice < 30 || files.is_empty() {
            Some(format!("d{index}/f{n}.txt"))
        } else if dice < 55 {
            Some(format!("shared/s{}.txt", rng.random_range(0..3)))
        } else if dice < 80 {
            files.get(rng.random_range(0..files.len())).cloned()
        } else {
            None
        };
        let result = match target {
            Some(rel) => write(device, &rel, &mut rng, n, index),
            None if dice < 90 => remove(device, &files[rng.random_range(0..files.len())]),
            None => rename(device, &files[rng.random_range(0..files.len())], &format!("d{index}/r{n}.txt")),
        };
        if let Err(e) = result {
            // A file the engine replaced or removed a moment ago: the edit is skipped, not lost.
            tracing::debug!(device = device.name, error = %e, "edit skipped");
        }
    }
}

fn write(device: &Device, rel: &str, rng: &mut SmallRng, n: usize, index: usize) -> std::io::Result<()> {
    let path = device.dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let before = std::fs::read(&path).ok().map(|b| hash(&b));
    let len = rng.random_range(50..20_000);
    let mut content = format!("{} edit {n} of device {index}\n", device.name).into_bytes();
    content.extend((0..len).map(|_| b'a' + rng.random_range(0..26u8)));
    // Written whole to a temporary name and renamed over, as editors save.
    let tmp = device.dir.join(format!(".{}.swp", rel.replace('/', "_")));
    std::fs::write(&tmp, &content)?;
    std::fs::rename(&tmp, &path)?;
    let mut edits = device.edits.lock().unwrap_or_else(PoisonError::into_inner);
    supersede(&mut edits, rel, before.as_deref());
    let new = hash(&content);
    edits.at.insert(rel.to_owned(), new.clone());
    edits.live.insert(new);
    edits.made += 1;
    Ok(())
}

/// This device replaces what is at `rel`: if that was still its own last write there, that
/// write is superseded by itself (it need not survive); anything else there came from the
/// drive, where it survives.
fn supersede(edits: &mut Edits, rel: &str, now: Option<&str>) {
    if let Some(mine) = edits.at.remove(rel)
        && now == Some(mine.as_str())
    {
        edits.live.remove(&mine);
    }
}

fn remove(device: &Device, rel: &str) -> std::io::Result<()> {
    let path = device.dir.join(rel);
    let before = std::fs::read(&path).ok().map(|b| hash(&b));
    std::fs::remove_file(&path)?;
    let mut edits = device.edits.lock().unwrap_or_else(PoisonError::into_inner);
    supersede(&mut edits, rel, before.as_deref());
    Ok(())
}

fn rename(device: &Device, from: &str, to: &str) -> std::io::Result<()> {
    let (source, target) = (device.dir.join(from), device.dir.join(to));
    if target.exists() {
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(&source, &target)?;
    let mut edits = device.edits.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(mine) = edits.at.remove(from) {
        edits.at.insert(to.to_owned(), mine);
    }
    Ok(())
}

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// The files of a synced folder an editor may pick (relative paths). Conflicted copies are left
/// alone: the engine may not have uploaded one yet, and deleting it then would be the editor's
/// own loss of the other side's edit, which the check could not tell from the engine's.
fn files_of(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().filter(|p| !p.contains("conflicted copy")).collect()
}

/// What a synced folder holds, without the engine's state and editors' temporary files.
pub fn snapshot(dir: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(root) else { continue };
            let rel = rel.to_string_lossy().replace('\\', "/");
            let name = entry.file_name().to_string_lossy().into_owned();
            if rel == ".cairn" || name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(rel, hash(&bytes));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(dir, dir, &mut out);
    out
}

/// What the drive folder holds: relative path → the head version's hash.
pub async fn drive_snapshot(client: &Client) -> Result<Snapshot, String> {
    let mut out = Snapshot::new();
    let mut folders = vec![REMOTE.to_owned()];
    while let Some(folder) = folders.pop() {
        let view = client.list_all(&folder, None).await.map_err(|e| format!("list {folder}: {e}"))?;
        for child in view.children {
            let path = format!("{folder}/{}", child.name);
            if child.kind == "folder" {
                folders.push(path);
                continue;
            }
            if child.status.as_deref() != Some("complete") {
                continue;
            }
            let history = client
                .history(&path, &HistoryOptions::default())
                .await
                .map_err(|e| format!("{path}: {e}"))?;
            if let Some(head) = history.versions.iter().find(|v| v.version == history.head) {
                out.insert(path[REMOTE.len() + 1..].to_owned(), head.hash.clone());
            }
        }
    }
    Ok(out)
}

/// Every content the drive ever held under the synced folder: each version of each live and
/// trashed file.
pub async fn drive_contents(client: &Client) -> Result<BTreeSet<String>, String> {
    let mut paths: BTreeSet<String> =
        drive_snapshot(client).await?.into_keys().map(|p| format!("{REMOTE}/{p}")).collect();
    let mut after = None;
    loop {
        let listing = TrashListing { ns: None, after, limit: Some(1000) };
        let page = client.trash(&listing).await.map_err(|e| format!("trash: {e}"))?;
        paths.extend(
            page.files.iter().filter(|f| f.path.starts_with(&format!("{REMOTE}/"))).map(|f| f.path.clone()),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    // Versions by number (1 to the head, never dropped): a history page holds only so many.
    let mut contents = BTreeSet::new();
    for path in paths {
        let newest = HistoryOptions { limit: Some(1), ..HistoryOptions::default() };
        let head = client.history(&path, &newest).await.map_err(|e| format!("history of {path}: {e}"))?.head;
        for version in 1..=head {
            let options = DownloadOptions { ns: None, version: Some(version) };
            let manifest =
                client.manifest(&path, &options).await.map_err(|e| format!("{path} v{version}: {e}"))?;
            contents.insert(manifest.hash);
        }
    }
    Ok(contents)
}

/// Whether the devices converged: every folder the same as the drive. `Ok` with the number of
/// files, or what differs when `patience` runs out.
pub async fn wait_converged(
    client: &Client,
    devices: &[&Device],
    patience: Duration,
) -> Result<usize, String> {
    let give_up = Instant::now() + patience;
    loop {
        let drive = drive_snapshot(client).await;
        let differing: Vec<String> = match &drive {
            Ok(drive) => devices
                .iter()
                .filter_map(|d| {
                    let local = snapshot(&d.dir);
                    (local != *drive)
                        .then(|| format!("{} ({})", describe_difference(&d.name, &local, drive), d.doing()))
                })
                .collect(),
            Err(e) => vec![e.clone()],
        };
        if differing.is_empty() {
            return Ok(drive.map(|d| d.len()).unwrap_or(0));
        }
        if Instant::now() >= give_up {
            return Err(format!("not converged after {patience:?}: {}", differing.join("; ")));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Device {
    /// What its engine is doing, and why anything waits.
    fn doing(&self) -> String {
        let status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(status) = status.as_ref() else { return "no engine".into() };
        let s = status.borrow();
        let waiting: Vec<String> =
            s.waiting.iter().take(3).map(|w| format!("{}: {}", w.path, w.reason)).collect();
        format!(
            "engine {:?} {}, {} passes, last error {:?}, waiting {waiting:?}",
            s.activity, s.detail, s.passes, s.last_error
        )
    }
}

fn describe_difference(name: &str, local: &Snapshot, drive: &Snapshot) -> String {
    let only_local: Vec<&String> = local.keys().filter(|k| !drive.contains_key(*k)).take(3).collect();
    let only_drive: Vec<&String> = drive.keys().filter(|k| !local.contains_key(*k)).take(3).collect();
    let different: Vec<&String> = local
        .iter()
        .filter(|(k, v)| drive.get(*k).is_some_and(|d| d != *v))
        .map(|(k, _)| k)
        .take(3)
        .collect();
    format!("{name}: only here {only_local:?}, only in the drive {only_drive:?}, different {different:?}")
}

/// Every device's live edits that are nowhere to be found, and how many live edits there were.
pub fn lost_edits(devices: &[&Device], found: &BTreeSet<String>) -> (usize, usize, Vec<String>) {
    let mut live = 0;
    let mut made = 0;
    let mut lost = Vec::new();
    for device in devices {
        let edits = device.edits.lock().unwrap_or_else(PoisonError::into_inner);
        made += edits.made;
        live += edits.live.len();
        for content in edits.live.iter().filter(|h| !found.contains(*h)) {
            let at =
                edits.at.iter().find(|(_, h)| *h == content).map_or("a renamed or replaced file", |(p, _)| p);
            lost.push(format!("{}: content {} last written at {at}", device.name, &content[..12]));
        }
    }
    (made, live, lost)
}
