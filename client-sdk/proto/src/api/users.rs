//! `/v1/me`, users and tokens.

use serde::{Deserialize, Serialize};

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserView {
    /// The user's id.
    pub id: u64,
    /// The login name.
    pub name: String,
    /// Whether they administer the cluster's users.
    pub admin: bool,
    /// Their drive's namespace id.
    pub drive: u64,
}

/// `POST /v1/users` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The login name: 1–64 characters of `a-z 0-9 . _ -`.
    pub name: String,
    /// Make them an administrator.
    #[serde(default)]
    pub admin: bool,
}

/// `POST /v1/users/{name}/tokens` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for ("laptop", "sync on the NAS").
    pub label: String,
}

/// A new token: shown once, stored only as a hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenView {
    /// The token itself.
    pub token: String,
    /// Its label.
    pub label: String,
    /// Whose it is.
    pub user: u64,
}
