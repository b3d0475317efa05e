//! `cairn-node user …`: what the operator of a node can do to the drive's users without an API
//! token, authenticated by the node's own certificate: set a password, disable or enable a
//! user, list and revoke their tokens. The same rules as the API hold (the last enabled
//! administrator cannot be disabled), since the model enforces them.

use std::fmt::Write as _;

use cairn_raft::model::tokens::{TokenEntry, TokenKind};
use cairn_raft::model::{Answer, Command, Query, Request, RequestId, Response, TokenHash, User};

use super::admin::{AdminError, client_for};
use super::config::NodeConfig;
use crate::cluster_client::ClusterClient;

/// The password lengths `passwd` takes, as the API requires.
pub use cairn_api::password::guard::{MAX_PASSWORD, MIN_PASSWORD};

/// Sets `name`'s password (hashed here with argon2id; only the hash reaches the cluster) and
/// ends their sessions made with the old one.
pub async fn set_password(config: &NodeConfig, name: &str, password: &str) -> Result<(), AdminError> {
    if password.len() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(AdminError::Refused(format!("a password is {MIN_PASSWORD} to {MAX_PASSWORD} bytes")));
    }
    let hash = cairn_api::password::pool::hash(password.to_owned())
        .await
        .map_err(|e| AdminError::Refused(e.to_string()))?;
    with_user(config, name, |user| Command::SetPassword { user: user.id, password_hash: Some(hash) }).await
}

/// Disables `name` (their tokens are refused from now on and they cannot sign in) or enables
/// them again.
pub async fn set_disabled(config: &NodeConfig, name: &str, disabled: bool) -> Result<(), AdminError> {
    with_user(config, name, |user| Command::SetDisabled { user: user.id, disabled }).await
}

/// `name`'s tokens and sessions, as a table.
pub async fn tokens(config: &NodeConfig, name: &str) -> Result<String, AdminError> {
    let client = client_for(config).await?;
    let result = async {
        let user = find(&client, name).await?;
        match client.query(&Query::TokenList { user: user.id }).await? {
            Answer::TokenList(entries) => Ok(render(&entries)),
            other => Err(AdminError::Refused(format!("unexpected answer: {other:?}"))),
        }
    }
    .await;
    client.shutdown().await;
    result
}

/// Revokes `name`'s token whose id (from [`tokens`]) is `id`.
pub async fn revoke(config: &NodeConfig, name: &str, id: &str) -> Result<(), AdminError> {
    let hash = TokenHash::from_hex(id)
        .ok_or_else(|| AdminError::Refused(format!("{id:?} is not a token id (64 hex digits)")))?;
    with_user(config, name, |user| Command::RevokeOwnToken { user: user.id, token_hash: hash }).await
}

/// Looks `name` up and proposes the command `make` builds for them.
async fn with_user(
    config: &NodeConfig,
    name: &str,
    make: impl FnOnce(&User) -> Command,
) -> Result<(), AdminError> {
    let client = client_for(config).await?;
    let result = async {
        let user = find(&client, name).await?;
        // Stamped with this machine's clock: a new password ends the sessions made before it.
        let now_ms = cairn_proto::Clock::system().now_ms();
        let request = Request { id: RequestId(rand::random()), time_ms: now_ms, command: make(&user) };
        match client.write(request).await? {
            Response::Rejected(why) => Err(AdminError::Refused(why.to_string())),
            _ => Ok(()),
        }
    }
    .await;
    client.shutdown().await;
    result
}

async fn find(client: &ClusterClient, name: &str) -> Result<User, AdminError> {
    match client.query(&Query::UserByName(name.to_owned())).await? {
        Answer::User(Some(user)) => Ok(user),
        Answer::User(None) => Err(AdminError::Refused(format!("no user named {name:?}"))),
        other => Err(AdminError::Refused(format!("unexpected answer: {other:?}"))),
    }
}

fn render(entries: &[TokenEntry]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str("no tokens\n");
    }
    for entry in entries {
        let kind = match entry.terms.map(|t| t.kind) {
            Some(TokenKind::Session) => "session",
            _ => "api",
        };
        let ends = entry.terms.and_then(|t| t.ends_ms()).map_or("never".to_owned(), |ms| format!("{ms} ms"));
        let _ = writeln!(
            out,
            "{}  {kind:<7}  {:?}  made {} ms  ends {ends}",
            entry.hash.to_hex(),
            entry.record.label,
            entry.record.created_ms
        );
    }
    out
}
