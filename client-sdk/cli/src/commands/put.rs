//! `cairn put`: upload a file, or a folder and everything below it, as new versions. The SDK
//! sends only the blocks the cluster lacks; what was sent and what was already there is
//! reported at the end.

use cairn_client::api::ErrorCode;
use std::io::Write;
use std::path::{Path, PathBuf};

use cairn_client::api::Listing;
use cairn_client::batch::{Transfer, transfers};
use cairn_client::drive::drive_path;
use cairn_client::upload::{PutOptions, UploadReport};
use cairn_client::{Client, CommitOn};
use cairn_proto::DrivePath;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::cli::PutArgs;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::shown;
use crate::format::{count, size};
use crate::local::{Plan, local_name, plan_upload};

/// One uploaded file.
#[derive(Serialize)]
struct Sent {
    path: String,
    file: u64,
    version: u64,
    size: u64,
    hash: String,
    blocks: usize,
    blocks_sent: usize,
}

/// What `put` answers.
#[derive(Serialize)]
struct Put {
    /// The drive path the local file or folder became.
    path: String,
    files: Vec<Sent>,
    /// Folders made (a folder upload's, its own included).
    folders: usize,
    /// Local entries left out (symbolic links, devices).
    skipped: Vec<PathBuf>,
    /// Content bytes of every file.
    size: u64,
    /// Blocks in every file.
    blocks: usize,
    /// Blocks that had to be sent.
    blocks_sent: usize,
    /// Request body bytes sent, blocks and JSON.
    bytes_sent: u64,
    /// Requests repeated after a failure, on the same node or another.
    retries: u64,
}

/// Uploads `args.local` to the drive.
pub async fn put(ctx: &Context, args: &PutArgs) -> Result<(), Failure> {
    let client = client_for(ctx, args.jobs)?;
    let local = &args.local;
    let meta = std::fs::metadata(local).map_err(|e| Failure::io("read", local, e))?;
    let target = target(&client, ctx.ns(), args.remote.as_deref(), &local_name(local)?).await?;
    if meta.is_dir() && args.if_version.is_some() {
        return Err(Failure::usage("--if-version names one file's version: it cannot apply to a folder"));
    }
    let plan = if meta.is_dir() {
        plan_upload(local, &target)?
    } else {
        Plan {
            folders: Vec::new(),
            files: vec![(local.clone(), target.clone(), meta.len())],
            skipped: Vec::new(),
        }
    };
    for skipped in &plan.skipped {
        ctx.out.note(&format!("skipped {} (not a file or folder)", skipped.display()));
    }
    let base = match (args.new, args.if_version) {
        (true, _) => CommitOn::New,
        (false, Some(version)) => CommitOn::Version(version),
        (false, None) => CommitOn::Head,
    };

    let before = client.counters().snapshot();
    for folder in &plan.folders {
        client.make_folder(folder.as_str(), ctx.ns()).await?;
    }
    let total = plan.files.iter().map(|(_, _, size)| size).sum();
    let meter = ctx.meter(&label(local), total);
    // Transfers go `jobs` at a time — small files many to a request, larger ones alone — and
    // are reported in the plan's order; the first failure stops the rest.
    let options = PutOptions { base, ns: ctx.ns(), mtime_ms: None, progress: meter.callback() };
    let transfers = transfers(plan.files.iter().enumerate(), |(_, (_, _, size))| *size);
    let mut files: Vec<(usize, Sent)> = futures_util::stream::iter(transfers)
        .map(|transfer| {
            let (client, meter, options) = (&client, &meter, &options);
            async move {
                match transfer {
                    Transfer::Single((at, (path, remote, _))) => {
                        meter.set_message(&label(path));
                        let report = client.upload_file(path, remote.as_str(), options).await?;
                        Ok::<_, Failure>(vec![(at, sent(remote, report))])
                    }
                    Transfer::Batch(batch) => {
                        let paths: Vec<(PathBuf, String)> = batch
                            .iter()
                            .map(|(_, (path, remote, _))| (path.clone(), remote.as_str().to_owned()))
                            .collect();
                        let reports = client.upload_batch(&paths, options).await?;
                        let mut done = Vec::with_capacity(batch.len());
                        for ((at, (_, remote, _)), report) in batch.into_iter().zip(reports) {
                            done.push((at, sent(remote, report?)));
                        }
                        Ok(done)
                    }
                }
            }
        })
        .buffer_unordered(args.jobs)
        .map_ok(|done| futures_util::stream::iter(done.into_iter().map(Ok::<_, Failure>)))
        .try_flatten()
        .try_collect()
        .await?;
    files.sort_by_key(|(at, _)| *at);
    let files: Vec<Sent> = files.into_iter().map(|(_, sent)| sent).collect();
    meter.finish();
    let spent = client.counters().snapshot().since(&before);
    let answer = Put {
        path: shown(target.as_str()),
        size: files.iter().map(|f| f.size).sum(),
        blocks: files.iter().map(|f| f.blocks).sum(),
        blocks_sent: files.iter().map(|f| f.blocks_sent).sum(),
        files,
        folders: plan.folders.len(),
        skipped: plan.skipped,
        bytes_sent: spent.bytes_sent,
        retries: spent.retries,
    };
    ctx.out.answer(&answer, |w| human(w, local, &answer));
    Ok(())
}

/// What `put` reports of one uploaded file.
fn sent(remote: &DrivePath, report: UploadReport) -> Sent {
    Sent {
        path: shown(remote.as_str()),
        file: report.committed.file,
        version: report.committed.version,
        size: report.size,
        hash: report.hash,
        blocks: report.blocks,
        blocks_sent: report.blocks_sent,
    }
}

/// A client whose memory budget is shared out over `jobs` uploads at once, so a folder of
/// large files holds no more than one file did (each keeps the SDK's floor).
fn client_for(ctx: &Context, jobs: usize) -> Result<Client, Failure> {
    let mut config = ctx.client_config()?;
    config.memory_budget /= jobs.max(1);
    Ok(Client::new(config)?)
}

/// Where the upload goes, as `cp` would have it: the local name at the root when no `remote`
/// is given; inside `remote` when it ends in `/` or is a folder already; else `remote` itself.
async fn target(
    client: &Client,
    ns: Option<u64>,
    remote: Option<&str>,
    name: &str,
) -> Result<DrivePath, Failure> {
    let inside = |folder: &DrivePath| folder.join(name).map_err(|e| Failure::bad_input(e.to_string()));
    let remote = match remote {
        None => return inside(&DrivePath::root()),
        Some(r) if r.ends_with('/') => return inside(&drive_path(r)?),
        Some(r) => drive_path(r)?,
    };
    if remote.is_root() {
        return inside(&remote);
    }
    let listing = Listing { ns, limit: Some(1), ..Listing::default() };
    match client.stat(remote.as_str(), &listing).await {
        Ok(view) if view.kind == "folder" => inside(&remote),
        Ok(_) => Ok(remote),
        Err(e) if e.is(ErrorCode::NotFound) => Ok(remote),
        Err(e) => Err(e.into()),
    }
}

fn label(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn human(w: &mut dyn Write, local: &Path, put: &Put) -> std::io::Result<()> {
    let present = put.blocks - put.blocks_sent;
    let blocks =
        format!("{} ({} sent, {present} already stored)", count(put.blocks, "block"), put.blocks_sent);
    match put.files.as_slice() {
        [one] if put.folders == 0 => writeln!(
            w,
            "put {} → {}: version {}, {} in {blocks}",
            local.display(),
            one.path,
            one.version,
            size(one.size),
        )?,
        files => writeln!(
            w,
            "put {} → {}: {}, {}, {} in {blocks}",
            local.display(),
            put.path,
            count(files.len(), "file"),
            count(put.folders, "folder"),
            size(put.size),
        )?,
    }
    let retries = if put.retries > 0 {
        format!(", {} retried", count(put.retries as usize, "request"))
    } else {
        String::new()
    };
    writeln!(w, "{} sent{retries}", size(put.bytes_sent))
}
