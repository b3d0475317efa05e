//! When a peer goes away and comes back on the same address, the next request redials it
//! instead of failing on the dead cached connection; while it is away, requests fail with a
//! retryable error within their deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, cluster, echo, serving, serving_on};
use cairn_transport::{NodeIdentity, Request, Response, Transport, TransportError, TransportSettings};

/// Starts a transport for `identity` on `addr` answering with `generation`, retrying while the
/// previous transport's socket is still being released.
async fn restart_on(addr: SocketAddr, identity: &NodeIdentity, generation: u8) -> Arc<Transport> {
    let started = Instant::now();
    loop {
        let handler = move |request: Request| async move { Response::new(generation, request.payload) };
        match serving_on(addr, identity, TransportSettings::default(), handler).await {
            Ok(transport) => return transport,
            Err(TransportError::Bind { .. }) if started.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("restart on {addr}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_request_after_a_peer_restarts_redials_and_succeeds() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving(&ids[0], echo()).await;
    let server = restart_on(cairn_transport::testkit::any_loopback_port(), &ids[1], 1).await;
    let addr = server.local_addr();

    let (generation, _) =
        client.request(addr, "node-2", 0, Bytes::from_static(b"a"), PATIENCE).await.unwrap();
    assert_eq!(generation, 1);

    server.shutdown().await;
    drop(server);
    let server = restart_on(addr, &ids[1], 2).await;

    let (generation, payload) =
        client.request(addr, "node-2", 0, Bytes::from_static(b"b"), PATIENCE).await.unwrap();
    assert_eq!((generation, payload.as_slice()), (2, &b"b"[..]), "answered by the restarted peer");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_a_peer_that_is_down_fails_retryably_within_its_deadline() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving(&ids[0], echo()).await;
    let server = serving(&ids[1], echo()).await;
    let addr = server.local_addr();
    client.request(addr, "node-2", 0, Bytes::from_static(b"a"), PATIENCE).await.unwrap();

    server.shutdown().await;
    drop(server);

    let deadline = Duration::from_millis(500);
    let started = Instant::now();
    let err = client.request(addr, "node-2", 0, Bytes::from_static(b"b"), deadline).await.unwrap_err();
    assert!(err.is_retryable(), "a peer that is down may come back: {err}");
    assert!(started.elapsed() < deadline + Duration::from_secs(5), "the deadline was not kept: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shut_down_transport_refuses_new_requests_as_fatal() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving(&ids[0], echo()).await;
    let server = serving(&ids[1], echo()).await;
    client.shutdown().await;
    let err = client.request(server.local_addr(), "node-2", 0, Bytes::new(), PATIENCE).await.unwrap_err();
    assert!(matches!(err, TransportError::ShutDown), "{err}");
    assert!(!err.is_retryable());
}
