//! The TLS check of a joining machine: the peer must present the cluster CA its token pins.
//!
//! A machine that has not joined has no CA certificate to trust, only the fingerprint in its
//! token. Members send the CA after their API certificate; this verifier finds the CA whose
//! SHA-256 is the token's and checks the peer's certificate against it as the only root. The
//! name the peer was reached by is not checked: a certificate the pinned CA issued is a member
//! of that cluster whatever address it answers on, and an operator joining through a node's
//! LAN address should not need that address in its certificate first.
//!
//! What the peer presented is remembered, so a refusal can say whether the peer belongs to
//! another cluster (a CA with another fingerprint) or sent no CA at all.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use cairn_transport::der_fingerprint;

/// What the peer presented, when it was not the pinned CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// No CA came with its certificate.
    NoCa,
    /// A CA with this fingerprint: another cluster's.
    OtherCa([u8; 32]),
}

/// Trusts exactly the CA with the pinned fingerprint.
#[derive(Debug)]
pub struct PinnedCa {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
    mismatch: Mutex<Option<Mismatch>>,
}

impl PinnedCa {
    /// A verifier pinned to the CA whose certificate's SHA-256 is `fingerprint`.
    pub fn new(fingerprint: [u8; 32], provider: Arc<CryptoProvider>) -> Self {
        Self { fingerprint, provider, mismatch: Mutex::new(None) }
    }

    /// What the peer presented instead of the pinned CA, if a handshake failed on that.
    pub fn mismatch(&self) -> Option<Mismatch> {
        self.mismatch.lock().ok().and_then(|m| *m)
    }

    fn remember(&self, mismatch: Mismatch) {
        if let Ok(mut slot) = self.mismatch.lock() {
            *slot = Some(mismatch);
        }
    }
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(ca) = intermediates.iter().find(|c| der_fingerprint(c) == self.fingerprint) else {
            self.remember(match intermediates.last() {
                Some(other) => Mismatch::OtherCa(der_fingerprint(other)),
                None => Mismatch::NoCa,
            });
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        };
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
            .build()
            .map_err(|e| Error::General(format!("build a verifier for the pinned CA: {e}")))?;
        // webpki checks the chain before the name, so a name error means the chain is good.
        match verifier.verify_server_cert(end_entity, &[], server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            Err(other) => Err(other),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
