//! The API's accept loop: admits each connection under the caps, and hands it, after its TLS
//! handshake if any, to a task of its own. Nothing a client does blocks the loop: handshakes
//! run in their own tasks, and only a full set of them (see [`crate::https`]) holds the next
//! connection in the kernel's backlog for at most the header timeout.
//!
//! A connection over a cap is accepted and closed at once, without a word. A `503` would need
//! a TLS handshake first, the very work the cap is there to refuse to a flood; closing costs
//! nothing, and a client (the SDK, a browser) takes a closed connection as a node to retry
//! later or elsewhere. The counters on `/metrics` tell an operator it happens, and a warning
//! in the log says so at most once a minute.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;

use super::cap::{ConnectionCap, Refusal};
use super::{ConnectionLimits, connection, stats};
use crate::https::Handshakes;

/// How often the log may say that connections are being turned away.
const REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Binds `addr` and serves `router` on it under `limits`, over TLS with `tls` if given (where
/// clients may negotiate HTTP/2), else over plain HTTP/1.1, until the task is dropped.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<tokio::task::JoinHandle<()>> {
    let tcp = TcpListener::bind(addr).await?;
    let handshakes = tls.map(|config| Handshakes::new(config, limits.header_timeout));
    Ok(tokio::spawn(accept_loop(tcp, router, Arc::new(limits), handshakes)))
}

async fn accept_loop(
    tcp: TcpListener,
    router: Router,
    limits: Arc<ConnectionLimits>,
    handshakes: Option<Handshakes>,
) {
    let cap = ConnectionCap::new(limits.max_connections, limits.max_connections_per_address);
    let mut last_warning: Option<Instant> = None;
    loop {
        let slot = match &handshakes {
            Some(handshakes) => Some(handshakes.slot().await),
            None => None,
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                wait_after_accept_error(e).await;
                continue;
            }
        };
        let permit = match cap.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(why) => {
                match why {
                    Refusal::Node => stats::refused_by_node(),
                    Refusal::Address => stats::refused_by_address(),
                }
                if last_warning.is_none_or(|at| at.elapsed() >= REFUSAL_WARNING_EVERY) {
                    last_warning = Some(Instant::now());
                    warn_refused(why, peer, &limits, cap.open());
                }
                // Dropping the stream closes it.
                continue;
            }
        };
        // Small JSON answers should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let (router, limits) = (router.clone(), limits.clone());
        match (&handshakes, slot) {
            (Some(handshakes), Some(slot)) => {
                let handshakes = handshakes.clone();
                tokio::spawn(async move {
                    if let Some((stream, http2)) = handshakes.run(slot, stream, peer).await {
                        connection::serve(stream, peer, http2, router, limits, permit).await;
                    }
                });
            }
            _ => {
                tokio::spawn(connection::serve(stream, peer, false, router, limits, permit));
            }
        }
    }
}

fn warn_refused(why: Refusal, peer: SocketAddr, limits: &ConnectionLimits, open: usize) {
    match why {
        Refusal::Node => tracing::warn!(
            %peer,
            open,
            "turning API connections away: the node holds network.max_connections = {} \
             (counted on /metrics; said at most once a minute)",
            limits.max_connections
        ),
        Refusal::Address => tracing::warn!(
            %peer,
            "turning API connections away: {} holds network.max_connections_per_address = {} \
             (counted on /metrics; said at most once a minute)",
            peer.ip(),
            limits.max_connections_per_address
        ),
    }
}

/// What axum does for its own listener: errors of one connection are ignored; anything else
/// (out of file descriptors, say) is logged and waited out for a second.
async fn wait_after_accept_error(e: io::Error) {
    use io::ErrorKind as K;
    if matches!(e.kind(), K::ConnectionRefused | K::ConnectionAborted | K::ConnectionReset) {
        return;
    }
    tracing::error!("accept an API connection: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
