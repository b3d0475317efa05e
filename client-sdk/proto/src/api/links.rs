//! Public share links: read-only, optional password, optional expiry.

use serde::{Deserialize, Serialize};

use super::tree::TreeView;

/// `POST /v1/links` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLinkBody {
    /// The folder or file to publish, read-only.
    pub path: String,
    /// A password the link asks for; stored only as a salted hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// When the link stops working (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// The namespace, if not the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// A new link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkView {
    /// Its id: 32 hex digits, unguessable.
    pub id: String,
    /// Where anyone holding it lists or stats it (`GET`, no token).
    pub url_path: String,
    /// Where its content is downloaded (`GET`, no token; `?path=` inside a folder).
    pub content_path: String,
    /// The namespace of the target.
    pub ns: u64,
    /// The published folder or file.
    pub path: String,
    /// When it stops working, if ever.
    pub expires_ms: Option<u64>,
    /// Whether it asks for a password.
    pub password: bool,
}

/// The header that carries a link's password. Never in the URL: URLs end up in logs, proxies
/// and browser histories, so a node refuses `?password=`.
pub const LINK_PASSWORD_HEADER: &str = "x-link-password";

/// Query parameters of `GET /v1/links/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkListing {
    /// A path inside a linked folder; default: the linked folder or file itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Start a folder listing after this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many children (default and maximum 1 000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Query parameters of `GET /v1/links/{id}/content`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDownload {
    /// A file inside a linked folder; default: the linked file itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What `GET /v1/links/{id}` answers: the tree view, with paths relative to the link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkTree {
    /// The name of the linked folder or file (empty for a whole drive).
    pub name: String,
    /// When the link stops working, if ever.
    pub expires_ms: Option<u64>,
    /// The stat or listing; its `path` is relative to the link.
    #[serde(flatten)]
    pub tree: TreeView,
}

/// Query parameters of `GET /v1/links`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPaging {
    /// Start after this link id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many links (default and maximum 1 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// One link in `GET /v1/links`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkInfo {
    /// Its id.
    pub id: String,
    /// The namespace of its target.
    pub ns: u64,
    /// Where its target is now (it follows moves); `None` once the target is gone.
    pub path: Option<String>,
    /// `file` or `folder`.
    pub kind: String,
    /// The name of the user who made it.
    pub created_by: String,
    /// When (ms since the epoch).
    pub created_ms: u64,
    /// When it stops working, if ever.
    pub expires_ms: Option<u64>,
    /// Whether it asks for a password.
    pub password: bool,
    /// `live`; or why it opens nothing now: `expired`, `trashed` (its file is in the trash),
    /// `gone` (its target was deleted), `no_rights` (its maker may no longer write there).
    pub status: String,
}

/// What `GET /v1/links` answers: the links on what the caller owns, whoever made them, and the
/// links the caller made, by id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkPage {
    /// This page.
    pub links: Vec<LinkInfo>,
    /// The `after` of the next page, if there may be one.
    pub next: Option<String>,
}
