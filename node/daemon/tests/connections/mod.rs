//! Helpers of the connection tests: raw TCP and TLS connections from a chosen loopback address
//! (Linux routes all of 127.0.0.0/8 to loopback, so each is another client address to the
//! node), a plain HTTPS client, the node's counters, and a higher open-file limit for the test
//! process, which holds thousands of sockets.

#![allow(dead_code)] // Each test file uses some of these.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use cairn_test_cluster::{PATIENCE, ProcessCluster};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Raises this process's soft open-file limit to its hard one, and checks it holds `needed`.
pub fn raise_open_files(needed: u64) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    assert!(limit >= needed, "the test needs {needed} open files, and may open only {limit}");
}

/// `127.0.0.<last>`.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A TCP connection to `addr` from address `from`.
pub async fn tcp_from(from: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(addr).await
}

/// A client TLS configuration trusting the cluster's CA, offering `alpn`.
pub fn tls_config(cluster: &ProcessCluster, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let ca = std::fs::read(cluster.path().join("secrets/ca.crt")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(&ca).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS connection to `addr` from `from`, its handshake done.
pub async fn tls_from(
    config: &Arc<rustls::ClientConfig>,
    from: IpAddr,
    addr: SocketAddr,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = tcp_from(from, addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    TlsConnector::from(config.clone()).connect(name, tcp).await
}

/// Reads until the peer closes (end of stream, or an error such as a reset) and returns what
/// came; panics if it stays open for [`PATIENCE`].
pub async fn until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the node kept a connection open for {PATIENCE:?}"),
        }
    }
}

/// Sends a `GET path` over `stream` (kept alive), and reads the response head and a
/// `Content-Length` body: the status and the body.
pub async fn get_over<S: AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    path: &str,
    token: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: cairn\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while got.len() < head_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok((status, got[head_end..head_end + length].to_vec()))
}

/// The node's counter `name` from `/metrics`, fetched over HTTPS from `from`.
pub async fn metric(config: &Arc<rustls::ClientConfig>, from: IpAddr, addr: SocketAddr, name: &str) -> u64 {
    let mut stream = tls_from(config, from, addr).await.unwrap();
    let (status, body) = get_over(&mut stream, "/metrics", "none").await.unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// A plain HTTPS client trusting the cluster's CA (HTTP/1.1, no retries).
pub fn https_client(cluster: &ProcessCluster) -> reqwest::Client {
    let config = Arc::into_inner(tls_config(cluster, &[])).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
