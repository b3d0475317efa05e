//! Versions (history, restore, pin), the trash, and moves.

use serde::{Deserialize, Serialize};

/// One version as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionView {
    /// Its number (versions count from 1).
    pub version: u64,
    /// Its size in bytes.
    pub size: u64,
    /// blake3 of its content, hex.
    pub hash: String,
    /// The file's modification time on the device that committed it (ms since the epoch).
    pub mtime_ms: u64,
    /// When the cluster committed it (ms since the epoch).
    pub committed_ms: u64,
    /// The id of the user who committed it.
    pub author: u64,
    /// The name of the device that committed it, if the commit named one.
    pub device: Option<String>,
    /// Whether it is pinned.
    pub pinned: bool,
}

/// What `GET /v1/history/{path}` answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryView {
    /// The file's path.
    pub path: String,
    /// The file's id.
    pub file: u64,
    /// Its head version.
    pub head: u64,
    /// Its versions, newest first.
    pub versions: Vec<VersionView>,
}

/// The query string of `GET /v1/history/{path}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryOptions {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// At most this many versions: 1 to 1 000, default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Only versions older than this one: the next page starts before the last version of the
    /// previous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
}

/// The body of `POST /v1/history/{path}/restore` and `.../pin`. The two share one route, so
/// they share one body type, and the node refuses the fields the action does not take.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionAction {
    /// The version to restore (its content becomes the new head) or to pin.
    pub version: u64,
    /// Restore only: restore only if this is still the head (409 `conflict` otherwise);
    /// default: whatever the head is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// Pin only, and required: pin (`true`) or unpin (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    /// A namespace other than the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// What a restore of a version answers: the new head.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionRestored {
    /// The file's id.
    pub file: u64,
    /// The new head version.
    pub version: u64,
    /// The version whose content it has.
    pub restored_from: u64,
    /// Its size.
    pub size: u64,
    /// blake3 of its content, hex.
    pub hash: String,
    /// The namespace owner's journal position of the change.
    pub seq: u64,
}

/// What a pin answers: the version's pin as it is now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PinView {
    /// The version.
    pub version: u64,
    /// Whether it is pinned.
    pub pinned: bool,
}

/// The query string of `GET /v1/trash`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrashListing {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// Start after this file id (the `next` of the previous page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// At most this many files: 1 to 1 000, default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A file in the trash, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrashItem {
    /// Where it is (its path stays taken while it is in the trash).
    pub path: String,
    /// The file's id.
    pub file: u64,
    /// Size of its head version.
    pub size: u64,
    /// When it was trashed (ms since the epoch).
    pub trashed_ms: u64,
    /// The id of the user who trashed it.
    pub trashed_by: u64,
}

/// What `GET /v1/trash` answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrashView {
    /// One page of trashed files, by file id.
    pub files: Vec<TrashItem>,
    /// Where the next page starts (`?after=`), if there is one.
    pub next: Option<u64>,
}

/// The body of `POST /v1/trash/restore` and `DELETE /v1/trash`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrashTarget {
    /// A trashed file, or a folder: then every trashed file below it.
    pub path: String,
    /// A namespace other than the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// What a restore from, or a purge of, the trash answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrashChanged {
    /// The ids of the files restored or purged.
    pub files: Vec<u64>,
    /// The namespace owner's journal position after the last of the changes.
    pub seq: Option<u64>,
}

/// The body of `POST /v1/move`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The file or folder to move.
    pub from: String,
    /// Its new path, which must not exist; missing folders on the way are made.
    pub to: String,
    /// A namespace other than the caller's drive (both paths are in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// What a move answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Moved {
    /// The caller's journal position of the move.
    pub seq: u64,
}
