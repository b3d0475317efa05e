//! Renewing a member's certificates without moving a key: `cairn-node renew-cert`.
//!
//! The node makes fresh keys and signing requests and sends them over the cluster transport,
//! whose mutual TLS has already proved which node is asking (by the certificate that is about
//! to be renewed, still valid). A member holding the CA key signs certificates for that same
//! name and nothing else; members without it say so, and the next one is asked.

use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use cairn_metadata::messages::{ServiceError, decode, encode};
use cairn_transport::{Response, is_cluster_node, new_signing_request, node_name};
use serde::{Deserialize, Serialize};

use crate::admin::{AdminError, members_client};
use crate::api_names::{self, ApiName};
use crate::config::NodeConfig;
use crate::secrets::SecretsDir;

/// The transport request kind of a renewal (beside the metadata service's 10–16 and the block
/// service's 20–25).
pub const KIND_RENEW: u8 = 30;

/// What a node asking for renewal sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RenewRequest {
    /// A signing request over its new node key, PEM.
    pub node_request: String,
    /// Its API address and further names, and a signing request over a new API key, if it
    /// serves HTTPS.
    pub api: Option<(SocketAddr, Vec<String>, String)>,
}

/// The renewed certificates, PEM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RenewAnswer {
    /// The node certificate.
    pub node_cert: String,
    /// The API certificate, if asked for.
    pub api_cert: Option<String>,
}

/// A member's answer to a renewal request from `peer` (the name its certificate proved).
pub fn answer(secrets_dir: &Path, peer: &str, payload: &[u8]) -> Response {
    let result = sign(secrets_dir, peer, payload);
    Response::new(KIND_RENEW, Bytes::from(encode(&result)))
}

fn sign(secrets_dir: &Path, peer: &str, payload: &[u8]) -> Result<RenewAnswer, ServiceError> {
    let forbidden = |what: &str| ServiceError::Forbidden { peer: peer.to_owned(), what: what.to_owned() };
    if !is_cluster_node(peer) {
        return Err(forbidden("certificate renewal (only nodes renew their own certificates)"));
    }
    let secrets = SecretsDir::new(secrets_dir);
    if !secrets.has_ca_key() {
        return Err(forbidden("certificate renewal: this node holds no CA key"));
    }
    let request: RenewRequest = decode(payload)?;
    let ca = secrets.ca().map_err(|e| ServiceError::Internal(e.to_string()))?;
    let refused = |e: cairn_transport::IdentityError| ServiceError::Undecodable(e.to_string());
    let node_cert = ca.sign_node_request(peer, &request.node_request).map_err(refused)?;
    let api_cert = match &request.api {
        Some((addr, names, pem)) => {
            let extra: Vec<ApiName> = names.iter().filter_map(|n| ApiName::parse(n).ok()).collect();
            Some(api_names::sign_request(&ca, peer, *addr, &extra, pem).map_err(refused)?)
        }
        None => None,
    };
    tracing::info!(%peer, "renewed a node's certificates");
    Ok(RenewAnswer { node_cert, api_cert })
}

/// Renews the certificates of the node `config` describes through any member that holds the
/// CA key, and stores them (the old pair kept as `*.old`). The node uses them from its next
/// start; the old ones stay valid until their end.
pub async fn renew(config: &NodeConfig) -> Result<(), AdminError> {
    let name = node_name(config.id);
    let failed = |e: cairn_transport::IdentityError| AdminError::Refused(format!("make a new key: {e}"));
    let (node_request, node_key) = new_signing_request(&name).map_err(failed)?;
    let api = if config.network.api_tls {
        Some(new_signing_request(&api_names::subject(&name)).map_err(failed)?)
    } else {
        None
    };
    let request = RenewRequest {
        node_request,
        api: api.as_ref().map(|(pem, _)| (config.network.api, config.network.api_names.clone(), pem.clone())),
    };
    let members = members_client(config).await?;
    let mut refusals = Vec::new();
    let mut renewed = None;
    for (id, _) in members.nodes().to_vec() {
        match members.call_node::<RenewAnswer>(id, KIND_RENEW, encode(&request)).await {
            Ok(answer) => {
                renewed = Some(answer);
                break;
            }
            Err(e) => refusals.push(e.to_string()),
        }
    }
    members.shutdown().await;
    let answer = renewed.ok_or_else(|| {
        AdminError::Refused(format!("no member could sign (one must hold ca.key): {}", refusals.join("; ")))
    })?;
    let api_pair = match (&api, &answer.api_cert) {
        (Some((_, key)), Some(cert)) => Some((cert.as_str(), key.as_str())),
        _ => None,
    };
    SecretsDir::new(&config.secrets_dir).store_renewed(
        config.id,
        (&answer.node_cert, &node_key),
        api_pair,
    )?;
    Ok(())
}
