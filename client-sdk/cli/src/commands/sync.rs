//! `cairn sync DIR [--remote PATH]`: keeps a local folder and a drive folder identical, in the
//! foreground, with a live status line (what it is doing, and why anything waits), until
//! interrupted. `cairn sync status DIR`: what a folder's sync is doing or did last, read from
//! the folder's `.cairn/` while the sync runs in another process. `cairn sync resume DIR`:
//! lets deletes in the drive that the sync held back (most of the folder at once) go on.

use cairn_client::api::ErrorCode;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_client::sync::guard::confirm;
use cairn_client::sync::state::{StateDb, Summary};
use cairn_client::sync::{
    DeleteGuard, Engine, MassDelete, SyncConfig, SyncError, SyncStatus, default_device_name, read_status_file,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::watch;

use crate::cli::{ProgressMode, SyncAction, SyncArgs};
use crate::context::Context;
use crate::exit::{Exit, Failure};
use cairn_proto::printable;

/// Runs `cairn sync`.
pub async fn sync(ctx: &Context, args: &SyncArgs) -> Result<(), Failure> {
    match &args.action {
        Some(SyncAction::Status { dir }) => return status(ctx, dir),
        Some(SyncAction::Resume { dir }) => return resume(ctx, dir),
        None => {}
    }
    let Some(dir) = &args.dir else { return Err(Failure::usage("name the folder to sync")) };
    std::fs::create_dir_all(dir).map_err(|e| Failure::io("make folder", dir, e))?;
    let dir = dir.canonicalize().map_err(|e| Failure::io("open folder", dir, e))?;
    let device = args.device.clone().unwrap_or_else(default_device_name);
    let mut config = SyncConfig::new(&dir, args.remote.as_deref().unwrap_or("/"), &device)?;
    config.ns = ctx.ns();
    let defaults = DeleteGuard::default();
    config.guard = DeleteGuard {
        percent: args.delete_guard_percent.unwrap_or(defaults.percent),
        min_files: args.delete_guard_files.unwrap_or(defaults.min_files),
    };
    config.confirm_deletes = args.confirm_deletes;
    let remote = format!("/{}", config.remote);
    let engine = Engine::new(ctx.client()?, config);
    ctx.out.note(&format!("syncing {} with {remote} as {device:?}; Ctrl-C stops", dir.display()));
    let _line = StatusLine::start(ctx.global.progress, ctx.global.quiet, engine.status());
    engine.run(std::future::pending()).await?;
    Ok(())
}

/// The live status line: an indicatif spinner on a terminal, a plain line per change with
/// `--progress lines`, nothing otherwise.
struct StatusLine {
    task: tokio::task::JoinHandle<()>,
}

impl StatusLine {
    fn start(mode: ProgressMode, quiet: bool, mut status: watch::Receiver<SyncStatus>) -> Self {
        let spinner = !quiet && mode == ProgressMode::Auto && std::io::stderr().is_terminal();
        let lines = !quiet && mode == ProgressMode::Lines;
        let task = tokio::spawn(async move {
            if !spinner && !lines {
                return;
            }
            let bar = spinner.then(|| {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            let mut last = String::new();
            loop {
                let line = status.borrow_and_update().line();
                if line != last {
                    match &bar {
                        Some(bar) => bar.set_message(line.clone()),
                        None => eprintln!("cairn: sync: {line}"),
                    }
                    last = line;
                }
                if status.changed().await.is_err() {
                    break;
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        });
        Self { task }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What `cairn sync status` answers.
#[derive(Serialize)]
struct StatusAnswer {
    folder: PathBuf,
    /// Whether a sync runs on the folder now (its state is locked).
    running: bool,
    /// What the state holds, when no sync runs.
    state: Option<Summary>,
    /// What the sync published last.
    status: Option<SyncStatus>,
}

fn status(ctx: &Context, dir: &Path) -> Result<(), Failure> {
    let (running, state) = match StateDb::summary(dir) {
        Ok(state) => (false, state),
        Err(SyncError::InUse(_)) => (true, None),
        Err(e) => return Err(e.into()),
    };
    let status = read_status_file(dir);
    if !running && state.is_none() && status.is_none() {
        let message = format!("{} has never been synced", dir.display());
        return Err(Failure::new(Exit::NotFound, ErrorCode::NotFound.as_str(), message));
    }
    let answer = StatusAnswer { folder: dir.to_path_buf(), running, state, status };
    ctx.out.answer(&answer, |w| {
        let what = match (&answer.status, running) {
            (Some(status), true) => status.line(),
            (Some(status), false) => format!("not running; last: {}", status.line()),
            (None, _) => "not running".to_owned(),
        };
        writeln!(w, "{}: {what}", answer.folder.display())?;
        if let Some(state) = &answer.state {
            writeln!(w, "synced with /{}: {} files, {} folders", state.remote, state.files, state.folders)?;
        }
        if let Some(status) = &answer.status {
            if let Some(paused) = &status.paused {
                writeln!(w, "{}", paused.describe())?;
            }
            if let Some(error) = &status.last_error {
                writeln!(w, "last error: {}", printable(error))?;
            }
            for waiting in &status.waiting {
                writeln!(w, "waiting: {}: {}", printable(&waiting.path), printable(&waiting.reason))?;
            }
            for note in &status.notes {
                writeln!(w, "note: {}: {}", printable(&note.path), printable(&note.reason))?;
            }
        }
        Ok(())
    });
    Ok(())
}

/// What `cairn sync resume` answers.
#[derive(Serialize)]
struct Resumed {
    folder: PathBuf,
    /// Whether a sync runs on the folder now (it goes on at once; else the next one does).
    running: bool,
    /// The deletes let go on.
    deletes: MassDelete,
}

/// Confirms the mass delete the folder's sync last reported as held back.
fn resume(ctx: &Context, dir: &Path) -> Result<(), Failure> {
    let running = matches!(StateDb::summary(dir), Err(SyncError::InUse(_)));
    let paused = read_status_file(dir).and_then(|status| status.paused);
    let Some(deletes) = paused else {
        let message = format!("{}: no deletes are held back; nothing to resume", dir.display());
        return Err(Failure::new(Exit::NotFound, "not_paused", message));
    };
    confirm(dir, &deletes.id).map_err(|e| Failure::io("write the confirmation", dir, e))?;
    let answer = Resumed { folder: dir.to_path_buf(), running, deletes };
    ctx.out.answer(&answer, |w| {
        let when =
            if running { "the running sync goes on now" } else { "the next `cairn sync` of it goes on" };
        writeln!(
            w,
            "{}: {} of {} files will be deleted in the drive (they stay in its trash); {when}",
            answer.folder.display(),
            answer.deletes.files,
            answer.deletes.of
        )
    });
    Ok(())
}
