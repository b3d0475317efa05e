//! `cairn-node join-token`: minting, listing and revoking join tokens through a member.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_raft::model::join_tokens::{JoinRole, JoinTokenEntry};
use cairn_raft::model::{Answer, Command, Query, Request, RequestId, Response, TokenHash};
use cairn_transport::cert_fingerprint;

use super::token::JoinToken;
use crate::admin::{AdminError, client_for};
use crate::config::NodeConfig;

/// A minted token and when it ends.
#[derive(Debug)]
pub struct Minted {
    /// The token, to copy to the new machine.
    pub token: JoinToken,
    /// When it stops working.
    pub expires: SystemTime,
}

/// Mints a token for a node that joins as `role`, working for `ttl`.
pub async fn mint(config: &NodeConfig, role: JoinRole, ttl: Duration) -> Result<Minted, AdminError> {
    let ca_path = config.secrets_dir.join("ca.crt");
    let ca = std::fs::read_to_string(&ca_path)
        .map_err(|e| AdminError::Refused(format!("{}: {e}", ca_path.display())))?;
    let fingerprint =
        cert_fingerprint(&ca).map_err(|e| AdminError::Refused(format!("{}: {e}", ca_path.display())))?;
    let token = JoinToken::generate(fingerprint);
    let expires = SystemTime::now() + ttl;
    let expires_ms = expires.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let command = Command::IssueJoinToken { token_hash: token.hash(), role, expires_ms };
    match write(config, command).await? {
        Response::JoinTokenIssued => Ok(Minted { token, expires }),
        other => Err(refused(other)),
    }
}

/// Every token the cluster keeps: unused, or used or expired in the last week.
pub async fn list(config: &NodeConfig) -> Result<Vec<JoinTokenEntry>, AdminError> {
    let client = client_for(config).await?;
    let answer = client.query(&Query::JoinTokens).await;
    client.shutdown().await;
    match answer? {
        Answer::JoinTokens(list) => Ok(list),
        other => Err(AdminError::Refused(format!("unexpected answer {other:?}"))),
    }
}

/// Revokes the one token whose id (its hash in hex, as `list` shows it) starts with `prefix`.
pub async fn revoke(config: &NodeConfig, prefix: &str) -> Result<TokenHash, AdminError> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.len() < 8 {
        return Err(AdminError::Refused(
            "give at least 8 digits of the token's id, as `join-token list` shows it".into(),
        ));
    }
    let matching: Vec<TokenHash> =
        list(config).await?.into_iter().map(|e| e.hash).filter(|h| h.to_hex().starts_with(&prefix)).collect();
    let hash = match matching.as_slice() {
        [one] => *one,
        [] => return Err(AdminError::Refused(format!("no join token has an id starting with {prefix}"))),
        _ => {
            return Err(AdminError::Refused(format!(
                "several join tokens have ids starting with {prefix}: give more digits"
            )));
        }
    };
    match write(config, Command::RevokeJoinToken { token_hash: hash }).await? {
        Response::JoinTokenRevoked => Ok(hash),
        other => Err(refused(other)),
    }
}

/// The list as `join-token list` prints it.
pub fn render(entries: &[JoinTokenEntry], now: SystemTime) -> String {
    let now_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut out = format!("{:<16} {:<8} {:<28} STATE\n", "ID", "ROLE", "EXPIRES");
    for entry in entries {
        let token = &entry.token;
        let expires = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(token.expires_ms));
        let state = match token.used {
            Some((node, _)) => format!("used by node {node}"),
            None if token.expires_ms <= now_ms => "expired".to_owned(),
            None => format!("unused, {} min left", (token.expires_ms - now_ms) / 60_000),
        };
        let id = &entry.hash.to_hex()[..16];
        out.push_str(&format!("{id:<16} {:<8} {expires:<28} {state}\n", token.role.to_string()));
    }
    out
}

async fn write(config: &NodeConfig, command: Command) -> Result<Response, AdminError> {
    let client = client_for(config).await?;
    let result = client.write(Request { id: RequestId(rand::random()), time_ms: 0, command }).await;
    client.shutdown().await;
    Ok(result?)
}

fn refused(response: Response) -> AdminError {
    match response {
        Response::Rejected(why) => AdminError::Refused(why.to_string()),
        other => AdminError::Refused(format!("unexpected answer {other:?}")),
    }
}
