//! The folder tree: stat, list, make folder, delete.

use serde::{Deserialize, Serialize};

/// The namespace a request is about, when it is not the caller's own drive (a share's).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InNamespace {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// A file's state as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileView {
    /// Its id, stable across renames.
    pub id: u64,
    /// The head version.
    pub version: u64,
    /// Size of the head version.
    pub size: u64,
    /// `uploading`, `complete` or `trashed`.
    pub status: String,
}

/// One name in a folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChildView {
    /// Its name.
    pub name: String,
    /// `folder` or `file`.
    pub kind: String,
    /// The file's id, for files.
    pub file: Option<u64>,
}

/// What `GET /v1/tree/...` answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TreeView {
    /// The path asked for.
    pub path: String,
    /// `folder` or `file`.
    pub kind: String,
    /// The file, for a file.
    pub file: Option<FileView>,
    /// A folder's children, by name (one page).
    pub children: Vec<ChildView>,
    /// Where the next page starts (`?after=`), if there is one.
    pub next: Option<String>,
}

/// Paging of a folder listing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// Start after this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many children (default and maximum 1 000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// What a change answers: the caller's journal position after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    /// The journal sequence number of the change, where the model reports one.
    pub seq: Option<u64>,
}
