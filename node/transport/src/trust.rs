//! Trusting the cluster CA: the crypto provider every TLS configuration of a node uses, and
//! the verifiers that accept only certificates the cluster CA issued — for a peer dialling in
//! (a client certificate) and for the peer dialled (a server certificate).
//!
//! The provider is rustls' ring backend, named explicitly so that nothing depends on a
//! process-wide default being installed.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};

/// The crypto provider every configuration here uses.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A verifier of client certificates that accepts only certificates issued under `roots`.
pub fn client_verifier(
    roots: Arc<RootCertStore>,
) -> Result<Arc<dyn ClientCertVerifier>, VerifierBuilderError> {
    WebPkiClientVerifier::builder_with_provider(roots, crypto_provider()).build()
}

/// A verifier of server certificates that accepts only certificates issued under `roots`.
pub fn server_verifier(
    roots: Arc<RootCertStore>,
) -> Result<Arc<dyn ServerCertVerifier>, VerifierBuilderError> {
    WebPkiServerVerifier::builder_with_provider(roots, crypto_provider())
        .build()
        .map(|verifier| verifier as Arc<dyn ServerCertVerifier>)
}
