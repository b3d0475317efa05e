//! HTTPS for the node's API: TLS 1.3 or 1.2 with a server certificate the cluster CA issued
//! (made and checked by `daemon::api_cert`), in front of the same axum router that plain HTTP
//! serves. Clients trust the cluster CA (`ca.crt`), which the operator hands them.
//!
//! Handshakes run in tasks of their own, each under a deadline and with a cap on how many run
//! at once, so a slow or broken client (a scanner, plain HTTP sent to the port, a client that
//! does not trust the CA) costs one task and a debug line, and never stalls or stops the
//! listener. Only finished TLS connections reach axum, through the [`Listener`] made here;
//! axum then serves them exactly as it serves plain TCP connections.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its TLS handshake after connecting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; the next connection waits in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

/// The ALPN protocol the API speaks (axum is built for HTTP/1.1 only).
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The rustls server configuration of the API: TLS 1.3 or 1.2, the ring provider, the API
/// certificate `chain` and its `key`, no client certificates (clients prove who they are
/// with bearer tokens).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(cairn_transport::trust::crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// Binds `addr` and serves `router` over TLS with `config` until the task is dropped.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<tokio::task::JoinHandle<()>> {
    let listener = TlsListener::bind(addr, config).await?;
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(%addr, "HTTPS server stopped: {e}");
        }
    }))
}

/// A TCP listener whose connections come out TLS-terminated: a background task accepts and
/// runs the handshakes; [`Listener::accept`] hands out the ones that succeeded.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Binds `addr` and starts accepting connections with `config`.
    pub async fn bind(addr: SocketAddr, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        let local = tcp.local_addr()?;
        let (sender, ready) = mpsc::channel(MAX_HANDSHAKES);
        let acceptor = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), sender));
        Ok(Self { local, ready, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // The accept task holds the socket: stopping it closes the port with the server.
        self.acceptor.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task ends only when this listener is dropped, so this is not reached
            // while anyone waits here; waiting forever is the honest answer if it were.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections forever, each handshake in its own task.
async fn accept_loop(
    tcp: TcpListener,
    tls: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                wait_after_accept_error(e).await;
                continue;
            }
        };
        // Small JSON answers should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let (tls, ready) = (tls.clone(), ready.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    // Fails only when the server is gone, and the connection with it.
                    let _ = ready.send((stream, peer)).await;
                }
                // The client's problem, not the server's: logged quietly, as scanners and
                // clients without the cluster CA would otherwise flood the log.
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out after {HANDSHAKE_TIMEOUT:?}"),
            }
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_transport::ClusterCa;
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn a_configuration_builds_from_an_issued_api_certificate() {
        let ca = ClusterCa::generate("test").unwrap();
        let (cert, key) =
            ca.issue_api("node-1 API", &["localhost".into()], &["127.0.0.1".parse().unwrap()]).unwrap();
        let cert = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let key = PrivatePkcs8KeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let config = server_config(vec![cert], PrivateKeyDer::Pkcs8(key)).unwrap();
        assert_eq!(config.alpn_protocols, vec![ALPN_HTTP1.to_vec()]);
    }
}
