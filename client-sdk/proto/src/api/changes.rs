//! The change journal over HTTP: `GET /v1/changes` (a page after a cursor, or a long poll),
//! `GET /v1/changes/latest` (the start cursor) and `GET /v1/changes/stream` (server-sent
//! events). A client keeps the cursor of the last change it applied; the journal lives in Raft,
//! so any node continues from it.

use serde::{Deserialize, Serialize};

/// The longest a node lets a long poll wait, in ms: a longer `timeout_ms` is cut to this.
pub const MAX_POLL_MS: u64 = 60_000;

/// The names of [`ChangeView::kind`]: stable, snake_case.
pub mod kind {
    /// A folder was created.
    pub const FOLDER_CREATED: &str = "folder_created";
    /// A version of a file was committed (`version`, `status`); the first one creates the file.
    pub const VERSION_COMMITTED: &str = "version_committed";
    /// A file went to the trash.
    pub const TRASHED: &str = "trashed";
    /// A file came back from the trash (`status`).
    pub const RESTORED: &str = "restored";
    /// A trashed file was deleted for good.
    pub const PURGED: &str = "purged";
    /// The file or folder at `path`, with everything below it, came from `from`.
    pub const MOVED: &str = "moved";
    /// A file or folder (and everything below it) moved here from a place the user cannot see.
    pub const MOVED_IN: &str = "moved_in";
    /// The file or folder at `path` (and everything below it) moved where the user cannot see.
    pub const MOVED_OUT: &str = "moved_out";
    /// The folder at `path` went to the trash with everything below it (`files` files).
    pub const FOLDER_TRASHED: &str = "folder_trashed";
    /// An upload to `path` began (`size`): the file shows as `uploading` until it completes.
    pub const UPLOAD_STARTED: &str = "upload_started";
    /// The upload to `path` was abandoned.
    pub const UPLOAD_ABORTED: &str = "upload_aborted";
}

/// One change as the API shows it: what happened at a path, seen by the caller (in their own
/// drive or in a folder shared with them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeView {
    /// Its position in the caller's journal (from 1, without gaps): the next cursor.
    pub seq: u64,
    /// When the cluster applied it (ms since the epoch).
    pub time_ms: u64,
    /// The namespace of the path (the caller's drive, or a drive that shares with them).
    pub ns: u64,
    /// The path that changed, inside `ns`.
    pub path: String,
    /// The file's id, for a change of a file that has one.
    #[serde(default)]
    pub file: Option<u64>,
    /// What happened: one of the names in [`kind`].
    pub kind: String,
    /// `version_committed`: the new head version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// `version_committed`, `restored`: the file's status, `uploading`, `complete` or `trashed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `moved`: the old path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `upload_started`: the declared size of the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `folder_trashed`: how many files went to the trash with the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
}

/// What `GET /v1/changes` answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangePage {
    /// The changes after the cursor asked for, oldest first (empty when a long poll timed out).
    pub changes: Vec<ChangeView>,
    /// The cursor to pass next: the last change's `seq`, or the cursor given if there is none.
    pub cursor: u64,
    /// Whether more changes follow already (ask again at once).
    pub more: bool,
}

/// What `GET /v1/changes/latest` answers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct CursorView {
    /// The caller's newest change (0: none yet): the cursor after a full listing.
    pub cursor: u64,
}

/// The query string of `GET /v1/changes`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// The last `seq` the client has (default 0: from the start of the journal). A cursor the
    /// journal no longer covers gets 410 `cursor_expired`: resync from a full listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// With nothing after the cursor, wait up to this long for a change (default 0: answer at
    /// once; the node caps it at [`MAX_POLL_MS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// At most this many changes: 1 to 1 000, default 1 000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}
