//! Two nodes with certificates from one cluster CA exchange requests both ways over QUIC, and
//! each side knows the other by the node name in its certificate, not by its address.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, cluster, serving};
use cairn_transport::{Request, Response, TransportError};

/// Answers with "<caller's node name>:<request payload>".
async fn who_called(request: Request) -> Response {
    let mut answer = format!("{}:", request.peer).into_bytes();
    answer.extend_from_slice(&request.payload);
    Response::new(request.kind, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_flow_both_ways_and_carry_the_callers_certificate_name() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let one = serving(&ids[0], who_called).await;
    let two = serving(&ids[1], who_called).await;

    let (kind, payload) =
        one.request(two.local_addr(), "node-2", 7, Bytes::from_static(b"ping"), PATIENCE).await.unwrap();
    assert_eq!((kind, payload.as_slice()), (7, &b"node-1:ping"[..]));

    let (kind, payload) =
        two.request(one.local_addr(), "node-1", 9, Bytes::from_static(b"pong"), PATIENCE).await.unwrap();
    assert_eq!((kind, payload.as_slice()), (9, &b"node-2:pong"[..]));

    // An empty payload is a valid request too.
    let (_, payload) = one.request(two.local_addr(), "node-2", 0, Bytes::new(), PATIENCE).await.unwrap();
    assert_eq!(payload, b"node-1:");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_is_refused_when_its_certificate_is_for_another_name() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let one = serving(&ids[0], who_called).await;
    let two = serving(&ids[1], who_called).await;

    // node-2 answers at this address, but the caller expects node-3 there: the address alone
    // proves nothing, so the handshake fails.
    let err =
        one.request(two.local_addr(), "node-3", 1, Bytes::from_static(b"x"), PATIENCE).await.unwrap_err();
    assert!(matches!(err, TransportError::NotAuthenticated { .. }), "{err}");
    assert!(!err.is_retryable());

    // The right name still works afterwards, on the same address.
    one.request(two.local_addr(), "node-2", 1, Bytes::from_static(b"x"), PATIENCE).await.unwrap();
}
