//! A device running `cairn sync` for the sync tests: its own profile and folder, the real
//! binary in the background, and what the sync last published in the folder's
//! `.cairn/status.json`. Every wait polls for a condition with a generous deadline.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cli::{Background, Cairn};

/// How long a sync gets to reach a state.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// One device: a profile, a folder, and its `cairn sync` while it runs.
pub struct Device {
    /// The CLI with this device's profile.
    pub cairn: Cairn,
    /// The synced folder.
    pub dir: PathBuf,
    sync: Option<Background>,
}

impl Device {
    /// A device under `home` logged in to `nodes` with `token` (and the CA, for HTTPS), whose
    /// folder is `home/Drive` (not made: the sync makes it, or the test does first).
    pub fn login(home: &Path, nodes: &[String], token: &str, ca: Option<&Path>) -> Self {
        let cairn = Cairn::new(home);
        let mut login = Vec::new();
        for node in nodes {
            login.extend(["--node", node.as_str()]);
        }
        if let Some(ca) = ca {
            login.extend(["--ca", ca.to_str().unwrap()]);
        }
        cairn.login_with_token(token, &login);
        Self { cairn, dir: home.join("Drive"), sync: None }
    }

    /// Starts `cairn sync DIR` with `args` after it.
    pub fn start(&mut self, args: &[&str]) {
        let dir = self.dir.to_str().unwrap().to_owned();
        let mut all = vec!["sync", dir.as_str()];
        all.extend_from_slice(args);
        self.sync = Some(self.cairn.spawn(&all));
    }

    /// Kills the sync, as a crash or a power cut would.
    pub fn stop(&mut self) {
        self.sync.take();
    }

    /// What the sync wrote last, if anything yet.
    pub fn status(&self) -> Option<Value> {
        let bytes = std::fs::read(self.dir.join(".cairn/status.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Its output so far.
    pub fn log(&self) -> String {
        self.sync.as_ref().map(Background::stderr).unwrap_or_default()
    }

    /// Waits until the published status satisfies `check`, then returns it.
    pub fn wait_status(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = None;
        let reached = wait_until(|| {
            last = self.status();
            last.as_ref().is_some_and(&check)
        });
        assert!(reached, "{what}: not within {PATIENCE:?}; last status {last:#?}\nsync log:\n{}", self.log());
        last.unwrap()
    }
}

/// The paths a status lists as waiting, with their reasons.
pub fn waiting(status: &Value) -> Vec<(String, String)> {
    entries(&status["waiting"])
}

/// The paths a status notes, with the notes.
pub fn notes(status: &Value) -> Vec<(String, String)> {
    entries(&status["notes"])
}

fn entries(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|w| {
                    (
                        w["path"].as_str().unwrap_or("").to_owned(),
                        w["reason"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` every 100 ms until it holds (true) or [`PATIENCE`] passes (false).
pub fn wait_until(mut check: impl FnMut() -> bool) -> bool {
    let give_up = Instant::now() + PATIENCE;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > give_up {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every file and folder below `dir`, relative, sorted (folders end with `/`); links listed as
/// they are, never followed.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Polls the async `check` every 100 ms until it holds; panics after [`PATIENCE`].
pub async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let give_up = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < give_up, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The live files of drive folder `path` (recursively, relative to it), with their content.
pub async fn drive_files(client: &cairn_client::Client, path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let folder = if rel.is_empty() { path.to_owned() } else { format!("{path}/{rel}") };
        let view = client.list_all(&folder, None).await.unwrap();
        for child in view.children {
            let child_rel = if rel.is_empty() { child.name.clone() } else { format!("{rel}/{}", child.name) };
            if child.kind == "folder" {
                pending.push(child_rel);
            } else if child.status.as_deref() == Some("complete") {
                let mut content = Vec::new();
                let manifest =
                    client.manifest(&format!("{path}/{child_rel}"), &Default::default()).await.unwrap();
                client.download_into(&manifest, None, &mut content, None).await.unwrap();
                out.push((child_rel, String::from_utf8_lossy(&content).into_owned()));
            }
        }
    }
    out.sort();
    out
}
