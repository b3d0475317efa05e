//! TLS for node-to-node QUIC: TLS 1.3 only, mutual authentication against the cluster CA.
//!
//! (QUIC itself requires TLS 1.3, RFC 9001; the configurations say so too, so that they are
//! never reused for anything that would negotiate less.)
//!
//! Both directions trust exactly one root, the cluster CA. A node serving a connection requires
//! a client certificate the CA issued; a node dialling checks that the peer's certificate was
//! issued by the CA *for the node name it meant to reach*. Once connected, a peer is known by
//! the name in its certificate ([`peer_node_name`]), never by the address it came from.
//!
//! The crypto provider and the verifiers are in [`super::trust`].

use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::identity::{IdentityError, NodeIdentity, node_name_from_cert};
use super::trust::{client_verifier, crypto_provider};

/// The ALPN protocol name nodes speak. A peer that offers no protocol in common fails the
/// handshake, which is how a future incompatible transport is told apart from this one.
pub const ALPN: &[u8] = b"cairn-node/1";

/// The node's certificate chain and key, as rustls takes them.
fn own_certificate(identity: &NodeIdentity) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (vec![identity.cert_der().clone()], PrivateKeyDer::Pkcs8(identity.key_der().clone_key()))
}

/// The rustls server configuration: TLS 1.3, the node's certificate, and client certificates
/// required and checked against the cluster CA.
pub fn server_crypto(identity: &NodeIdentity) -> Result<rustls::ServerConfig, IdentityError> {
    let (chain, key) = own_certificate(identity);
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(client_verifier(identity.roots()?)?)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The rustls client configuration: TLS 1.3, only the cluster CA trusted, and the node's own
/// certificate presented to the peer.
pub fn client_crypto(identity: &NodeIdentity) -> Result<rustls::ClientConfig, IdentityError> {
    let (chain, key) = own_certificate(identity);
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(identity.roots()?)
        .with_client_auth_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The quinn server configuration built on [`server_crypto`].
pub fn quinn_server_config(
    identity: &NodeIdentity,
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ServerConfig, IdentityError> {
    let crypto = QuicServerConfig::try_from(server_crypto(identity)?)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// The quinn client configuration built on [`client_crypto`].
pub fn quinn_client_config(
    identity: &NodeIdentity,
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ClientConfig, IdentityError> {
    let crypto = QuicClientConfig::try_from(client_crypto(identity)?)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// The name of the node at the other end of an established connection, from the certificate it
/// presented. Both sides of a connection authenticated, so this works whichever side dialled.
pub fn peer_node_name(connection: &quinn::Connection) -> Result<String, IdentityError> {
    let identity = connection
        .peer_identity()
        .ok_or_else(|| IdentityError::NoNodeName("the peer presented no certificate".to_owned()))?;
    let chain = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| IdentityError::NoNodeName("the peer identity is not a certificate chain".to_owned()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| IdentityError::NoNodeName("the peer's certificate chain is empty".to_owned()))?;
    node_name_from_cert(leaf)
}

/// The key stateless resets are signed with, derived from the node's private key.
///
/// A node that restarts keeps its key, so the resets it sends for connections it no longer
/// knows are ones its peers accept: they drop the stale connection and redial at once instead
/// of waiting out the idle timeout. A random key, quinn's default, would make every restart
/// cost peers a full idle timeout.
pub(crate) fn stateless_reset_key(identity: &NodeIdentity) -> Arc<ring::hmac::Key> {
    let secret = blake3::derive_key(
        "cairn-node 2025 QUIC stateless reset key v1",
        identity.key_der().secret_pkcs8_der(),
    );
    Arc::new(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ClusterCa;

    #[test]
    fn configurations_build_for_an_issued_identity() {
        let ca = ClusterCa::generate("test").unwrap();
        let node = ca.issue_node("node-1").unwrap();
        let transport = Arc::new(quinn::TransportConfig::default());
        quinn_server_config(&node, transport.clone()).unwrap();
        quinn_client_config(&node, transport).unwrap();
    }

    #[test]
    fn reset_key_is_stable_per_node_and_differs_between_nodes() {
        use quinn::crypto::HmacKey;

        let ca = ClusterCa::generate("test").unwrap();
        let one = ca.issue_node("node-1").unwrap();
        let reloaded =
            crate::NodeIdentity::from_pem(one.ca_cert_pem(), one.cert_pem(), one.key_pem()).unwrap();
        let two = ca.issue_node("node-2").unwrap();
        let sign = |identity: &NodeIdentity| {
            let key = stateless_reset_key(identity);
            let mut out = vec![0u8; key.signature_len()];
            key.sign(b"connection id", &mut out);
            out
        };
        assert_eq!(sign(&one), sign(&reloaded));
        assert_ne!(sign(&one), sign(&two));
    }
}
