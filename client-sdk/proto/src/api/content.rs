//! Simple upload (`PUT /v1/content/...`) and download (`GET`, with `Range`, `ETag`,
//! `?version=`).

use serde::{Deserialize, Serialize};

/// Query string of an upload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadOptions {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// The file's modification time on the device (ms since the epoch); default: now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime_ms: Option<u64>,
}

/// What an upload answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Uploaded {
    /// The file's id.
    pub file: u64,
    /// The new version.
    pub version: u64,
    /// Its size.
    pub size: u64,
    /// blake3 of the content, hex.
    pub hash: String,
    /// The caller's journal position of the change.
    pub seq: u64,
    /// Blocks of the content the account did not have yet, which the node stored (the others
    /// were there already). Absent from nodes older than the field: read as 0.
    #[serde(default)]
    pub blocks_written: u64,
}

/// Query string of a download.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadOptions {
    /// A namespace other than the caller's drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// An older version than the head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}
