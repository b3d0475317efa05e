//! The member's side of a join: `POST /v1/cluster/join` on its API.
//!
//! It needs no account: the token is the permission. It checks the request, signs the
//! certificates, and only then uses the token up (a Raft write, so it works once cluster-wide);
//! nothing is handed out unless that write succeeded. A node without the CA key answers so,
//! naming what to do, rather than signing nothing silently.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use cairn_api::error::ApiError;
use cairn_api::extract::Json as ApiJson;
use cairn_metadata::{Batcher, MetaService};
use cairn_proto::api::ErrorCode;
use cairn_raft::model::{Command, RequestId, Response};
use cairn_transport::node_name;

use super::token::hash_of_secret;
use super::{JOIN_PATH, JoinAnswer, JoinRequest, wrap};
use crate::api_names::{self, ApiName};
use crate::secrets::SecretsDir;

/// What the route needs.
#[derive(Clone)]
struct Signer {
    /// This node's id, for messages.
    id: u64,
    secrets: Arc<PathBuf>,
    meta: MetaService,
    batcher: Batcher,
}

/// The join route, for the node's API router.
pub fn routes(id: u64, secrets_dir: PathBuf, meta: MetaService, batcher: Batcher) -> Router {
    let signer = Signer { id, secrets: Arc::new(secrets_dir), meta, batcher };
    Router::new().route(JOIN_PATH, post(join)).with_state(signer)
}

/// `POST /v1/cluster/join`.
async fn join(
    State(signer): State<Signer>,
    ApiJson(request): ApiJson<JoinRequest>,
) -> Result<Json<JoinAnswer>, ApiError> {
    let secrets = SecretsDir::new(signer.secrets.as_path());
    if !secrets.has_ca_key() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!(
                "node {} does not hold the cluster CA key, so it cannot sign: join through a node \
                 that does (the first node, or one given ca.key as the README describes)",
                signer.id
            ),
        ));
    }
    let checked = check(&request)?;
    let ca = secrets.ca().map_err(|e| ApiError::internal(e.to_string()))?;
    let name = node_name(request.node);
    let node_cert = ca
        .sign_node_request(&name, &request.node_request)
        .map_err(|e| ApiError::bad_request(format!("node_request: {e}")))?;
    let api_cert = match &request.api_request {
        Some(pem) => Some(
            api_names::sign_request(&ca, &name, checked.api, &checked.extra_names, pem)
                .map_err(|e| ApiError::bad_request(format!("api_request: {e}")))?,
        ),
        None => None,
    };
    let master = secrets.master_key().map_err(|e| ApiError::internal(e.to_string()))?;
    let master_key = wrap::wrap(master.as_bytes(), &request.key_share)
        .map_err(|e| ApiError::bad_request(format!("key_share: {e}")))?;
    let status = signer.meta.status();
    let members: Vec<u64> = status.members.keys().copied().collect();
    let consume = Command::ConsumeJoinToken {
        token_hash: hash_of_secret(&request.secret),
        node: request.node,
        members,
    };
    let role = match signer.batcher.propose_one(RequestId(rand::random()), consume).await? {
        Response::JoinTokenAccepted { role } => role,
        other => {
            other.into_result()?;
            return Err(ApiError::internal("the join token's use was answered oddly"));
        }
    };
    tracing::info!(node = request.node, %role, quic = %request.quic_addr, "signed a joining node's certificates");
    Ok(Json(JoinAnswer {
        role,
        ca_cert: ca.cert_pem().to_owned(),
        node_cert,
        api_cert,
        master_key,
        members: status.members.iter().map(|(id, addr)| (*id, addr.raft_addr.clone())).collect(),
    }))
}

/// The request's parts, checked.
struct Checked {
    /// Where the node serves its API.
    api: SocketAddr,
    /// The further names its API certificate must carry.
    extra_names: Vec<ApiName>,
}

fn check(request: &JoinRequest) -> Result<Checked, ApiError> {
    if request.node == 0 {
        return Err(ApiError::bad_request("node: 0 is not a node id; ids start at 1"));
    }
    request
        .quic_addr
        .parse::<SocketAddr>()
        .map_err(|e| ApiError::bad_request(format!("quic_addr {:?}: {e}", request.quic_addr)))?;
    let api: SocketAddr = request
        .api_addr
        .parse()
        .map_err(|e| ApiError::bad_request(format!("api_addr {:?}: {e}", request.api_addr)))?;
    let mut extra = Vec::new();
    for name in &request.api_names {
        extra.push(ApiName::parse(name).map_err(|e| ApiError::bad_request(format!("api_names: {e}")))?);
    }
    Ok(Checked { api, extra_names: extra })
}
