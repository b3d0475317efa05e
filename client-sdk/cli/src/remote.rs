//! The drive side of listings and folder transfers: a folder's children with each file's
//! state, sorted folders first.
//!
//! A folder listing names a trashed file like any other (its name stays taken until it is
//! purged) and does not say which is which, so every file is stat'ed, a few at a time, and the
//! trashed ones are left out unless asked for. Were the listing to carry each file's state,
//! these stats would go.

use cairn_client::Client;
use cairn_client::api::{FileView, Listing};
use cairn_proto::DrivePath;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::exit::Failure;

/// Stats in flight at once.
const STATS_AT_ONCE: usize = 8;
/// A file's state in the trash, as the API names it.
pub const TRASHED: &str = "trashed";

/// One name in a folder.
#[derive(Debug, Serialize)]
pub struct Child {
    /// Its name.
    pub name: String,
    /// `folder` or `file`.
    pub kind: String,
    /// A file's state (head version, size, `complete`/`trashed`/`uploading`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileView>,
}

/// A folder with its children, or a file.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The path, as people read it (leading `/`).
    pub path: String,
    /// `folder` or `file`.
    pub kind: String,
    /// The file, when the path is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileView>,
    /// A folder's children: folders first, then files, each by name.
    pub children: Vec<Child>,
}

/// Lists `path` (every page), with each file's state; trashed files only if `trashed`.
pub async fn list(
    client: &Client,
    path: &DrivePath,
    ns: Option<u64>,
    trashed: bool,
) -> Result<Listed, Failure> {
    let view = client.list_all(path.as_str(), ns).await?;
    let mut children: Vec<Child> =
        view.children.into_iter().map(|c| Child { name: c.name, kind: c.kind, file: None }).collect();
    children.sort_by(|a, b| (a.kind != "folder", &a.name).cmp(&(b.kind != "folder", &b.name)));
    let stats: Vec<Option<FileView>> =
        futures_util::stream::iter(children.iter().filter(|c| c.kind == "file"))
            .map(|child| async move {
                let file = path.join(&child.name).map_err(|e| Failure::bad_input(e.to_string()))?;
                let listing = Listing { ns, limit: Some(1), ..Listing::default() };
                Ok::<_, Failure>(client.stat(file.as_str(), &listing).await?.file)
            })
            .buffered(STATS_AT_ONCE)
            .try_collect()
            .await?;
    let mut stats = stats.into_iter();
    for child in children.iter_mut().filter(|c| c.kind == "file") {
        child.file = stats.next().flatten();
    }
    if !trashed {
        children.retain(|c| c.file.as_ref().is_none_or(|f| f.status != TRASHED));
    }
    Ok(Listed { path: format!("/{}", path.as_str()), kind: view.kind, file: view.file, children })
}
