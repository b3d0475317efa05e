//! `cairn export`: a user-level backup of a drive, or of a folder, into a local folder — the
//! head of every file at its path, empty folders too, and with `--all-versions` every older
//! kept version beside them, with a manifest of what it holds (the layout is [`layout`]'s), and
//! with `--archive` all of it packed into one tar file too ([`archive`]).
//!
//! Every write goes through the SDK's wall ([`Root`]), so no name the drive sends can write
//! outside the export folder; a name that cannot be written here is skipped and reported, as
//! `cairn get` does, and the command then fails with exit code 9.
//!
//! An export resumes: a version whose file is already there with the size and blake3 the drive
//! declares is kept and not fetched again. A version is fetched into a temporary file beside
//! its place, checked block by block and whole against its hash, and only then renamed into
//! place, so an interrupted export never leaves a truncated file under a real name. A version
//! that fails (a hash that does not match, a node that cannot serve it) is reported with its
//! error and the export goes on with the rest; the command then fails with that error's code.

mod archive;
mod layout;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cairn_client::api::{DownloadOptions, HistoryOptions, Listing, VersionView};
use cairn_client::disk::{DiskNames, Root};
use cairn_client::drive::drive_path;
use cairn_client::sync::local::hash_file;
use cairn_client::{Client, ClientError};
use cairn_proto::DrivePath;
use futures_util::StreamExt;
use serde::Serialize;

use self::layout::{
    ExportManifest, ExportedFile, ExportedVersion, FORMAT, Failed, MANIFEST, Skipped, reserved, version_path,
};
use crate::cli::ExportArgs;
use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::format::{count, shown, size};
use crate::remote::{Walked, walk};

/// Histories asked for at once while planning.
const HISTORIES_AT_ONCE: usize = 8;

/// Versions asked for in one page of a file's history (the API's most).
const HISTORY_PAGE: usize = 1_000;

/// What `export` answers.
#[derive(Serialize)]
struct Summary {
    /// The drive folder exported.
    remote: String,
    /// The export folder.
    out: PathBuf,
    /// The manifest written.
    manifest: PathBuf,
    /// The tar file written (`--archive`), if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    archive: Option<PathBuf>,
    all_versions: bool,
    /// Folders in the export, its own included.
    folders: usize,
    /// Files with at least one version held.
    files: usize,
    /// Versions held (heads included).
    versions: usize,
    /// Their bytes.
    size: u64,
    /// Versions downloaded on this run.
    fetched: usize,
    /// Their bytes.
    fetched_size: u64,
    /// Versions already there, with the right size and hash, kept as they were.
    present: usize,
    skipped: Vec<Skipped>,
    failed: Vec<Failed>,
    /// Response body bytes received.
    bytes_received: u64,
    /// Requests repeated after a failure, on the same node or another.
    retries: u64,
}

/// One file to export: its drive path, its path in the export, its id and head.
struct Planned {
    path: DrivePath,
    rel: String,
    file: u64,
    head: u64,
    /// The versions wanted, newest first, each with where it goes in the export.
    versions: Vec<(VersionView, String)>,
}

/// Exports `args.remote` into `args.out`.
pub async fn export(ctx: &Context, args: &ExportArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let ns = ctx.ns();
    let remote = match args.remote() {
        Some(remote) => remote
            .to_str()
            .ok_or_else(|| Failure::bad_input(format!("{remote:?} is not UTF-8, which drive paths are")))?,
        None => "/",
    };
    let remote = drive_path(remote)?;
    let view = client.stat(remote.as_str(), &Listing { ns, limit: Some(1), ..Listing::default() }).await?;
    if view.kind != "folder" {
        return Err(Failure::usage(format!(
            "{} is a file: export takes a folder (`cairn get` fetches a file)",
            shown(remote.as_str())
        )));
    }
    let out = args.out();
    std::fs::create_dir_all(out).map_err(|e| Failure::io("make folder", out, e))?;
    let root = Root::new(out, DiskNames::probe(out))?;
    let before = client.counters().snapshot();

    let walked = walk(&client, ns, &remote, root.names()).await?;
    let (folders, wanted, skipped) = set_aside_reserved(walked);
    for folder in &folders {
        root.create_dir_all(folder)?;
    }

    let mut failed = Vec::new();
    let planned = plan(&client, ns, wanted, args.all_versions, &mut failed).await;

    // What is there already, with the right size and hash, stays; the rest is fetched.
    let mut held: BTreeMap<(usize, u64), bool> = BTreeMap::new();
    let mut pending = Vec::new();
    for (i, file) in planned.iter().enumerate() {
        for (v, at) in &file.versions {
            match present(&root, at, v).await {
                Ok(true) => {
                    held.insert((i, v.version), false);
                }
                Ok(false) => pending.push((i, v.clone(), at.clone())),
                Err(e) => failed.push((e, file.path.clone(), Some(v.version))),
            }
        }
    }

    let meter = ctx.meter("export", pending.iter().map(|(_, v, _)| v.size).sum());
    for (i, version, at) in pending {
        let file = &planned[i];
        meter.set_message(&cairn_proto::printable(file.rel.rsplit('/').next().unwrap_or(&file.rel)));
        match fetch(&client, ns, &root, &file.path, &version, &at, &meter).await {
            Ok(()) => {
                held.insert((i, version.version), true);
            }
            Err(e) => failed.push((e, file.path.clone(), Some(version.version))),
        }
    }
    meter.finish();

    let tally = tally(&planned, &held);
    let exit = failed
        .iter()
        .map(|(f, _, _)| f.exit)
        .find(|e| *e == Exit::Integrity)
        .or_else(|| failed.first().map(|(f, _, _)| f.exit));
    let failed: Vec<Failed> = failed
        .into_iter()
        .map(|(f, path, version)| Failed { path: shown(path.as_str()), version, error: f.message })
        .collect();
    let manifest = ExportManifest {
        format: FORMAT,
        remote: shown(remote.as_str()),
        ns,
        all_versions: args.all_versions,
        exported_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        folders: folders.clone(),
        files: tally.files,
        skipped: skipped.clone(),
        failed: failed.clone(),
    };
    let manifest_path = write_manifest(&root, &manifest)?;
    let manifest = match &args.archive {
        Some(to) => {
            let (root, to) = (root.clone(), to.clone());
            tokio::task::spawn_blocking(move || {
                archive::write_archive(&root, &manifest, &to)?;
                Ok::<_, Failure>(manifest)
            })
            .await
            .map_err(|e| archive::lost("pack the archive", &e))??
        }
        None => manifest,
    };
    let spent = client.counters().snapshot().since(&before);
    let summary = Summary {
        remote: manifest.remote.clone(),
        out: out.to_path_buf(),
        manifest: manifest_path,
        archive: args.archive.clone(),
        all_versions: args.all_versions,
        folders: folders.len(),
        files: manifest.files.len(),
        versions: tally.versions,
        size: tally.size,
        fetched: tally.fetched,
        fetched_size: tally.fetched_size,
        present: tally.versions - tally.fetched,
        skipped,
        failed,
        bytes_received: spent.bytes_received,
        retries: spent.retries,
    };
    ctx.out.answer(&summary, |w| {
        writeln!(
            w,
            "exported {} → {}: {}, {}, {}, {}; {} fetched ({}), {} already there",
            summary.remote,
            out.display(),
            count(summary.files, "file"),
            count(summary.versions, "version"),
            count(summary.folders, "folder"),
            size(summary.size),
            summary.fetched,
            size(summary.fetched_size),
            summary.present
        )
    });
    match exit {
        Some(exit) => Err(Failure::new(exit, "failed", problems(&summary)).after_answer()),
        None if !summary.skipped.is_empty() => {
            Err(Failure::new(Exit::BadInput, "skipped", problems(&summary)).after_answer())
        }
        None => Ok(()),
    }
}

/// Splits what the walk found into folders and files to export and the export's own names
/// found at the top, which are skipped (what is below a reserved folder is reported with it).
fn set_aside_reserved(walked: Walked) -> (Vec<String>, Vec<(DrivePath, String)>, Vec<Skipped>) {
    let mut skipped: Vec<Skipped> =
        walked.skipped.into_iter().map(|(path, reason)| Skipped { path, reason }).collect();
    let mut folders = Vec::new();
    for folder in walked.folders {
        match reserved(&folder) {
            Some(reason) if !folder.contains('/') => skipped.push(Skipped { path: folder, reason }),
            Some(_) => {}
            None => folders.push(folder),
        }
    }
    let mut files = Vec::new();
    for (path, rel) in walked.files {
        match reserved(&rel) {
            Some(reason) if !rel.contains('/') => skipped.push(Skipped { path: rel, reason }),
            Some(_) => {}
            None => files.push((path, rel)),
        }
    }
    (folders, files, skipped)
}

/// Each file's versions to export, and where each goes; a file whose history cannot be read
/// goes to `failed`.
async fn plan(
    client: &Client,
    ns: Option<u64>,
    wanted: Vec<(DrivePath, String)>,
    all_versions: bool,
    failed: &mut Vec<(Failure, DrivePath, Option<u64>)>,
) -> Vec<Planned> {
    let mut planned = Vec::new();
    let mut histories = futures_util::stream::iter(wanted)
        .map(|(path, rel)| async move {
            let history = versions_of(client, ns, &path, all_versions).await;
            (path, rel, history)
        })
        .buffered(HISTORIES_AT_ONCE);
    while let Some((path, rel, history)) = histories.next().await {
        match history {
            Ok((file, head, versions)) => {
                let versions = versions
                    .into_iter()
                    .map(|v| {
                        let at = version_path(&rel, v.version, head);
                        (v, at)
                    })
                    .collect();
                planned.push(Planned { path, rel, file, head, versions });
            }
            Err(e) => failed.push((Failure::from(e), path, None)),
        }
    }
    planned
}

/// What the export holds after this run, from the versions `held` (by file index and
/// version; `true`: fetched on this run).
struct Tally {
    files: Vec<ExportedFile>,
    versions: usize,
    size: u64,
    fetched: usize,
    fetched_size: u64,
}

fn tally(planned: &[Planned], held: &BTreeMap<(usize, u64), bool>) -> Tally {
    let mut tally = Tally { files: Vec::new(), versions: 0, size: 0, fetched: 0, fetched_size: 0 };
    for (i, file) in planned.iter().enumerate() {
        let mut kept = Vec::new();
        for (v, at) in &file.versions {
            let Some(&was_fetched) = held.get(&(i, v.version)) else { continue };
            tally.versions += 1;
            tally.size += v.size;
            if was_fetched {
                tally.fetched += 1;
                tally.fetched_size += v.size;
            }
            kept.push(ExportedVersion {
                version: v.version,
                size: v.size,
                hash: v.hash.clone(),
                mtime_ms: v.mtime_ms,
                committed_ms: v.committed_ms,
                local: at.clone(),
            });
        }
        if !kept.is_empty() {
            tally.files.push(ExportedFile {
                path: shown(file.path.as_str()),
                local: file.rel.clone(),
                file: file.file,
                head: file.head,
                versions: kept,
            });
        }
    }
    tally.files.sort_by(|a, b| a.local.cmp(&b.local));
    tally
}

/// The error message of an export that failed some versions or skipped some names: each with
/// its reason.
fn problems(summary: &Summary) -> String {
    let mut message = String::new();
    if !summary.failed.is_empty() {
        message.push_str(&format!(
            "{} of {} could not be exported:",
            count(summary.failed.len(), "version"),
            summary.remote
        ));
        for f in &summary.failed {
            let version = f.version.map(|v| format!(" version {v}")).unwrap_or_default();
            message.push_str(&format!("\n  {}{version}: {}", f.path, f.error));
        }
    }
    if !summary.skipped.is_empty() {
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(&format!(
            "{} of {} could not be written here ({} exported):",
            count(summary.skipped.len(), "name"),
            summary.remote,
            count(summary.files, "file")
        ));
        for s in &summary.skipped {
            message.push_str(&format!("\n  {}: {}", s.path, s.reason));
        }
    }
    message
}

/// The file id, head and versions of `path` to export: every kept version, newest first, or
/// only the head.
async fn versions_of(
    client: &Client,
    ns: Option<u64>,
    path: &DrivePath,
    all: bool,
) -> Result<(u64, u64, Vec<VersionView>), ClientError> {
    let limit = if all { HISTORY_PAGE } else { 1 };
    let mut options = HistoryOptions { ns, limit: Some(limit), before: None };
    let mut kept = Vec::new();
    let mut first: Option<(u64, u64)> = None;
    loop {
        let page = client.history(path.as_str(), &options).await?;
        let (file, head) = *first.get_or_insert((page.file, page.head));
        let listed = page.versions.len();
        let last = page.versions.last().map(|v| v.version);
        kept.extend(page.versions.into_iter().filter(|v| all || v.version == head));
        let found_head = !all && kept.iter().any(|v| v.version == head);
        // Pages go strictly back in time; one that does not is the last one asked for.
        match last {
            Some(last) if !found_head && listed == limit && options.before.is_none_or(|b| last < b) => {
                options.before = Some(last);
            }
            _ => return Ok((file, head, kept)),
        }
    }
}

/// Whether version `v` is at `at` already: a regular file of its size whose content hashes to
/// its hash.
async fn present(root: &Root, at: &str, v: &VersionView) -> Result<bool, Failure> {
    let target = root.check(at)?;
    let meta = match std::fs::symlink_metadata(&target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Failure::io("read", &target, e)),
    };
    if !meta.is_file() || meta.len() != v.size {
        return Ok(false);
    }
    let Ok(want) = blake3::Hash::from_hex(&v.hash) else {
        return Err(Failure::new(
            Exit::Internal,
            "protocol",
            format!("the drive declared {:?} as a hash", v.hash),
        ));
    };
    // Hashing a large file would block a worker: it goes to a blocking thread.
    let read = target.clone();
    let hashed = tokio::task::spawn_blocking(move || hash_file(&read))
        .await
        .map_err(|e| Failure::new(Exit::Internal, "internal", format!("hash {}: {e}", target.display())))?
        .map_err(|e| Failure::io("read", &target, e))?;
    Ok(hashed.is_some_and(|(meta, hash)| meta.size == v.size && blake3::Hash::from_bytes(hash) == want))
}

/// Downloads version `v` of `path` to `at`, through a temporary file renamed into place once
/// checked against the hash the history declared.
async fn fetch(
    client: &Client,
    ns: Option<u64>,
    root: &Root,
    path: &DrivePath,
    v: &VersionView,
    at: &str,
    meter: &crate::progress::Meter,
) -> Result<(), Failure> {
    let manifest = client.manifest(path.as_str(), &DownloadOptions { ns, version: Some(v.version) }).await?;
    // The SDK checks the content against the manifest's hash; the manifest must declare the
    // same content the history (and so the export's manifest) does.
    if manifest.version != v.version || manifest.size != v.size || manifest.hash != v.hash {
        return Err(ClientError::Integrity(format!(
            "{} version {}: the manifest declares {} bytes hashing to {}, the history {} bytes hashing to {}",
            shown(path.as_str()),
            v.version,
            manifest.size,
            manifest.hash,
            v.size,
            v.hash
        ))
        .into());
    }
    root.create_parent(at)?;
    // Checked just before it is written: no link or mount point on the way.
    let target = root.check(at)?;
    client.download_manifest(manifest, ns, &target, meter.callback()).await?;
    Ok(())
}

/// Writes the manifest into the export, through a temporary file renamed into place; returns
/// its path.
fn write_manifest(root: &Root, manifest: &ExportManifest) -> Result<PathBuf, Failure> {
    let target = root.check(MANIFEST)?;
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Failure::new(Exit::Internal, "internal", format!("encode the manifest: {e}")))?;
    let folder: &Path = root.path();
    let mut temp = tempfile::Builder::new()
        .prefix(".cairn-")
        .suffix(".part")
        .tempfile_in(folder)
        .map_err(|e| Failure::io("write into", folder, e))?;
    std::io::Write::write_all(&mut temp, &json).map_err(|e| Failure::io("write", temp.path(), e))?;
    temp.as_file().sync_all().map_err(|e| Failure::io("write", &target, e))?;
    temp.persist(&target).map_err(|e| Failure::io("write", &target, e.error))?;
    Ok(target)
}
