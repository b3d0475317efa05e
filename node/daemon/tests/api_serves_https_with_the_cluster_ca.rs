//! The API over HTTPS, as every node serves it unless configured otherwise: a client that
//! trusts the cluster CA (`ca.crt`) gets its answers from every node, by address or by
//! `localhost`, over TLS 1.3 and 1.2, metrics included; a client trusting another CA, or asking
//! for a name the certificate does not carry, fails the handshake; plain HTTP to the port gets
//! no HTTP answer; and none of that — nor a client that connects and says nothing — stops the
//! node serving the next client. Node 1's API certificate comes from `init`, node 2's the node
//! issues itself at start (its secrets folder holds `ca.key`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use cairn_test_cluster::http::{Reply, request_over};
use cairn_test_cluster::{PATIENCE, ProcessCluster, Settings};
use cairn_transport::ClusterCa;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A client configuration trusting only `ca_pem`, speaking the given TLS versions.
fn client(ca_pem: &str, versions: &[&'static rustls::SupportedProtocolVersion]) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Connects to `addr` as `name` and completes the handshake, or says why it failed.
fn connect(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str) -> Result<TlsStream, std::io::Error> {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut tls = ClientConnection::new(config.clone(), name).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp)?;
    }
    Ok(StreamOwned::new(tls, tcp))
}

/// `GET path` over HTTPS, as `token` when given.
fn get(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str, path: &str, token: Option<&str>) -> Reply {
    let stream = connect(addr, config, name).unwrap();
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request_over(stream, name, "GET", path, &headers, b"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_https_to_clients_that_trust_the_cluster_ca_only() {
    let cluster = ProcessCluster::start(2, Settings { api_tls: true, ..Default::default() }).await;
    let token = cluster.add_user("root", true);
    let ca_pem = std::fs::read_to_string(cluster.path().join("secrets/ca.crt")).unwrap();
    let trusting = client(&ca_pem, &[&rustls::version::TLS13]);
    let addrs: Vec<SocketAddr> = cluster.nodes.values().map(|n| n.api).collect();
    for id in [1, 2] {
        assert!(cluster.path().join(format!("secrets/node-{id}-api.crt")).exists());
    }

    // Every node, by address and by localhost; TLS 1.2 too.
    for addr in &addrs {
        let me = get(*addr, &trusting, "127.0.0.1", "/v1/me", Some(&token));
        assert_eq!((me.status, me.json()["name"].as_str()), (200, Some("root")), "{addr}");
    }
    let me = get(addrs[1], &trusting, "localhost", "/v1/me", Some(&token));
    assert_eq!(me.status, 200);
    let tls12 = client(&ca_pem, &[&rustls::version::TLS12]);
    let me = get(addrs[0], &tls12, "127.0.0.1", "/v1/me", Some(&token));
    assert_eq!(me.status, 200);
    let r = get(addrs[0], &trusting, "127.0.0.1", "/v1/me", None);
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    // The metrics share the listener.
    let metrics = get(addrs[1], &trusting, "127.0.0.1", "/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(String::from_utf8_lossy(&metrics.body).contains("cairn_"));

    // A connection that never says anything holds no one else up.
    let silent = TcpStream::connect(addrs[0]).unwrap();

    // A client trusting another CA refuses the node's certificate.
    let stranger_ca = ClusterCa::generate("stranger").unwrap();
    let stranger = client(stranger_ca.cert_pem(), &[&rustls::version::TLS13, &rustls::version::TLS12]);
    let error = connect(addrs[0], &stranger, "127.0.0.1").expect_err("a handshake trusting another CA");
    assert!(error.to_string().contains("invalid peer certificate"), "{error}");
    // A name the certificate does not carry is refused too.
    let error = connect(addrs[0], &trusting, "drive.example.org").expect_err("a handshake for another name");
    assert!(error.to_string().contains("invalid peer certificate"), "{error}");

    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let mut plain = TcpStream::connect(addrs[0]).unwrap();
    plain.set_read_timeout(Some(PATIENCE)).unwrap();
    plain
        .write_all(
            format!("GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer); // A reset is as good an answer as an alert.
    assert!(!answer.starts_with(b"HTTP/"), "{}", String::from_utf8_lossy(&answer));

    // The node keeps serving after all of it, the silent connection still open.
    for _ in 0..3 {
        let me = get(addrs[0], &trusting, "127.0.0.1", "/v1/me", Some(&token));
        assert_eq!(me.status, 200);
    }
    drop(silent);
}
