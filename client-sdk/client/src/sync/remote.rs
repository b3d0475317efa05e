//! Reading the remote tree: every folder and file below the synced drive folder, listed a few
//! folders at a time, with each file's id, head version and size. Files in the trash are not
//! there; a name whose first version is still uploading is [`Remote::Busy`]; what the local
//! rules ignore is left out, so it is never downloaded.

use futures_util::future::join_all;

use super::error::SyncError;
use super::rules::Rules;
use super::tree::{Remote, RemoteFile, RemoteTree};
use crate::Client;

/// Folders listed at once.
const PARALLEL: usize = 8;

/// The drive path of a path relative to the synced drive folder `root` ("" for the whole drive).
pub fn remote_path(root: &str, rel: &str) -> String {
    match (root.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_owned(),
        (false, true) => root.to_owned(),
        (false, false) => format!("{root}/{rel}"),
    }
}

/// Lists the tree below the drive folder `root` (which must exist and be a folder).
pub async fn scan_remote(
    client: &Client,
    root: &str,
    ns: Option<u64>,
    rules: &Rules,
) -> Result<RemoteTree, SyncError> {
    let mut tree = RemoteTree::new();
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
                Err(e) if e.code() == "not_found" && !folder.is_empty() => {
                    tree.remove(&folder);
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
            for child in view.children {
                let rel =
                    if folder.is_empty() { child.name.clone() } else { format!("{folder}/{}", child.name) };
                let is_dir = child.kind == "folder";
                if rules.is_ignored(&rel, is_dir) {
                    continue;
                }
                if is_dir {
                    tree.insert(rel.clone(), Remote::Folder);
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
                tree.insert(rel, entry);
            }
        }
    }
    Ok(tree)
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
