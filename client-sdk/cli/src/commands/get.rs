//! `cairn get`: download a file (to a file, or to stdout with `-`), or a folder and everything
//! below it. Every file goes through a temporary file renamed into place once its content
//! checked out, so an interrupted or failed download leaves no partial file.

use std::path::{Path, PathBuf};

use cairn_client::Client;
use cairn_client::api::{DownloadOptions, Listing, Manifest};
use cairn_client::drive::drive_path;
use cairn_proto::DrivePath;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::cli::GetArgs;
use crate::commands::shown;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::{count, size};
use crate::remote::list;

/// Manifests asked for at once when sizing a folder download.
const MANIFESTS_AT_ONCE: usize = 8;

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
    let (folders, manifests) = if is_folder {
        plan_folder(&client, ns, &remote, &local).await?
    } else {
        let manifest =
            client.manifest(remote.as_str(), &DownloadOptions { ns, version: args.version }).await?;
        (Vec::new(), vec![(manifest, local.clone())])
    };
    for folder in &folders {
        std::fs::create_dir_all(folder).map_err(|e| Failure::io("make folder", folder, e))?;
    }
    let meter = ctx.meter(&name_of(&remote), manifests.iter().map(|(m, _)| m.size).sum());
    let mut files = Vec::with_capacity(manifests.len());
    for (manifest, local) in manifests {
        meter.set_message(&name_of(&drive_path(&manifest.path)?));
        let fetched = Fetched {
            path: shown(&manifest.path),
            local: local.clone(),
            version: manifest.version,
            size: manifest.size,
        };
        client.download_manifest(manifest, ns, &local, meter.callback()).await?;
        files.push(fetched);
    }
    meter.finish();
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
/// own name here.
fn destination(local: Option<&Path>, remote: &DrivePath) -> Result<PathBuf, Failure> {
    let name = remote.split_last().map(|(_, name)| name.to_owned());
    match (local, name) {
        (Some(local), Some(name)) if local.is_dir() => Ok(local.join(name)),
        (Some(local), _) => Ok(local.to_path_buf()),
        (None, Some(name)) => Ok(PathBuf::from(name)),
        (None, None) => Err(Failure::usage("the root has no name: say where to put it (cairn get / FOLDER)")),
    }
}

/// The local folders to make and the files to fetch (with their manifests) of a folder
/// download from `remote` to `local`.
async fn plan_folder(
    client: &Client,
    ns: Option<u64>,
    remote: &DrivePath,
    local: &Path,
) -> Result<(Vec<PathBuf>, Vec<(Manifest, PathBuf)>), Failure> {
    let mut folders = Vec::new();
    let mut files = Vec::new();
    let mut pending = vec![(remote.clone(), local.to_path_buf())];
    while let Some((folder, here)) = pending.pop() {
        let listed = list(client, &folder, ns, false).await?;
        folders.push(here.clone());
        for child in listed.children {
            let path = folder.join(&child.name).map_err(|e| Failure::bad_input(e.to_string()))?;
            // A name the drive accepts may still be one no local file system should take.
            if child.name.contains('/') || child.name == ".." || child.name == "." {
                return Err(Failure::bad_input(format!("refusing the local name {:?}", child.name)));
            }
            let there = here.join(&child.name);
            if child.kind == "folder" {
                pending.push((path, there));
            } else if child.file.is_some() {
                // (A file still on its first upload has nothing to download yet.)
                files.push((path, there));
            }
        }
    }
    let manifests = futures_util::stream::iter(files)
        .map(|(path, there)| async move {
            let options = DownloadOptions { ns, version: None };
            Ok::<_, Failure>((client.manifest(path.as_str(), &options).await?, there))
        })
        .buffered(MANIFESTS_AT_ONCE)
        .try_collect()
        .await?;
    Ok((folders, manifests))
}

fn name_of(path: &DrivePath) -> String {
    path.split_last().map_or_else(|| "/".to_owned(), |(_, name)| name.to_owned())
}
