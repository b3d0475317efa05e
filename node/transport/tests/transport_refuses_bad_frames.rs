//! Frames over the size limit and frames of another protocol version are refused with fatal
//! errors, on whichever side notices, before any handler sees them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, any_loopback_port, cluster, echo, serving, serving_on};
use cairn_transport::{Handler, Refusal, Request, Response, TransportError, TransportSettings, frame, tls};

const MIB: u32 = 1024 * 1024;

fn counting(calls: Arc<AtomicUsize>, answer_len: usize) -> impl Handler {
    move |request: Request| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move { Response::new(request.kind, vec![7u8; answer_len]) }
    }
}

fn limited(max_frame_len: u32) -> TransportSettings {
    TransportSettings { max_frame_len, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_callers_limit_is_refused_before_it_is_sent() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let client = serving_on(any_loopback_port(), &ids[0], limited(MIB), echo()).await.unwrap();
    let server = serving(&ids[1], counting(calls.clone(), 0)).await;

    let payload = Bytes::from(vec![0u8; MIB as usize + 1]);
    let err = client.request(server.local_addr(), "node-2", 1, payload, PATIENCE).await.unwrap_err();
    assert!(
        matches!(err, TransportError::FrameTooLarge { len, max: MIB } if len == u64::from(MIB) + 1),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(client.open_connections(), 0, "nothing should have been dialled for it");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_peers_limit_is_refused_by_the_peer() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let client = serving(&ids[0], echo()).await;
    let server =
        serving_on(any_loopback_port(), &ids[1], limited(MIB), counting(calls.clone(), 0)).await.unwrap();

    let payload = Bytes::from(vec![0u8; 2 * MIB as usize]);
    let err = client.request(server.local_addr(), "node-2", 1, payload, PATIENCE).await.unwrap_err();
    assert!(matches!(err, TransportError::Refused { reason: Refusal::FrameTooLarge, .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // The refusal ended one stream, not the connection: a request within the limit succeeds.
    client.request(server.local_addr(), "node-2", 1, Bytes::from_static(b"ok"), PATIENCE).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_over_the_callers_limit_is_refused_when_its_header_arrives() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving_on(any_loopback_port(), &ids[0], limited(MIB), echo()).await.unwrap();
    let server = serving(&ids[1], counting(Arc::new(AtomicUsize::new(0)), 2 * MIB as usize)).await;

    let err = client.request(server.local_addr(), "node-2", 1, Bytes::new(), PATIENCE).await.unwrap_err();
    assert!(matches!(err, TransportError::FrameTooLarge { max: MIB, .. }), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_of_another_protocol_version_is_refused() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let server = serving(&ids[1], counting(calls.clone(), 0)).await;

    // A cluster member (right certificate) speaking a future frame version.
    let transport = TransportSettings::default().quinn_transport_config().unwrap();
    let mut endpoint = quinn::Endpoint::client(any_loopback_port()).unwrap();
    endpoint.set_default_client_config(tls::quinn_client_config(&ids[0], transport).unwrap());
    let connection = endpoint.connect(server.local_addr(), "node-2").unwrap().await.unwrap();
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    let mut request = frame::encode(1, b"from the future", frame::DEFAULT_MAX_FRAME_LEN).unwrap();
    request[0] = frame::PROTOCOL_VERSION + 1;
    send.write_all(&request).await.unwrap();
    send.finish().unwrap();

    let read = tokio::time::timeout(PATIENCE, recv.read_to_end(1024)).await.unwrap();
    match read {
        Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(code))) => {
            assert_eq!(Refusal::from_code(code), Refusal::UnsupportedVersion);
        }
        other => panic!("expected the stream to be reset as an unsupported version, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
