//! Only nodes holding a certificate from the cluster CA get a request through: a node of
//! another cluster, a client certificate from another CA, and a client with no certificate
//! are all refused during the handshake, before any handler runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, any_loopback_port, cluster, serving};
use cairn_transport::{Handler, NodeIdentity, Request, Response, TransportError, frame, tls, trust};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A handler that counts its calls.
fn counting(calls: Arc<AtomicUsize>) -> impl Handler {
    move |request: Request| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move { Response::new(request.kind, request.payload) }
    }
}

/// Dials `server` as "node-2" with a hand-built rustls client configuration and sends one
/// request; returns the response payload, or the connection error that ended the attempt.
///
/// In TLS 1.3 the client sends its certificate after the server's handshake is done, so the
/// client may think it is connected before the server has judged it: the refusal can surface
/// at any step, and each step's error is unwrapped to the connection error underneath.
async fn raw_request(
    server: SocketAddr,
    crypto: rustls::ClientConfig,
) -> Result<Vec<u8>, quinn::ConnectionError> {
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(crypto).unwrap();
    let mut endpoint = quinn::Endpoint::client(any_loopback_port()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let attempt = async {
        let connection = endpoint.connect(server, "node-2").unwrap().await?;
        let (mut send, mut recv) = connection.open_bi().await?;
        let request = frame::encode(1, b"let me in", frame::DEFAULT_MAX_FRAME_LEN).unwrap();
        match send.write_all(&request).await {
            Ok(()) => {}
            Err(quinn::WriteError::ConnectionLost(e)) => return Err(e),
            Err(e) => panic!("unexpected write error: {e}"),
        }
        let _ = send.finish();
        match recv.read_to_end(1024).await {
            Ok(answer) => Ok(answer),
            Err(quinn::ReadToEndError::Read(quinn::ReadError::ConnectionLost(e))) => Err(e),
            Err(e) => panic!("unexpected read error: {e}"),
        }
    };
    tokio::time::timeout(PATIENCE, attempt).await.expect("the refusal should come within the handshake")
}

/// Asserts that the server's TLS stack refused the connection: QUIC carries a TLS alert as a
/// transport error code from 0x100 to 0x1ff.
fn assert_refused_by_tls(error: &quinn::ConnectionError) {
    match error {
        quinn::ConnectionError::ConnectionClosed(close) => {
            let code = u64::from(close.error_code);
            assert!((0x100..0x200).contains(&code), "closed, but not by TLS: {error}");
        }
        other => panic!("expected the server's TLS to refuse the connection, got: {other}"),
    }
}

/// A TLS 1.3 client configuration trusting `ca` and carrying the ALPN nodes speak.
fn trusting(
    ca: &CertificateDer<'static>,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    rustls::ClientConfig::builder_with_provider(trust::crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
}

fn with_alpn(mut config: rustls::ClientConfig) -> rustls::ClientConfig {
    config.alpn_protocols = vec![tls::ALPN.to_vec()];
    config
}

fn key_of(identity: &NodeIdentity) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(identity.key_der().clone_key())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_cluster_is_refused() {
    let (_ours, ours) = cluster(&["node-1", "node-2"]);
    let (_theirs, theirs) = cluster(&["node-1"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let server = serving(&ours[1], counting(calls.clone())).await;
    let stranger = serving(&theirs[0], counting(Arc::new(AtomicUsize::new(0)))).await;

    let err = stranger
        .request(server.local_addr(), "node-2", 1, Bytes::from_static(b"hello"), PATIENCE)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::NotAuthenticated { .. }), "{err}");
    assert!(!err.is_retryable(), "an authentication failure must not be retried: {err}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler ran for a stranger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_another_ca_is_refused_by_the_server() {
    let (_ours, ours) = cluster(&["node-2"]);
    let (_theirs, theirs) = cluster(&["node-1"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let server = serving(&ours[0], counting(calls.clone())).await;

    // The stranger trusts our CA, so it accepts our server; only the server's check of the
    // client certificate stands between it and the handler. Both CAs carry the same subject
    // name, as a forger's would: the server must check the signature, not just the name.
    let crypto = trusting(ours[0].ca_cert_der())
        .with_client_auth_cert(vec![theirs[0].cert_der().clone()], key_of(&theirs[0]))
        .unwrap();
    let err = raw_request(server.local_addr(), with_alpn(crypto)).await.unwrap_err();
    assert_refused_by_tls(&err);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler ran for a foreign certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_cannot_connect() {
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let server = serving(&ids[1], counting(calls.clone())).await;

    let crypto = trusting(ids[1].ca_cert_der()).with_no_client_auth();
    let err = raw_request(server.local_addr(), with_alpn(crypto)).await.unwrap_err();
    assert_refused_by_tls(&err);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler ran for an anonymous client");

    // The refusals did not hurt the server: a cluster member still gets through.
    let member = serving(&ids[0], counting(Arc::new(AtomicUsize::new(0)))).await;
    member.request(server.local_addr(), "node-2", 1, Bytes::from_static(b"hi"), PATIENCE).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
