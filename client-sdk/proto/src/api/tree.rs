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

/// `DELETE /v1/tree/{path}`: where, and on what condition.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// Delete only if nothing was put at or below the path after this cursor of the caller's
    /// change journal (else 412 `changed`; an expired cursor is 410 `cursor_expired`). A sync
    /// client passes the cursor its listing was taken after, so it never trashes an edit it has
    /// not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_unchanged_since: Option<u64>,
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

/// A file on its way: an open upload session to its path.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UploadingView {
    /// Bytes received so far.
    pub received: u64,
    /// Its declared size.
    pub size: u64,
    /// When the upload began (ms since the epoch).
    pub started_ms: u64,
}

/// One name in a folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChildView {
    /// Its name.
    pub name: String,
    /// `folder` or `file`.
    pub kind: String,
    /// The file's id, for files that have a version (not for one still on its first upload).
    pub file: Option<u64>,
    /// A file's state: `uploading` (its first upload is under way), `complete` or `trashed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A file's head version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// A file's size (of its head version; of the upload, for one being uploaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// An upload to this name under way, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploading: Option<UploadingView>,
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
    /// For a file: an upload of a new version under way (or of its first, when `file` is
    /// absent: the file shows as `uploading` until it completes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploading: Option<UploadingView>,
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
