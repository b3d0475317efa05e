//! `/v1/me`, users, their tokens, and password sign-in (`/v1/sessions`).

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
    /// Whether they are disabled (their tokens are refused and they cannot sign in).
    #[serde(default)]
    pub disabled: bool,
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

/// `PATCH /v1/users/{name}` body (administrators): what to change; absent fields stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// Disable (`true`) or enable (`false`) the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Make them an administrator, or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
}

/// `PUT /v1/users/{name}/password` body. A user changing their own password gives the current
/// one; an administrator setting someone else's does not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// The new password: 8 to 1024 bytes.
    pub password: String,
    /// The current password, when changing one's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

/// `POST /v1/users/{name}/tokens` and `POST /v1/tokens` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for ("laptop", "sync on the NAS").
    pub label: String,
    /// The token stops working this many seconds from now; absent: when revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
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
    /// Its id in the token list (what revoking it takes): the hex blake3 of the token.
    #[serde(default)]
    pub id: String,
    /// When it stops working (ms since the epoch), if it ever does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// What a token is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A program's token.
    Api,
    /// A password sign-in.
    Session,
}

/// A token in `GET /v1/tokens`: everything but the token itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its id (the hex blake3 of the token): `DELETE /v1/tokens/{id}` revokes it.
    pub id: String,
    /// Its label.
    pub label: String,
    /// API token or session.
    pub kind: TokenKind,
    /// When it was made (ms since the epoch).
    pub created_ms: u64,
    /// When it stops working unless renewed or revoked (ms since the epoch); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// Whether this is the token the listing was asked with.
    #[serde(default)]
    pub current: bool,
}

/// `POST /v1/sessions` body: sign in with a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The login name.
    pub user: String,
    /// The password.
    pub password: String,
    /// What the session is for ("cairn on laptop", "browser"); a default if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A new session: its token (shown once) and when it ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionView {
    /// The session's token: send it as `Authorization: Bearer …`.
    pub token: String,
    /// Its id in the token list.
    pub id: String,
    /// Who signed in.
    pub user: UserView,
    /// It ends when unused for this many seconds (each use renews it)…
    pub idle_s: u64,
    /// …and at the latest at this time (ms since the epoch).
    pub expires_ms: u64,
}
