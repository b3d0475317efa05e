//! The new machine's side of a join: `cairn-node join --token T --peer HOST:PORT -c node.toml`.
//!
//! It makes the node's keys here (they never leave the machine), asks a member to sign them
//! over a channel pinned to the CA in the token, stores what comes back, then starts the node
//! for as long as it takes to become a member: added as a learner, caught up, and promoted to
//! voter unless the token was for storage only. Afterwards the node is started as usual.

use std::sync::Arc;
use std::time::Duration;

use cairn_metadata::AdminCommand;
use cairn_proto::api::ErrorBody;
use cairn_proto::error::with_causes;
use cairn_raft::model::join_tokens::JoinRole;
use cairn_transport::{NodeIdentity, new_signing_request, node_name};

use super::pinned::{Mismatch, PinnedCa};
use super::token::{JoinToken, fingerprint_text};
use super::wrap::Unwrapper;
use super::{JOIN_PATH, JoinAnswer, JoinRequest};
use crate::admin::{self, AdminError};
use crate::api_names;
use crate::cluster_client::ClusterClient;
use crate::config::NodeConfig;
use crate::node::RunningNode;
use crate::secrets::{JoinedSecrets, SecretsDir};

/// Why a join failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The token is malformed.
    #[error("{0}")]
    Token(String),
    /// This machine has a node already, or its files are in the way.
    #[error("{0}")]
    AlreadyJoined(String),
    /// The peer could not be reached or did not speak the protocol.
    #[error("{0}")]
    Peer(String),
    /// The peer is not a member of the token's cluster.
    #[error("{0}")]
    WrongCluster(String),
    /// The cluster refused the request (a used, expired or unknown token, a taken id …).
    #[error("the cluster refused to sign: {0}")]
    Refused(String),
    /// Storing the secrets failed.
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    /// Starting the node failed.
    #[error(transparent)]
    Node(#[from] crate::node::NodeError),
    /// The membership change failed; the node has its certificates and can be added by hand.
    #[error(
        "the node has its certificates but did not become a member: {0}. Start it and add it with \
         `cairn-node member add` from a member"
    )]
    Membership(AdminError),
}

/// What became of a join.
#[derive(Debug)]
pub struct Joined {
    /// What the node is now.
    pub role: JoinRole,
    /// The members it joined (before it).
    pub members: usize,
}

/// Joins the machine `config` describes to the cluster of `token`, through the member whose
/// API is at `peer` (`HOST:PORT`). `progress` hears each step, for the operator.
pub async fn join(
    config: &NodeConfig,
    token: &str,
    peer: &str,
    mut progress: impl FnMut(&str),
) -> Result<Joined, JoinError> {
    let token = JoinToken::parse(token).map_err(JoinError::Token)?;
    refuse_if_present(config)?;
    let name = node_name(config.id);
    let (node_request, node_key) =
        new_signing_request(&name).map_err(|e| JoinError::Token(format!("make the node key: {e}")))?;
    let api = if config.network.api_tls {
        Some(
            new_signing_request(&api_names::subject(&name))
                .map_err(|e| JoinError::Token(format!("make the API key: {e}")))?,
        )
    } else {
        None
    };
    let unwrapper = Unwrapper::new().map_err(JoinError::Token)?;
    let request = JoinRequest {
        secret: token.secret().to_owned(),
        node: config.id,
        quic_addr: config.advertised().to_string(),
        api_addr: config.network.api.to_string(),
        api_names: config.network.api_names.clone(),
        node_request,
        api_request: api.as_ref().map(|(request, _)| request.clone()),
        key_share: unwrapper.key_share(),
    };
    progress(&format!(
        "asking {peer} to sign node {} (cluster CA {})",
        config.id,
        fingerprint_text(&token.ca_fingerprint)
    ));
    let answer = ask(peer, &token, &request).await?;
    let master_key = unwrapper.unwrap(&answer.master_key).map_err(JoinError::Peer)?;
    let api = match (api, answer.api_cert) {
        (Some((_, key)), Some(cert)) => Some((cert, key)),
        (Some(_), None) => return Err(JoinError::Peer("the peer signed no API certificate".into())),
        (None, _) => None,
    };
    let joined =
        JoinedSecrets { ca_cert: answer.ca_cert, node_cert: answer.node_cert, node_key, api, master_key };
    SecretsDir::new(&config.secrets_dir).store_joined(config.id, &joined)?;
    progress(&format!("stored the certificates and master key in {}", config.secrets_dir.display()));
    let node = RunningNode::start(config).await?;
    let result = become_member(config, &answer.members, answer.role, &mut progress).await;
    node.shutdown().await;
    result.map_err(JoinError::Membership)?;
    Ok(Joined { role: answer.role, members: answer.members.len() })
}

/// Refuses to join a machine that already has a node, or secrets a join would overwrite.
fn refuse_if_present(config: &NodeConfig) -> Result<(), JoinError> {
    if config.data_dir.join("raft-log").exists() {
        return Err(JoinError::AlreadyJoined(format!(
            "{} already holds a node's data: this machine is in a cluster already; start it with `cairn-node start`",
            config.data_dir.display()
        )));
    }
    let name = node_name(config.id);
    for file in ["ca.crt", "master.key", &format!("{name}.crt"), &format!("{name}.key")] {
        let path = config.secrets_dir.join(file);
        if path.exists() {
            return Err(JoinError::AlreadyJoined(format!(
                "{} exists already: this machine has (or had) a cluster's secrets; a join never \
                 overwrites them — move the folder aside to join afresh",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Sends the request over TLS pinned to the token's CA, and reads the answer.
async fn ask(peer: &str, token: &JoinToken, request: &JoinRequest) -> Result<JoinAnswer, JoinError> {
    let host = peer.trim().trim_start_matches("https://").trim_end_matches('/');
    if host.starts_with("http://") {
        return Err(JoinError::Peer(
            "--peer must be reached over HTTPS (network.api_tls on the member)".into(),
        ));
    }
    let provider = cairn_transport::trust::crypto_provider();
    let pinned = Arc::new(PinnedCa::new(token.ca_fingerprint, provider.clone()));
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| JoinError::Peer(format!("TLS settings: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(pinned.clone())
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| JoinError::Peer(format!("HTTP client: {e}")))?;
    let url = format!("https://{host}{JOIN_PATH}");
    let reply = match client.post(&url).json(request).send().await {
        Ok(reply) => reply,
        Err(e) => {
            return Err(match pinned.mismatch() {
                Some(Mismatch::OtherCa(theirs)) => JoinError::WrongCluster(format!(
                    "{host} belongs to another cluster: its CA is {}, the token's is {}; use a token \
                     minted in the cluster you mean to join",
                    fingerprint_text(&theirs),
                    fingerprint_text(&token.ca_fingerprint)
                )),
                Some(Mismatch::NoCa) => JoinError::WrongCluster(format!(
                    "{host} did not present a cluster CA: it is not a cairn member serving HTTPS"
                )),
                None => JoinError::Peer(format!(
                    "{url}: {}; --peer is a member's HTTPS API address (its network.api, port 8100 in \
                     the packaged config), not its QUIC port",
                    with_causes(&e)
                )),
            });
        }
    };
    let status = reply.status();
    let body = reply.bytes().await.map_err(|e| JoinError::Peer(format!("{url}: read the answer: {e}")))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
        return Err(JoinError::Refused(format!("{message} ({status})")));
    }
    serde_json::from_slice(&body).map_err(|e| JoinError::Peer(format!("{url}: not a join answer: {e}")))
}

/// Adds the running node as a learner through the members, waits until it has caught up, and
/// promotes it if it is to vote.
async fn become_member(
    config: &NodeConfig,
    members: &std::collections::BTreeMap<u64, String>,
    role: JoinRole,
    progress: &mut impl FnMut(&str),
) -> Result<(), AdminError> {
    let identity: NodeIdentity = SecretsDir::new(&config.secrets_dir).node_identity(config.id)?;
    let nodes = members.iter().filter_map(|(id, addr)| addr.parse().ok().map(|a| (*id, a))).collect();
    let client = ClusterClient::new(&identity, nodes, config.call_timeout()).await?;
    let result = async {
        client.admin(&AdminCommand::AddLearner { id: config.id, addr: config.node_addr() }).await?;
        progress(&format!("node {} is a learner; catching up with the log", config.id));
        let mut last = None;
        admin::wait_learner_caught_up(&client, config.id, Duration::from_secs(600), |matched, goal| {
            if last != Some(matched) {
                last = Some(matched);
                // The log grows while the node catches up; the goal is where it stood at first.
                progress(&format!("  {} of {goal} entries", matched.min(goal)));
            }
        })
        .await?;
        if role == JoinRole::Voter {
            client.admin(&AdminCommand::Promote { id: config.id }).await?;
            progress(&format!("node {} is a voter", config.id));
        } else {
            progress(&format!("node {} stays a learner: it stores shards and does not vote", config.id));
        }
        Ok(())
    }
    .await;
    client.shutdown().await;
    result
}
