//! The drive side of listings and folder transfers: a folder's children with each file's
//! state, sorted folders first.
//!
//! The listing carries each file's state, so trashed files are left out unless asked for, and
//! files still on their first upload show as `uploading` (with no version to download yet).
//! A folder download or export walks a whole folder with [`walk`], which checks each name the
//! drive sends before it can become a local path.

use std::collections::BTreeSet;

use cairn_client::Client;
use cairn_client::api::{FileView, UploadingView};
use cairn_client::disk::DiskNames;
use cairn_proto::{DrivePath, name_problem, printable};
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

/// A drive folder walked whole for a download into a local folder: paths relative to it.
pub struct Walked {
    /// Folders to make, parents first (the folder itself as `""`).
    pub folders: Vec<String>,
    /// Files with a version to download: drive path, relative path.
    pub files: Vec<(DrivePath, String)>,
    /// Names that cannot be written here (relative path, printable), with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Lists the drive folder `remote` and everything below it (trashed files left out) for a
/// disk that holds names as `names` says: a name no drive may hold, one this disk cannot hold,
/// or a twin this disk cannot tell from another is skipped with the reason, and so is all
/// that is below it.
pub async fn walk(
    client: &Client,
    ns: Option<u64>,
    remote: &DrivePath,
    names: &DiskNames,
) -> Result<Walked, Failure> {
    let mut walked = Walked { folders: vec![String::new()], files: Vec::new(), skipped: Vec::new() };
    let mut pending = vec![(remote.clone(), String::new())];
    while let Some((folder, here)) = pending.pop() {
        let listed = list(client, &folder, ns, false).await?;
        let mut seen = BTreeSet::new();
        for child in listed.children {
            let rel = if here.is_empty() { child.name.clone() } else { format!("{here}/{}", child.name) };
            let refused = name_problem(&child.name)
                .map(|problem| format!("the drive sent a name no drive may hold: {problem}"))
                .or_else(|| names.problem(&child.name).map(|why| format!("this disk cannot hold the name: {why}")))
                .or_else(|| {
                    (!seen.insert(names.fold(&child.name).into_owned()))
                        .then(|| "another name here differs only in case or Unicode form, which this disk cannot tell apart".to_owned())
                });
            if let Some(reason) = refused {
                walked.skipped.push((printable(&rel).into_owned(), reason));
                continue;
            }
            let path = folder.join(&child.name).map_err(|e| Failure::bad_input(e.to_string()))?;
            if child.kind == "folder" {
                walked.folders.push(rel.clone());
                pending.push((path, rel));
            } else if child.file.is_some() {
                // (A file still on its first upload has nothing to download yet.)
                walked.files.push((path, rel));
            }
        }
    }
    Ok(walked)
}
