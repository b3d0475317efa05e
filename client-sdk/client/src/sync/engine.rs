//! The sync loop. A pass reads both trees whole, plans and executes (simple and always
//! correct; passes that touch only the changed paths are a later optimisation). Passes run:
//!
//! - at the start, which is also how a device catches up after being off;
//! - when the change journal has news (a long poll in its own task, following a cursor taken
//!   before the first listing, so nothing committed after that listing is missed; a cursor the
//!   journal no longer covers just restarts it from the newest), at once: what it reports is
//!   committed;
//! - when the file system reports a change (a recursive watcher), after local events have been
//!   quiet for the debounce (200 ms: editors write in bursts) while a file may still be being
//!   written, or only briefly once every written file has been closed (`IN_CLOSE_WRITE`);
//! - every `rescan` (60 s), whatever the watcher said;
//! - again at once after a pass that changed something, until a pass finds nothing to do (a
//!   conflict or a deferred step settles on the next pass).
//!
//! While the cluster cannot be reached, passes are retried with a growing pause; local changes
//! made meanwhile are simply part of the next pass. Progress is published as a [`SyncStatus`].
//!
//! Each pass checks what it cannot act on before it plans: the local scan and the listing hold
//! links, mount points and names that cannot be here; names this disk takes for one are
//! held but one ([`hold_twins`]); and a plan that would delete most of the folder in the drive
//! has those deletes held back until a person confirms them ([`guard`](super::guard)).

use crate::api::ErrorCode;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use cairn_proto::{Backoff, Clock};
use tokio::sync::{mpsc, watch};

use super::action::{Action, Plan, Waiting};
use super::config::SyncConfig;
use super::error::SyncError;
use super::execute::{Executor, TMP_DIR};
use super::guard::{MassDelete, clear_confirmation, hold_deletes, read_confirmation};
use super::local::scan;
use super::plan::plan;
use super::remote::{remote_path, scan_remote};
use super::rules::Rules;
use super::state::{STATE_DIR, StateDb};
use super::status::{Activity, SyncStatus, write_status_file};
use super::tree::BaseTree;
use super::twins::hold_twins;
use super::watch::Wake;
use crate::Client;
use crate::disk::{DiskNames, Root};

/// Passes in a row while each changes something, before waiting for a wake-up anyway.
const MAX_CHAINED_PASSES: usize = 8;
/// The longest a stream of local events can hold a pass back.
const MAX_DEBOUNCE: Duration = Duration::from_secs(2);
/// The first pause after a failed pass or long poll; it doubles up to the config's `max_backoff`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How long news from the journal waits for more news, so a burst costs one pass.
const COALESCE: Duration = Duration::from_millis(20);

/// What one pass did.
struct PassOutcome {
    changed: usize,
}

/// Deletes in the drive a person let go on.
#[derive(Debug, Default)]
struct Confirmed {
    /// Whatever mass delete the next pass to go through finds (`--confirm-deletes`).
    any: bool,
    /// The files of the last mass delete confirmed: a later pass may delete those (what a
    /// failed pass left of them) without asking again.
    files: BTreeSet<String>,
}

/// A sync of one local folder with one drive folder.
pub struct Engine {
    client: Client,
    config: SyncConfig,
    status: watch::Sender<SyncStatus>,
    /// The time of day the status reports (when it changed, since when the folder is in step).
    clock: Clock,
}

impl Engine {
    /// An engine for `config`, talking to the cluster through `client`, on the system clock.
    pub fn new(client: Client, config: SyncConfig) -> Self {
        let status = SyncStatus { pid: std::process::id(), ..SyncStatus::default() };
        Self { client, config, status: watch::Sender::new(status), clock: Clock::system() }
    }

    /// The same engine telling the time by `clock` instead (a test fixes it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Follows the engine's progress.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// Syncs until `shutdown` completes, or until an error a person must fix (another sync on
    /// the folder, a drive path that is a file, a token that is refused).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), SyncError> {
        tokio::pin!(shutdown);
        let result = tokio::select! {
            result = self.sync_forever() => result,
            () = &mut shutdown => Ok(()),
        };
        let detail = match &result {
            Ok(()) => "asked to stop".to_owned(),
            Err(e) => e.to_string(),
        };
        self.publish(|s| {
            s.activity = Activity::Stopped;
            s.detail = detail;
        });
        write_status_file(&self.config.local, &self.status.borrow());
        result
    }

    async fn sync_forever(&self) -> Result<(), SyncError> {
        let root = &self.config.local;
        tokio::fs::create_dir_all(root).await.map_err(|e| SyncError::io(root, e))?;
        let state_dir = root.join(STATE_DIR);
        if tokio::fs::symlink_metadata(&state_dir).await.is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(SyncError::Setup(format!(
                "{} is a symbolic link: the sync's own state must live inside the folder",
                state_dir.display()
            )));
        }
        let mut state = {
            let (root, remote, ns) = (root.clone(), self.config.remote.clone(), self.config.ns);
            tokio::task::spawn_blocking(move || StateDb::open(&root, &remote, ns))
                .await
                .map_err(|e| SyncError::Setup(format!("the state task failed: {e}")))??
        };
        let tmp = state_dir.join(TMP_DIR);
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        let walled = {
            let (root, state_dir) = (root.clone(), state_dir.clone());
            tokio::task::spawn_blocking(move || Root::new(&root, DiskNames::probe(&state_dir)))
                .await
                .map_err(|e| SyncError::Setup(format!("the disk probe failed: {e}")))??
        };
        tracing::debug!(names = ?walled.names(), "the synced folder's disk");
        let walled = Arc::new(walled);
        let _status_file = StatusFile::start(self.status.subscribe(), root.clone());

        let rules = Arc::new(RwLock::new(Rules::built_in()));
        let (wake_tx, mut wake) = mpsc::unbounded_channel();
        let _watcher = match super::watch::watch(root, rules.clone(), wake_tx.clone()) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                tracing::warn!(error = %e, "no file-system events; relying on the periodic rescan");
                None
            }
        };
        let cursor = Arc::new(AtomicU64::new(state.cursor()?.unwrap_or(0)));
        let poller =
            tokio::spawn(poll_changes(self.client.clone(), self.config.clone(), cursor.clone(), wake_tx));
        let _poller = AbortOnDrop(poller);

        let mut rescan = tokio::time::interval(self.config.rescan);
        rescan.reset();
        let mut backoff = Backoff::new(FIRST_BACKOFF, self.config.max_backoff);
        let mut chained = 0;
        let mut confirmed = Confirmed { any: self.config.confirm_deletes, files: BTreeSet::new() };
        loop {
            let seen = cursor.load(Ordering::SeqCst);
            match self.pass(&walled, &mut state, &rules, &mut confirmed).await {
                Ok(outcome) => {
                    backoff.reset();
                    confirmed.any = false;
                    if seen != 0 && state.cursor()? != Some(seen) {
                        state.set_cursor(seen)?;
                    }
                    if outcome.changed > 0 && chained < MAX_CHAINED_PASSES {
                        chained += 1;
                        continue;
                    }
                    chained = 0;
                }
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    let offline = e.is_offline();
                    let pause = backoff.next_delay();
                    tracing::warn!(error = %e, "sync pass failed; trying again in {pause:?}");
                    self.publish(|s| {
                        s.activity = if offline { Activity::Offline } else { Activity::Idle };
                        s.detail = format!("{e}; trying again in {}s", pause.as_secs());
                        s.last_error = Some(e.to_string());
                    });
                    // A wake-up does not cut the pause short: the cluster is what is awaited.
                    tokio::time::sleep(pause).await;
                    continue;
                }
            }
            let first = tokio::select! {
                woke = wake.recv() => woke.unwrap_or(Wake::Remote),
                _ = rescan.tick() => Wake::Remote,
            };
            self.debounce(first, &mut wake).await;
        }
    }

    /// Waits until wake-ups have been quiet for a while — the debounce while a local file may
    /// still be being written, only [`COALESCE`] once every written file was closed or after
    /// news from the journal — or at most [`MAX_DEBOUNCE`].
    async fn debounce(&self, first: Wake, wake: &mut mpsc::UnboundedReceiver<Wake>) {
        let deadline = tokio::time::Instant::now() + MAX_DEBOUNCE;
        let mut writing = first == Wake::Local;
        loop {
            let quiet = if writing { self.config.debounce } else { COALESCE };
            tokio::select! {
                () = tokio::time::sleep(quiet) => return,
                () = tokio::time::sleep_until(deadline) => return,
                more = wake.recv() => match more {
                    Some(Wake::Local) => writing = true,
                    Some(Wake::Written) => writing = false,
                    Some(Wake::Remote) => {}
                    None => return,
                },
            }
        }
    }

    /// One full pass: scan, list, plan, guard, execute.
    async fn pass(
        &self,
        root: &Arc<Root>,
        state: &mut StateDb,
        rules: &RwLock<Rules>,
        confirmed: &mut Confirmed,
    ) -> Result<PassOutcome, SyncError> {
        self.publish(|s| s.activity = Activity::Scanning);
        let (walled, base) = (root.clone(), state.base().clone());
        let local = tokio::task::spawn_blocking(move || scan(&walled, &base))
            .await
            .map_err(|e| SyncError::Setup(format!("the scanning task failed: {e}")))??;
        if let Ok(mut shared) = rules.write() {
            *shared = local.rules.clone();
        }
        self.publish(|s| s.activity = Activity::Listing);
        let (client, ns) = (&self.client, self.config.ns);
        // Taken before the listing, so every change after it is one the listing may not show:
        // the executor's deletes in the drive are refused if anything was put there since.
        let listed_after = client.latest_cursor().await?;
        let names = root.names();
        let remote = match scan_remote(client, &self.config.remote, ns, &local.rules, names).await {
            // The first sync of a new drive folder (or it was deleted): make it.
            Err(SyncError::Client(e)) if e.is(ErrorCode::NotFound) => {
                self.make_remote_root().await?;
                scan_remote(client, &self.config.remote, ns, &local.rules, names).await?
            }
            other => other?,
        };
        let mut held = local.held;
        for (path, hold) in remote.held {
            held.entry(path).or_insert(hold);
        }
        hold_twins(&remote.tree, &local.tree, state.base(), names, &mut held);
        let mut plan = plan(&local.tree, &remote.tree, state.base(), &held);
        let held_shown: BTreeSet<String> = held.into_values().map(|hold| hold.shown).collect();
        let paused = self.guard(&mut plan, state.base(), confirmed);
        let mut waiting: Vec<Waiting> = local.unnamed;
        waiting.extend(plan.waiting.iter().cloned());
        self.publish(|s| {
            s.activity = Activity::Syncing;
            s.done = 0;
            s.total = plan.actions.len();
        });
        let outcome =
            Executor::new(&self.client, &self.config, root.clone(), state, &self.status, listed_after)
                .run(&plan)
                .await?;
        waiting.extend(outcome.waiting);
        // Held paths are settled, not pending: a folder with a link in it is still in step; so
        // is one whose pass only recorded metadata.
        let unsettled =
            waiting.len() - waiting.iter().filter(|w| held_shown.contains(w.path.as_str())).count();
        let in_step = plan.actions.iter().all(Action::is_bookkeeping) && unsettled == 0 && paused.is_none();
        let synced = state.base().len();
        self.publish(|s| {
            s.activity = Activity::Idle;
            s.detail.clear();
            s.waiting = waiting;
            s.paused = paused;
            s.notes = remote.notes;
            s.last_error = None;
            s.synced = synced;
            s.passes += 1;
            if in_step {
                s.in_step_ms = Some(self.clock.now_ms());
            }
        });
        Ok(PassOutcome { changed: outcome.changed })
    }

    /// Holds back the plan's deletes in the drive if they are a mass delete nobody confirmed,
    /// and says which; a confirmed one goes on.
    fn guard(&self, plan: &mut Plan, base: &BaseTree, confirmed: &mut Confirmed) -> Option<MassDelete> {
        let folder = &self.config.local;
        let Some(mass) = self.config.guard.check(plan, base) else {
            // Nothing waits for a person: a confirmation left over confirms nothing any more.
            confirmed.files.clear();
            if read_confirmation(folder).is_some() {
                clear_confirmation(folder);
            }
            return None;
        };
        let by_resume = read_confirmation(folder).is_some_and(|id| id == mass.id);
        if by_resume {
            clear_confirmation(folder);
        }
        if confirmed.any || by_resume || mass.paths.is_subset(&confirmed.files) {
            tracing::warn!(files = mass.files, of = mass.of, "a confirmed mass delete goes on");
            confirmed.files = mass.paths;
            return None;
        }
        tracing::warn!(files = mass.files, of = mass.of, id = %mass.id, "{}", mass.describe());
        hold_deletes(plan);
        Some(mass)
    }

    /// Makes the synced drive folder.
    async fn make_remote_root(&self) -> Result<(), SyncError> {
        let path = remote_path(&self.config.remote, "");
        match self.client.make_folder(&path, self.config.ns).await {
            Ok(_) => Ok(()),
            Err(e) if e.is(ErrorCode::WrongKind) => {
                Err(SyncError::Setup(format!("/{path} is a file in the drive, not a folder: {e}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn publish(&self, change: impl FnOnce(&mut SyncStatus)) {
        self.status.send_modify(|s| {
            change(s);
            s.updated_ms = self.clock.now_ms();
        });
    }
}

/// Follows the change journal with long polls and wakes the engine when something changed in
/// the synced drive folder. Runs until aborted.
async fn poll_changes(
    client: Client,
    config: SyncConfig,
    cursor: Arc<AtomicU64>,
    wake: mpsc::UnboundedSender<Wake>,
) {
    let mut backoff = Backoff::new(FIRST_BACKOFF, config.max_backoff);
    // The engine's first pass lists everything; following from the newest change is enough,
    // as long as the position is taken before that listing could be.
    let mut at = loop {
        match client.latest_cursor().await {
            Ok(latest) => break latest,
            Err(e) => {
                tracing::debug!(error = %e, "no cursor yet");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    };
    cursor.store(at, Ordering::SeqCst);
    let _ = wake.send(Wake::Remote);
    backoff.reset();
    loop {
        match client.changes(at, Some(config.poll), None).await {
            Ok(page) => {
                backoff.reset();
                let relevant = page.changes.iter().any(|c| {
                    config.ns.is_none_or(|ns| ns == c.ns)
                        && (concerns(&config.remote, &c.path)
                            || c.from.as_deref().is_some_and(|from| concerns(&config.remote, from)))
                });
                at = page.cursor;
                cursor.store(at, Ordering::SeqCst);
                if relevant {
                    let _ = wake.send(Wake::Remote);
                }
            }
            Err(e) if e.is(ErrorCode::CursorExpired) => {
                tracing::info!("the change journal no longer covers the cursor; resyncing");
                if let Ok(latest) = client.latest_cursor().await {
                    at = latest;
                    cursor.store(at, Ordering::SeqCst);
                }
                let _ = wake.send(Wake::Remote);
            }
            Err(e) => {
                let pause = backoff.next_delay();
                tracing::debug!(error = %e, "long poll failed; trying again in {pause:?}");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Whether a change at drive path `path` is inside (or above) the synced drive folder `root`.
fn concerns(root: &str, path: &str) -> bool {
    let path = path.trim_start_matches('/');
    root.is_empty() || path == root || super::tree::is_below(path, root) || super::tree::is_below(root, path)
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes the status to `.cairn/status.json` at most twice a second while it changes; the
/// writing task ends when this is dropped.
struct StatusFile {
    _task: AbortOnDrop,
}

impl StatusFile {
    fn start(mut status: watch::Receiver<SyncStatus>, folder: std::path::PathBuf) -> Self {
        let task = tokio::spawn(async move {
            while status.changed().await.is_ok() {
                let snapshot = status.borrow_and_update().clone();
                let folder = folder.clone();
                let _ = tokio::task::spawn_blocking(move || write_status_file(&folder, &snapshot)).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { _task: AbortOnDrop(task) }
    }
}

#[cfg(test)]
mod tests {
    use super::concerns;

    #[test]
    fn changes_concern_the_synced_folder_and_what_is_above_it() {
        assert!(concerns("", "/anything"));
        assert!(concerns("docs", "/docs/a.txt"));
        assert!(concerns("docs", "docs"));
        assert!(concerns("docs/sub", "docs"));
        assert!(!concerns("docs", "/docsx/a"));
        assert!(!concerns("docs", "other/a"));
    }
}
