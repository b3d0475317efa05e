//! Reading the remote tree: every folder and file below the synced drive folder, listed a few
//! folders at a time, with each file's id, head version and size. Files in the trash are not
//! there; a name whose first version is still uploading is [`Remote::Busy`]; what the local
//! rules ignore is left out, so it is never downloaded.
//!
//! Every name the drive sends is checked here, at the boundary, before it can become a path:
//! a name no drive may hold (`..`, a `/`, a control character, a drive letter, another Unicode
//! form — a faulty or hostile server, or a proxy in between) is refused and reported, and
//! held under an unseen key so its folder is never trashed with it; a name this disk cannot
//! hold (`CON` on Windows) is held at its path. Neither is ever mapped onto the disk.

use crate::api::ErrorCode;
use cairn_proto::drive_name::{name_problem, printable};
use futures_util::future::join_all;

use super::action::Waiting;
use super::error::SyncError;
use super::rules::Rules;
use super::tree::{Held, Hold, Remote, RemoteFile, RemoteTree, unseen};
use crate::Client;
use crate::disk::{DiskNames, portability_note};

/// Folders listed at once.
const PARALLEL: usize = 8;

/// What a listing of the drive folder found.
#[derive(Debug, Default)]
pub struct RemoteScan {
    /// The remote tree.
    pub tree: RemoteTree,
    /// Names left alone, and why.
    pub held: Held,
    /// Names synced here that devices on another platform cannot hold, for people.
    pub notes: Vec<Waiting>,
}

/// The drive path of a path relative to the synced drive folder `root` ("" for the whole drive).
pub fn remote_path(root: &str, rel: &str) -> String {
    match (root.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_owned(),
        (false, true) => root.to_owned(),
        (false, false) => format!("{root}/{rel}"),
    }
}

/// Lists the tree below the drive folder `root` (which must exist and be a folder), for a disk
/// that holds names as `disk` says.
pub async fn scan_remote(
    client: &Client,
    root: &str,
    ns: Option<u64>,
    rules: &Rules,
    disk: &DiskNames,
) -> Result<RemoteScan, SyncError> {
    let mut scan = RemoteScan::default();
    let mut pending = vec![String::new()];
    while !pending.is_empty() {
        let wave: Vec<String> = pending.drain(..pending.len().min(PARALLEL)).collect();
        let listings = join_all(wave.iter().map(|rel| {
            let path = remote_path(root, rel);
            async move { client.list_all(&path, ns).await }
        }))
        .await;
        for (folder, listing) in wave.into_iter().zip(listings) {
            let view = match listing {
                Ok(view) => view,
                // Deleted since its parent was listed: it is not there.
                Err(e) if e.is(ErrorCode::NotFound) && !folder.is_empty() => {
                    scan.tree.remove(&folder);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if view.kind != "folder" {
                return Err(SyncError::Setup(format!(
                    "/{} is a file in the drive, not a folder",
                    remote_path(root, &folder)
                )));
            }
            let mut refused = 0;
            for child in view.children {
                let join =
                    |name: &str| if folder.is_empty() { name.to_owned() } else { format!("{folder}/{name}") };
                if let Some(problem) = name_problem(&child.name) {
                    let shown = printable(&join(&child.name)).into_owned();
                    tracing::warn!(path = %shown, %problem, "the drive sent a name no drive may hold");
                    let reason = format!(
                        "refused: the drive sent a name no drive may hold ({problem}); nothing is \
                         written for it, and its folder is never deleted with it"
                    );
                    scan.held.insert(unseen(&folder, refused), Hold { shown, reason });
                    refused += 1;
                    continue;
                }
                let rel = join(&child.name);
                let is_dir = child.kind == "folder";
                if rules.is_ignored(&rel, is_dir) {
                    continue;
                }
                if let Some(why) = disk.problem(&child.name) {
                    let reason = format!("this disk cannot hold the name: {why}");
                    scan.held.insert(rel.clone(), Hold { shown: rel, reason });
                    continue;
                }
                if let Some(note) = portability_note(&child.name) {
                    scan.notes.push(Waiting { path: rel.clone(), reason: note });
                }
                if is_dir {
                    scan.tree.insert(rel.clone(), Remote::Folder);
                    pending.push(rel);
                    continue;
                }
                let entry = match (child.status.as_deref(), child.file, child.version) {
                    (Some("trashed"), ..) => continue,
                    (Some("complete"), Some(id), Some(version)) => {
                        Remote::File(RemoteFile { id, version, size: child.size.unwrap_or(0) })
                    }
                    // Its first version is on its way (or the listing is of a newer node than
                    // this client): wait rather than guess.
                    _ => Remote::Busy,
                };
                scan.tree.insert(rel, entry);
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::remote_path;

    #[test]
    fn paths_join_below_the_synced_folder() {
        assert_eq!(remote_path("", "a/b"), "a/b");
        assert_eq!(remote_path("docs", ""), "docs");
        assert_eq!(remote_path("docs", "a"), "docs/a");
    }
}
