//! One connection, served by hyper (HTTP/1.1, or HTTP/2 where TLS negotiated it) under its
//! watchdog: every request reaches the router with the client's address as axum's
//! [`ConnectInfo`], its body under the body idle timeout, its response counted in flight
//! until sent.

use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

use super::ConnectionLimits;
use super::activity::Activity;
use super::body::{IdleBody, TrackedBody};
use super::cap::ConnectionPermit;
use super::io::{Resettable, WatchedIo};
use super::stats;

/// Serves `stream` from `peer` until it closes or a timeout closes it; `permit` holds its
/// place under the connection caps until then.
pub(crate) async fn serve<S>(
    stream: S,
    peer: SocketAddr,
    http2: bool,
    router: Router,
    limits: Arc<ConnectionLimits>,
    permit: ConnectionPermit,
) where
    S: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    let _permit = permit;
    let activity = Activity::new(http2);
    let io = TokioIo::new(WatchedIo::new(stream, activity.clone()));
    let body_idle = limits.body_idle_timeout;
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let in_flight = activity.request();
            request.extensions_mut().insert(ConnectInfo(peer));
            let request = request.map(|body| Body::new(IdleBody::new(body, body_idle)));
            let mut router = router.clone();
            let activity = activity.clone();
            async move {
                // A Router is always ready, so it is called without polling readiness first,
                // as axum's own server does.
                let response = router.call(request).await?;
                Ok::<_, Infallible>(
                    response.map(|body| Body::new(TrackedBody::new(body, activity, in_flight))),
                )
            }
        })
    };
    if http2 {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder.timer(TokioTimer::new()).max_concurrent_streams(limits.http2_max_streams);
        let connection = builder.serve_connection(io, service);
        watched(connection, &activity, &limits, peer, |c| c.graceful_shutdown()).await;
    } else {
        let mut builder = http1::Builder::new();
        // hyper's header timer also runs while a kept-alive connection idles; the watchdog
        // measures both instead (see `activity`), so hyper's is off, not left at its default.
        builder.timer(TokioTimer::new()).header_read_timeout(None);
        let connection = builder.serve_connection(io, service);
        watched(connection, &activity, &limits, peer, |c| c.graceful_shutdown()).await;
    }
}

/// Drives `connection` until it ends or its watchdog gives up on it: an idle one is told to
/// close and given the header timeout to do so, any other is dropped (and its socket reset).
async fn watched<C, E>(
    connection: C,
    activity: &Activity,
    limits: &ConnectionLimits,
    peer: SocketAddr,
    shutdown: impl FnOnce(Pin<&mut C>),
) where
    C: Future<Output = Result<(), E>>,
    E: Display,
{
    tokio::pin!(connection);
    let verdict = tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                // A client that goes away mid-request, or sends garbage: its problem.
                tracing::debug!(%peer, "API connection ended: {e}");
            }
            return;
        }
        verdict = activity.watch(limits.timeouts()) => verdict,
    };
    stats::timed_out(verdict);
    tracing::debug!(%peer, "closing an API connection: {verdict}");
    if verdict.graceful() {
        shutdown(connection.as_mut());
        if tokio::time::timeout(limits.header_timeout, connection).await.is_ok() {
            return;
        }
    }
    // Dropping the connection on return closes the socket, as a reset (see `io`).
    activity.give_up();
}
