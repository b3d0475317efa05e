//! A request that outlives its deadline fails with a retryable timeout, and the peer's handler
//! for it is cancelled instead of running on for nobody.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, cluster, echo, serving};
use cairn_transport::{Request, Response, TransportError};
use tokio::sync::mpsc;

/// Tells the test, by being dropped, that the handler holding it is gone.
struct DroppedSignal(mpsc::UnboundedSender<()>);

impl Drop for DroppedSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_the_deadline_gives_a_retryable_timeout_and_is_cancelled() {
    let (started_tx, mut started_rx) = mpsc::unbounded_channel();
    let (dropped_tx, mut dropped_rx) = mpsc::unbounded_channel();
    // Kind 0 is answered at once; any other kind never is.
    let slow = move |request: Request| {
        let started = started_tx.clone();
        let signal = DroppedSignal(dropped_tx.clone());
        async move {
            if request.kind != 0 {
                let _signal = signal;
                started.send(()).unwrap();
                std::future::pending::<()>().await;
            }
            Response::new(0, Bytes::new())
        }
    };
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving(&ids[0], echo()).await;
    let server = serving(&ids[1], slow).await;
    // Dial first, so the deadline below is spent in the handler, not the handshake.
    client.request(server.local_addr(), "node-2", 0, Bytes::new(), PATIENCE).await.unwrap();
    // The quick handler dropped its signal too; take that one out of the way.
    tokio::time::timeout(PATIENCE, dropped_rx.recv()).await.unwrap().unwrap();

    let deadline = Duration::from_millis(300);
    let began = Instant::now();
    let err = client
        .request(server.local_addr(), "node-2", 1, Bytes::from_static(b"slow"), deadline)
        .await
        .unwrap_err();
    let took = began.elapsed();

    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    assert!(err.is_retryable(), "a timeout must be retryable: {err}");
    assert!(took >= deadline, "gave up after {took:?}, before the {deadline:?} deadline");
    assert!(took < deadline + Duration::from_secs(5), "the deadline was not enforced: took {took:?}");

    tokio::time::timeout(PATIENCE, started_rx.recv()).await.unwrap().unwrap();
    tokio::time::timeout(PATIENCE, dropped_rx.recv())
        .await
        .expect("the handler was not cancelled after the caller gave up")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_an_address_nobody_answers_times_out() {
    let (_ca, ids) = cluster(&["node-1"]);
    let client = serving(&ids[0], echo()).await;
    // A bound UDP socket that never answers: the handshake cannot complete.
    let silent = std::net::UdpSocket::bind(cairn_transport::testkit::any_loopback_port()).unwrap();
    let deadline = Duration::from_millis(300);
    let err =
        client.request(silent.local_addr().unwrap(), "node-2", 0, Bytes::new(), deadline).await.unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    assert!(err.is_retryable());
}
