//! The node's HTTP side, on `network.api`: the client API under `/v1` (JSON, bearer tokens,
//! stable error codes) and Prometheus metrics at `/metrics`. Every node serves all of it; writes
//! reach the Raft leader through the node's batcher, reads are linearizable.
//!
//! - [`auth`]: the bearer token → [`auth::Caller`].
//! - [`error`]: [`error::ApiError`], and the one mapping from the layers below to status codes.
//! - [`users`]: `/v1/me`, users and tokens.
//! - [`blocks`]: the block-level upload: which blocks are missing, send one, commit.
//! - [`tree`]: stat, list, make folder, delete to trash.
//! - [`content`]: simple upload (`PUT`) and download (`GET`, with `Range` and `ETag`).
//! - [`history`]: version history, restore and pin of versions, the trash, moves.
//! - [`shares`]: sharing with users (viewer, editor), "shared with me".
//! - [`links`]: public share links, with optional password and expiry.
//! - [`tus`]: resumable uploads with the tus 1.0 protocol at `/v1/uploads`.
//! - [`changes`]: the change journal: pages, long polls and server-sent events.
//! - [`metrics`]: the Prometheus page.
//! - [`https`]: serving all of it over TLS with a certificate of the cluster CA.
//! - [`idempotency`]: `Idempotency-Key`, which makes a retried write replay its first answers.
//! - [`upload_limit`]: the size limit of the simple upload.
//!
//! It sits on the metadata service and the block service and knows nothing of shards or of
//! the transport's calls: what it stores goes through the block service's API.

pub mod auth;
pub mod blocks;
pub mod changes;
pub mod content;
pub mod error;
pub mod extract;
pub mod history;
pub mod https;
pub mod idempotency;
pub mod links;
pub mod metrics;
pub mod paths;
pub mod shares;
pub mod tree;
pub mod tus;
pub mod upload_limit;
pub mod users;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cairn_proto::Clock;
use cairn_raft::model::{Answer, Command, Query, Request, RequestId, Response};

use cairn_block_service::BlockService;
use cairn_metadata::{Batcher, MetaService};
use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    meta: MetaService,
    /// Writes go through the node's batcher, like every other proposal of this node.
    batcher: Batcher,
    blocks: BlockService,
    /// The largest body a simple upload takes (`network.api_max_upload_bytes`).
    max_upload_bytes: u64,
    /// The node's time of day: default modification times, expiries of links and uploads.
    clock: Clock,
}

/// The API's limits, from the node's config.
#[derive(Clone, Copy, Debug)]
pub struct ApiLimits {
    /// The largest body a simple upload takes, in bytes.
    pub max_upload_bytes: u64,
}

impl ApiState {
    /// Proposes `command` (through the leader) and returns its response; a refusal of the model
    /// becomes its API error. Its request id comes from the request's `Idempotency-Key` if it
    /// has one (so a retry replays the first answer), else it is random; see [`idempotency`].
    pub(crate) async fn propose(&self, command: Command) -> Result<Response, ApiError> {
        match self.submit(idempotency::request_id(), command).await? {
            Response::Rejected(why) => Err(why.into()),
            other => Ok(other),
        }
    }

    /// Proposes `command` under a fresh request id, whatever the request's `Idempotency-Key`
    /// (one step of a longer exchange, such as a tus upload), and returns the model's answer as
    /// it is, refusals included, for the caller to tell them apart.
    pub(crate) async fn propose_step(&self, command: Command) -> Result<Response, ApiError> {
        self.submit(RequestId(rand::random()), command).await
    }

    /// One proposal through the batcher, which stamps its time.
    async fn submit(&self, id: RequestId, command: Command) -> Result<Response, ApiError> {
        let mut responses = self.batcher.propose(vec![Request { id, time_ms: 0, command }]).await?;
        responses.pop().ok_or_else(|| ApiError::internal("the metadata service answered nothing"))
    }

    /// Answers `query` linearizably.
    pub(crate) async fn query(&self, query: Query) -> Result<Answer, ApiError> {
        Ok(self.meta.query(&query).await?)
    }
}

/// The routes a node serves over HTTP, telling the time by `clock`.
pub fn router(
    meta: MetaService,
    batcher: Batcher,
    blocks: BlockService,
    limits: ApiLimits,
    clock: Clock,
) -> Router {
    let v1 = Router::new()
        .route("/me", get(users::me))
        .route("/users", post(users::create))
        .route("/users/{name}/tokens", post(users::add_token))
        .route("/tree", get(tree::get_root))
        .route("/tree/{*path}", get(tree::get_path).delete(tree::delete))
        .route("/folders/{*path}", post(tree::make_folder))
        .route("/content/{*path}", get(content::download).put(content::upload))
        .merge(blocks::routes())
        .merge(shares::routes())
        .merge(links::routes())
        .merge(history::routes())
        .merge(tus::routes())
        .merge(changes::routes())
        .layer(axum::middleware::from_fn(idempotency::scope));
    Router::new()
        .nest("/v1", v1)
        .route("/metrics", get(metrics_page))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(ApiState { meta, batcher, blocks, max_upload_bytes: limits.max_upload_bytes, clock })
}

async fn metrics_page(State(state): State<ApiState>) -> impl IntoResponse {
    let body = metrics::render(&state.meta, &state.blocks).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Binds `addr` and serves `router` over plain HTTP until the task is dropped ([`https::serve`]
/// serves it over TLS).
pub async fn serve(addr: SocketAddr, router: Router) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(%addr, "HTTP server stopped: {e}");
        }
    }))
}
