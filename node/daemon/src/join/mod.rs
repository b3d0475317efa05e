//! Joining a machine to the cluster with a token, with nothing secret copied by hand.
//!
//! ```text
//! member (holds ca.key)                          new machine
//! cairn-node join-token  ──token (CA fingerprint + secret)──▶  cairn-node join --token T --peer M
//!                                                 makes its node and API keys, signing requests
//!                                                 and an X25519 key share
//! POST /v1/cluster/join  ◀── TLS, pinned to the CA in the token ──
//!   uses the token up (a Raft write: once only)
//!   signs the certificates
//!   wraps the master key for the key share
//!                         ──certificates, CA, wrapped master key, members──▶
//!                                                 stores them (keys 0600), starts the node,
//!                                                 asks the cluster to add it as a learner,
//!                                                 waits until it has caught up, and promotes
//!                                                 it to voter (unless a storage token)
//! ```
//!
//! - [`token`]: the token's text form.
//! - [`wrap`]: the master key sealed for one request.
//! - [`pinned`]: the joining side's TLS check, pinned to the token's CA.
//! - [`signer`]: the member's side, a route on its API.
//! - [`joiner`]: the new machine's side, `cairn-node join`.
//! - [`renew`]: a member renewing its own certificates through a CA holder, no key moved.
//! - [`tokens`]: minting, listing and revoking tokens (`cairn-node join-token`).

pub mod joiner;
pub mod pinned;
pub mod renew;
pub mod signer;
pub mod token;
pub mod tokens;
pub mod wrap;

use std::collections::BTreeMap;

use cairn_raft::NodeId;
use cairn_raft::model::join_tokens::JoinRole;
use serde::{Deserialize, Serialize};

/// The path of the join route on a member's API.
pub const JOIN_PATH: &str = "/v1/cluster/join";

/// What a joining machine sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The token's secret part.
    pub secret: String,
    /// The id the machine's config gives it.
    pub node: NodeId,
    /// Its QUIC address as peers dial it (`network.advertise`, else `network.listen`).
    pub quic_addr: String,
    /// Its API address (`network.api`).
    pub api_addr: String,
    /// The further names clients reach its API by (`network.api_names`).
    pub api_names: Vec<String>,
    /// A signing request over its node key, PEM.
    pub node_request: String,
    /// A signing request over its API key, PEM, if it serves HTTPS.
    pub api_request: Option<String>,
    /// Its X25519 public key for the master key, hex.
    pub key_share: String,
}

/// What the member answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinAnswer {
    /// What the machine becomes.
    pub role: JoinRole,
    /// The cluster CA certificate, PEM.
    pub ca_cert: String,
    /// The node certificate, PEM.
    pub node_cert: String,
    /// The API certificate, PEM, if asked for.
    pub api_cert: Option<String>,
    /// The master key, sealed for the request's key share.
    pub master_key: wrap::WrappedKey,
    /// The members' QUIC addresses, to ask for membership.
    pub members: BTreeMap<NodeId, String>,
}
