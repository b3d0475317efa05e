//! The node's HTTP side, on `network.api`: the client API under `/v1` (JSON, bearer tokens,
//! stable error codes) and Prometheus metrics at `/metrics`. Every node serves all of it; writes
//! reach the Raft leader through the node's batcher, reads are linearizable.
//!
//! - [`state`]: [`ApiState`], what every handler reaches, and how the API proposes a write.
//! - [`auth`]: the bearer token → [`auth::Caller`].
//! - [`error`]: [`error::ApiError`], and the one mapping from the layers below to status codes.
//! - [`users`]: `/v1/me` and users: create, disable, enable, passwords.
//! - [`tokens`]: a user's API tokens and sessions: list, make, revoke.
//! - [`sessions`]: password sign-in and sign-out.
//! - [`password`]: argon2id on a bounded pool, and limits on attempts.
//! - [`blocks`]: the block-level upload: which blocks are missing, send one, commit.
//! - [`tree`]: stat, list, make folder, delete to trash.
//! - [`content`]: simple upload (`PUT`) and download (`GET`, with `Range` and `ETag`).
//! - [`batch`]: many files in one request and one Raft entry (`POST /v1/batch`).
//! - [`range`]: the `Range` header, parsed with checked arithmetic.
//! - [`history`]: version history, restore and pin of versions, the trash, moves.
//! - [`shares`]: sharing with users (viewer, editor), "shared with me".
//! - [`links`]: public share links, with optional password and expiry.
//! - [`tus`]: resumable uploads with the tus 1.0 protocol at `/v1/uploads`.
//! - [`changes`]: the change journal: pages, long polls and server-sent events.
//! - [`metrics`]: the Prometheus page.
//! - [`openapi`]: the OpenAPI 3.1 description of all of it, at `/v1/openapi.json`.
//! - [`https`]: serving all of it over TLS with a certificate of the cluster CA.
//! - [`server`]: the connections: caps per node and per address, timeouts, HTTP/2.
//! - [`watch_limit`]: caps on long polls and event streams, per user and per node.
//! - [`inflight`]: the memory held for requests' bytes, counted before it is held.
//! - [`idempotency`]: `Idempotency-Key`, which makes a retried write replay its first answers.
//! - [`read_fence`]: one read barrier per request, the request's other reads local after it.
//! - [`upload_limit`]: the size limit of the simple upload.
//!
//! It sits on the metadata service and the block service and knows nothing of shards or of
//! the transport's calls: what it stores goes through the block service's API.

pub mod auth;
pub mod batch;
pub mod blocks;
pub mod changes;
pub mod content;
pub mod disk_room;
pub mod error;
pub mod extract;
pub mod history;
pub mod https;
pub mod idempotency;
pub mod inflight;
pub mod links;
pub mod metrics;
pub mod openapi;
pub mod password;
pub mod paths;
pub mod range;
pub mod read_fence;
pub mod server;
pub mod sessions;
pub mod shares;
pub mod state;
pub mod tokens;
pub mod tree;
pub mod tus;
pub mod upload_limit;
pub mod users;
pub mod watch_limit;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cairn_block_service::BlockService;
use cairn_metadata::{Batcher, MetaService};
use cairn_proto::Clock;
use error::ApiError;
pub use state::ApiState;

/// The API's limits, from the node's config.
#[derive(Clone, Debug)]
pub struct ApiLimits {
    /// The largest body a simple upload takes, in bytes.
    pub max_upload_bytes: u64,
    /// How long password sign-ins last.
    pub sessions: state::SessionLimits,
    /// Long polls and event streams open at once, per user.
    pub max_watches_per_user: usize,
    /// Long polls and event streams open at once on the node.
    pub max_watches: usize,
    /// The free disk that writes growing the drive leave alone.
    pub disk_room: disk_room::DiskRoom,
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
        .route("/openapi.json", get(openapi::document))
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(sessions::routes())
        .route("/tree", get(tree::get_root))
        .route("/tree/{*path}", get(tree::get_path).delete(tree::delete))
        .route("/folders/{*path}", post(tree::make_folder))
        .route("/content/{*path}", get(content::download).put(content::upload))
        .route("/batch", post(batch::upload))
        .merge(blocks::routes())
        .merge(shares::routes())
        .merge(links::routes())
        .merge(history::routes())
        .merge(tus::routes())
        .merge(changes::routes())
        .layer(axum::middleware::from_fn(idempotency::scope))
        .layer(axum::middleware::from_fn(read_fence::scope));
    Router::new()
        .nest("/v1", v1)
        .route("/metrics", get(metrics_page))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(ApiState {
            inflight: inflight::Inflight::new(blocks.config().max_inflight_bytes),
            meta,
            batcher,
            blocks,
            max_upload_bytes: limits.max_upload_bytes,
            sessions: limits.sessions,
            clock,
            watches: watch_limit::WatchLimits::new(limits.max_watches_per_user, limits.max_watches),
            disk_room: std::sync::Arc::new(limits.disk_room),
        })
}

async fn metrics_page(State(state): State<ApiState>) -> impl IntoResponse {
    let body = metrics::render(&state.meta, &state.blocks).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
