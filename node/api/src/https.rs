//! HTTPS for the node's API: TLS 1.3 or 1.2 with a server certificate the cluster CA issued
//! (made and checked by `daemon::api_cert`), in front of the same router that plain HTTP
//! serves. Clients trust the cluster CA (`ca.crt`), which the operator hands them. ALPN offers
//! HTTP/2 and HTTP/1.1; a client that names neither speaks HTTP/1.1.
//!
//! Handshakes run in tasks of their own, each under a deadline (the header timeout) and with
//! a cap on how many run at once, so a slow or broken client (a scanner, plain HTTP sent to
//! the port, a client that does not trust the CA) costs one task and a debug line, and never
//! stalls or stops the listener ([`crate::server`] accepts and serves the connections).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::server::stats;

/// Handshakes in progress at once; the next connection waits in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

/// The ALPN names of the protocols the API speaks, preferred first.
const ALPN_HTTP2: &[u8] = b"h2";
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
    config.alpn_protocols = vec![ALPN_HTTP2.to_vec(), ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// The TLS handshakes of one listener: at most [`MAX_HANDSHAKES`] at once, each within a
/// deadline.
#[derive(Clone)]
pub(crate) struct Handshakes {
    acceptor: TlsAcceptor,
    slots: Arc<Semaphore>,
    deadline: Duration,
}

impl Handshakes {
    /// Handshakes with `config`, each given `deadline`.
    pub(crate) fn new(config: Arc<rustls::ServerConfig>, deadline: Duration) -> Self {
        Self {
            acceptor: TlsAcceptor::from(config),
            slots: Arc::new(Semaphore::new(MAX_HANDSHAKES)),
            deadline,
        }
    }

    /// Waits for room for one more handshake; taken before the connection is accepted, so a
    /// full set holds new ones in the kernel's backlog rather than in the node.
    pub(crate) async fn slot(&self) -> OwnedSemaphorePermit {
        match self.slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            // The semaphore is never closed; waiting forever is the honest answer if it were.
            Err(_) => std::future::pending().await,
        }
    }

    /// Runs the handshake of `stream` from `peer` in `slot`: the TLS stream and whether it
    /// negotiated HTTP/2, or `None` if it failed or ran out of time.
    pub(crate) async fn run(
        &self,
        slot: OwnedSemaphorePermit,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<(TlsStream<TcpStream>, bool)> {
        let _slot = slot;
        let deadline = self.deadline;
        match tokio::time::timeout(deadline, self.acceptor.accept(stream)).await {
            Ok(Ok(stream)) => {
                let http2 = stream.get_ref().1.alpn_protocol() == Some(ALPN_HTTP2);
                Some((stream, http2))
            }
            // The client's problem, not the server's: logged quietly, as scanners and clients
            // without the cluster CA would otherwise flood the log.
            Ok(Err(e)) => {
                stats::handshake_failed();
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                None
            }
            Err(_) => {
                stats::handshake_failed();
                tracing::debug!(%peer, "TLS handshake timed out after {deadline:?}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_transport::ClusterCa;
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn a_configuration_builds_from_an_issued_api_certificate_and_offers_http2() {
        let ca = ClusterCa::generate("test").unwrap();
        let (cert, key) =
            ca.issue_api("node-1 API", &["localhost".into()], &["127.0.0.1".parse().unwrap()]).unwrap();
        let cert = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let key = PrivatePkcs8KeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let config = server_config(vec![cert], PrivateKeyDer::Pkcs8(key)).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }
}
