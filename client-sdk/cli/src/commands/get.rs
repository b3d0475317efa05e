//! `cairn get`: download a file (to a file, or to stdout with `-`), or a folder and everything
//! below it. Every file goes through a temporary file renamed into place once its content
//! checked out, so an interrupted or failed download leaves no partial file.
//!
//! A folder download writes only inside its target, through the SDK's wall ([`Root`]): every
//! name the drive lists is checked before it becomes a path, and nothing is written through a
//! link or a mount point already in the target. A name that cannot be written here (one no
//! drive may hold, one this disk cannot hold, a twin this disk takes for another) is skipped
//! and reported; the rest is downloaded, and the command then fails with exit code 9.

use std::path::{Path, PathBuf};

use cairn_client::Client;
use cairn_client::api::{DownloadOptions, Listing, Manifest};
use cairn_client::disk::{DiskNames, Root};
use cairn_client::drive::drive_path;
use cairn_proto::{DrivePath, printable};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::cli::GetArgs;
use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::format::shown;
use crate::format::{count, size};
use crate::remote::walk;

/// One downloaded file.
#[derive(Serialize)]
struct Fetched {
    path: String,
    local: PathBuf,
    version: u64,
    size: u64,
}

/// What `get` answers.
#[derive(Serialize)]
struct Got {
    files: Vec<Fetched>,
    /// Local folders made (a folder download's, its own included).
    folders: usize,
    size: u64,
    /// Response body bytes received.
    bytes_received: u64,
    /// Requests repeated after a failure, on the same node or another.
    retries: u64,
}

/// Downloads `args.remote`.
pub async fn get(ctx: &Context, args: &GetArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let ns = ctx.ns();
    let remote = drive_path(&args.remote)?;
    let to_stdout = args.local.as_deref() == Some(Path::new("-"));
    if to_stdout && ctx.out.is_json() {
        return Err(Failure::usage("`-` writes the content to stdout, where --json wants its answer"));
    }
    let view = client.stat(remote.as_str(), &Listing { ns, limit: Some(1), ..Listing::default() }).await?;
    let is_folder = view.kind == "folder";
    if is_folder && (to_stdout || args.version.is_some()) {
        return Err(Failure::usage(format!(
            "{} is a folder: `-` and --version are for files",
            shown(remote.as_str())
        )));
    }
    if to_stdout {
        let manifest =
            client.manifest(remote.as_str(), &DownloadOptions { ns, version: args.version }).await?;
        let meter = ctx.meter(&name_of(&remote), manifest.size);
        client.download_into(&manifest, ns, &mut tokio::io::stdout(), meter.callback()).await?;
        return Ok(());
    }
    let local = destination(args.local.as_deref(), &remote)?;
    let before = client.counters().snapshot();
    let (root, folders, manifests, skipped) = if is_folder {
        std::fs::create_dir_all(&local).map_err(|e| Failure::io("make folder", &local, e))?;
        let root = Root::new(&local, DiskNames::probe(&local))?;
        let plan = plan_folder(&client, ns, &remote, root.names(), args.jobs).await?;
        (Some(root), plan.folders, plan.files, plan.skipped)
    } else {
        let manifest =
            client.manifest(remote.as_str(), &DownloadOptions { ns, version: args.version }).await?;
        (None, Vec::new(), vec![(manifest, String::new())], Vec::new())
    };
    if let Some(root) = &root {
        for folder in &folders {
            root.create_dir_all(folder)?;
        }
    }
    let meter = ctx.meter(&name_of(&remote), manifests.iter().map(|(m, _)| m.size).sum());
    // Files come `jobs` at a time, reported in the listing's order; the first failure stops
    // the rest (a file not yet renamed into place leaves nothing behind).
    let files: Vec<Fetched> = futures_util::stream::iter(manifests)
        .map(|(manifest, rel)| {
            let (client, meter, root, local, remote) = (&client, &meter, &root, &local, &remote);
            async move {
                // Named by what was asked for, not by the path the server's manifest declares.
                let asked = if rel.is_empty() {
                    name_of(remote)
                } else {
                    printable(rel.rsplit('/').next().unwrap_or(&rel)).into_owned()
                };
                meter.set_message(&asked);
                // Checked just before it is written: no link or mount point on the way.
                let target = match root {
                    Some(root) => root.check(&rel)?,
                    None => local.clone(),
                };
                let fetched = Fetched {
                    path: if rel.is_empty() {
                        shown(remote.as_str())
                    } else {
                        shown(&format!("{}/{rel}", remote.as_str()))
                    },
                    local: target.clone(),
                    version: manifest.version,
                    size: manifest.size,
                };
                client.download_manifest(manifest, ns, &target, meter.callback()).await?;
                Ok::<_, Failure>(fetched)
            }
        })
        .buffered(args.jobs)
        .try_collect()
        .await?;
    meter.finish();
    if !skipped.is_empty() {
        return Err(skipped_names(&remote, &skipped, files.len()));
    }
    let spent = client.counters().snapshot().since(&before);
    let got = Got {
        size: files.iter().map(|f| f.size).sum(),
        files,
        folders: folders.len(),
        bytes_received: spent.bytes_received,
        retries: spent.retries,
    };
    ctx.out.answer(&got, |w| match got.files.as_slice() {
        [one] if got.folders == 0 => writeln!(
            w,
            "got {} version {} → {} ({})",
            one.path,
            one.version,
            one.local.display(),
            size(one.size)
        ),
        files => writeln!(
            w,
            "got {} → {}: {}, {}, {}",
            shown(remote.as_str()),
            local.display(),
            count(files.len(), "file"),
            count(got.folders, "folder"),
            size(got.size)
        ),
    });
    Ok(())
}

/// Where `remote` goes: `local` as given, inside it when it is an existing folder, or its
/// own name here (which this platform must be able to hold).
fn destination(local: Option<&Path>, remote: &DrivePath) -> Result<PathBuf, Failure> {
    let name = remote.split_last().map(|(_, name)| name.to_owned());
    let own_name = |name: &str| match DiskNames::native().problem(name) {
        Some(why) => {
            Err(Failure::bad_input(format!("{name:?} cannot be a name here ({why}): say where to put it")))
        }
        None => Ok(PathBuf::from(name)),
    };
    match (local, name) {
        (Some(local), Some(name)) if local.is_dir() => Ok(local.join(own_name(&name)?)),
        (Some(local), _) => Ok(local.to_path_buf()),
        (None, Some(name)) => own_name(&name),
        (None, None) => Err(Failure::usage("the root has no name: say where to put it (cairn get / FOLDER)")),
    }
}

/// What a folder download does, relative to its target: make these folders, then fetch these
/// files; and the names it cannot write here, with the reason.
struct FolderPlan {
    folders: Vec<String>,
    files: Vec<(Manifest, String)>,
    skipped: Vec<(String, String)>,
}

/// Lists the drive folder `remote` whole into a [`FolderPlan`] for a disk that holds names as
/// `names` says, asking for `jobs` manifests at once.
async fn plan_folder(
    client: &Client,
    ns: Option<u64>,
    remote: &DrivePath,
    names: &DiskNames,
    jobs: usize,
) -> Result<FolderPlan, Failure> {
    let walked = walk(client, ns, remote, names).await?;
    let files = futures_util::stream::iter(walked.files)
        .map(|(path, rel)| async move {
            let options = DownloadOptions { ns, version: None };
            Ok::<_, Failure>((client.manifest(path.as_str(), &options).await?, rel))
        })
        .buffered(jobs)
        .try_collect()
        .await?;
    Ok(FolderPlan { folders: walked.folders, files, skipped: walked.skipped })
}

/// The failure of a folder download that skipped names, each with its reason.
fn skipped_names(remote: &DrivePath, skipped: &[(String, String)], fetched: usize) -> Failure {
    let mut message = format!(
        "{} of {} could not be written here ({} downloaded):",
        count(skipped.len(), "name"),
        shown(remote.as_str()),
        count(fetched, "file")
    );
    for (path, reason) in skipped {
        message.push_str(&format!("\n  {path}: {reason}"));
    }
    Failure::new(Exit::BadInput, "skipped", message)
}

fn name_of(path: &DrivePath) -> String {
    path.split_last().map_or_else(|| "/".to_owned(), |(_, name)| name.to_owned())
}
