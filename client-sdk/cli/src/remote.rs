//! The drive side of listings and folder transfers: a folder's children with each file's
//! state, sorted folders first.
//!
//! The listing carries each file's state, so trashed files are left out unless asked for, and
//! files still on their first upload show as `uploading` (with no version to download yet).

use cairn_client::Client;
use cairn_client::api::{FileView, UploadingView};
use cairn_proto::DrivePath;
use serde::Serialize;

use crate::exit::Failure;

/// A file's state in the trash, as the API names it.
pub const TRASHED: &str = "trashed";

/// One name in a folder.
#[derive(Debug, Serialize)]
pub struct Child {
    /// Its name.
    pub name: String,
    /// `folder` or `file`.
    pub kind: String,
    /// A file's state (head version, size, `complete`/`trashed`); none for a file whose first
    /// upload is under way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileView>,
    /// An upload to this name under way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploading: Option<UploadingView>,
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
    let mut children: Vec<Child> = view
        .children
        .into_iter()
        .map(|c| {
            let file = match (c.file, c.version, c.size, c.status) {
                (Some(id), Some(version), Some(size), Some(status)) => {
                    Some(FileView { id, version, size, status })
                }
                _ => None,
            };
            Child { name: c.name, kind: c.kind, file, uploading: c.uploading }
        })
        .collect();
    children.sort_by(|a, b| (a.kind != "folder", &a.name).cmp(&(b.kind != "folder", &b.name)));
    if !trashed {
        children.retain(|c| c.file.as_ref().is_none_or(|f| f.status != TRASHED));
    }
    Ok(Listed { path: format!("/{}", path.as_str()), kind: view.kind, file: view.file, children })
}
