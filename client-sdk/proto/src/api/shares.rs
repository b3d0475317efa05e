//! Sharing with users: grant, revoke, list given and received.

use serde::{Deserialize, Serialize};

/// A share's role as the API names it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// List, stat, download.
    Viewer,
    /// Also upload, make folders, delete, publish links.
    Editor,
}

/// `POST /v1/shares` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    /// The folder or file to share.
    pub path: String,
    /// The login name of the user to share it with.
    pub user: String,
    /// `viewer` or `editor`.
    pub role: Role,
    /// The namespace, if not the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// `DELETE /v1/shares` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndShare {
    /// The shared folder or file.
    pub path: String,
    /// The login name of the recipient (the caller's own, to leave a share).
    pub user: String,
    /// The namespace, if not the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// A share as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareView {
    /// The namespace the shared path is in (`?ns=` for the tree and content endpoints).
    pub ns: u64,
    /// The shared folder or file.
    pub path: String,
    /// The owner's login name.
    pub owner: String,
    /// The recipient's login name.
    pub user: String,
    /// `viewer` or `editor`.
    pub role: Role,
    /// When it was shared (or its role last changed), in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<u64>,
}

/// One page of shares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SharePage {
    /// The shares.
    pub shares: Vec<ShareView>,
    /// Where the next page starts (`?after=`), if there may be one.
    pub next: Option<String>,
}

/// Paging of the share listings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// The `next` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many (default 100, at most 1 000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}
