//! The node's HTTP side, on `network.api`: for now the Prometheus metrics; the client API
//! (`/v1`) joins it here.

pub mod metrics;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::block_service::BlockService;
use crate::service::MetaService;

#[derive(Clone)]
struct Node {
    meta: MetaService,
    blocks: BlockService,
}

/// The routes a node serves over HTTP.
pub fn router(meta: MetaService, blocks: BlockService) -> Router {
    Router::new().route("/metrics", get(metrics_page)).with_state(Node { meta, blocks })
}

async fn metrics_page(State(node): State<Node>) -> impl IntoResponse {
    let body = metrics::render(&node.meta, &node.blocks).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Binds `addr` and serves `router` until the task is dropped.
pub async fn serve(addr: SocketAddr, router: Router) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(%addr, "HTTP server stopped: {e}");
        }
    }))
}
