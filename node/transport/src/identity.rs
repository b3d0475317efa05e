//! Cluster identities: the cluster CA and the node certificates it issues, kept as PEM.
//!
//! A cluster has one certificate authority. Each node holds a certificate the CA issued for
//! its name (e.g. `node-3`), carried as the certificate's only DNS subject alternative name;
//! that name is the node's identity on the wire, never its address. The files holding these
//! are written by the `init` command, so everything here takes and returns PEM strings.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use super::trust::{client_verifier, server_verifier};

/// How long a cluster CA certificate is valid. Certificate rotation is not built yet, so the CA
/// outlives any cluster we expect to run.
const CA_VALIDITY: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// How long a node certificate is valid.
const NODE_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Certificates are dated this far back, so that a node whose clock is a little behind the
/// issuer's does not refuse a certificate issued a moment ago.
const CLOCK_SKEW: Duration = Duration::from_secs(60 * 60);

/// The longest node name: one DNS label.
const MAX_NODE_NAME_LEN: usize = 63;

/// Why an identity could not be created, loaded or turned into a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The node name is not one DNS label of lowercase letters, digits and hyphens.
    #[error("invalid node name {name:?}: {reason}")]
    InvalidNodeName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// rcgen could not generate a key or a certificate, or could not parse one it is given.
    #[error("generate certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// A PEM string does not hold what it should.
    #[error("parse {what} PEM: {reason}")]
    Pem {
        /// Which PEM: "cluster CA certificate", "node key", ...
        what: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// A certificate's DER could not be parsed.
    #[error("parse certificate: {0}")]
    ParseCertificate(String),
    /// A certificate does not carry exactly one node name.
    #[error("certificate names no node: {0}")]
    NoNodeName(String),
    /// A private key is not the one whose public half is in the certificate.
    #[error("the private key does not belong to the certificate of {0}")]
    KeyMismatch(String),
    /// A node certificate is not one the cluster CA issued (or has expired, or has the wrong uses).
    #[error("certificate of {name} is not trusted by the cluster CA: {source}")]
    Untrusted {
        /// The node name the certificate carries.
        name: String,
        /// rustls' verdict.
        source: rustls::Error,
    },
    /// rustls refused the configuration.
    #[error("build TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// rustls refused to build the client certificate verifier.
    #[error("build client certificate verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
    /// rustls refused to build the server certificate verifier.
    #[error("build server certificate verifier: {0}")]
    ServerVerifier(rustls::server::VerifierBuilderError),
    /// The TLS configuration has no cipher suite QUIC can start with.
    #[error("build QUIC crypto configuration: {0}")]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
}

/// The certificate name of node `id`: the name `init` issues its certificate for, and the one a
/// peer must present to be that node.
pub fn node_name(id: u64) -> String {
    format!("node-{id}")
}

/// Whether a certificate name is a cluster node's (`node-<id>`), as opposed to an operator's
/// or a client tool's.
pub fn is_cluster_node(name: &str) -> bool {
    name.strip_prefix("node-").is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks that `name` can be a node's name: one DNS label (it is matched against the DNS
/// subject alternative name of the node's certificate), lowercase, starting with a letter so it
/// is never mistaken for an address.
pub fn validate_node_name(name: &str) -> Result<(), IdentityError> {
    let invalid = |reason| Err(IdentityError::InvalidNodeName { name: name.to_owned(), reason });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.len() > MAX_NODE_NAME_LEN {
        return invalid("it is longer than 63 bytes");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return invalid("only lowercase ASCII letters, digits and '-' are allowed");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return invalid("it must start with a letter");
    }
    if name.ends_with('-') {
        return invalid("it must not end with '-'");
    }
    Ok(())
}

/// The cluster's certificate authority: it issues every node's certificate.
///
/// The private key never leaves the machine `init` runs on unless an operator copies it; nodes
/// need only the CA certificate.
pub struct ClusterCa {
    cert_pem: String,
    /// The CA certificate as rcgen needs it to sign: its subject and key identifier.
    issuer: rcgen::Certificate,
    key: KeyPair,
}

impl fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ClusterCa")
            .field("subject", &self.issuer.params().distinguished_name)
            .finish_non_exhaustive()
    }
}

impl ClusterCa {
    /// Creates a new self-signed cluster CA with a fresh ECDSA P-256 key. `cluster_name` goes
    /// into the certificate's subject, for the operator's benefit.
    pub fn generate(cluster_name: &str) -> Result<Self, IdentityError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        subject.push(DnType::OrganizationName, "cairn");
        subject.push(DnType::CommonName, format!("cairn cluster CA {cluster_name}"));
        params.distinguished_name = subject;
        // Path length 0: the CA signs node certificates only, never another CA.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        set_validity(&mut params, CA_VALIDITY);
        let issuer = params.self_signed(&key)?;
        Ok(Self { cert_pem: issuer.pem(), issuer, key })
    }

    /// Loads a CA from its certificate and private key, as written by [`Self::cert_pem`] and
    /// [`Self::key_pem`].
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, IdentityError> {
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| IdentityError::Pem { what: "cluster CA key", reason: e.to_string() })?;
        let cert_der = parse_cert_pem(cert_pem, "cluster CA certificate")?;
        check_key_matches(&cert_der, &key, "the cluster CA")?;
        // rcgen signs with a `Certificate`; rebuilding one from the parsed parameters keeps the
        // subject and key identifier that issued certificates must name. Its own signature is
        // never used: peers are handed `cert_pem`, the original.
        let issuer = CertificateParams::from_ca_cert_der(&cert_der)?.self_signed(&key)?;
        Ok(Self { cert_pem: cert_pem.to_owned(), issuer, key })
    }

    /// The CA certificate, PEM. Every node needs it to tell cluster peers from strangers.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PKCS#8 PEM. A secret: whoever holds it can mint node identities.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issues a certificate for the node called `node_name`, with a fresh ECDSA P-256 key,
    /// valid both to serve and to dial (server and client authentication).
    pub fn issue_node(&self, node_name: &str) -> Result<NodeIdentity, IdentityError> {
        let key = KeyPair::generate()?;
        let cert = self.node_certificate(node_name, &key)?;
        // Going through `from_pem` checks the new identity the way a node loading it will.
        NodeIdentity::from_pem(&self.cert_pem, &cert, &key.serialize_pem())
    }

    /// Signs a node certificate for `node_name` over the key of a signing request (PEM) made
    /// elsewhere, by a machine that keeps its private key: what a joining node sends. Only the
    /// request's key is taken (its signature proves the sender holds the private half); the
    /// names and uses are the CA's own choice, as for [`Self::issue_node`]. Returns the
    /// certificate, PEM.
    pub fn sign_node_request(&self, node_name: &str, request_pem: &str) -> Result<String, IdentityError> {
        self.node_certificate(node_name, &parse_request(request_pem)?.public_key)
    }

    fn node_certificate(&self, node_name: &str, key: &impl PublicKeyData) -> Result<String, IdentityError> {
        validate_node_name(node_name)?;
        let mut params = CertificateParams::new(vec![node_name.to_owned()])?;
        let mut subject = DistinguishedName::new();
        subject.push(DnType::OrganizationName, "cairn");
        subject.push(DnType::CommonName, node_name);
        params.distinguished_name = subject;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, NODE_VALIDITY);
        Ok(params.signed_by(key, &self.issuer, &self.key)?.pem())
    }

    /// Issues a certificate for a node's HTTPS API, naming the DNS names and IP addresses its
    /// clients reach it by, with a fresh ECDSA P-256 key. It is valid to serve only (server
    /// authentication), so it can never dial a peer; the caller keeps node names out of `dns`
    /// so it can never stand in for a node either. Returns the certificate and key, PEM.
    pub fn issue_api(
        &self,
        common_name: &str,
        dns: &[String],
        ips: &[IpAddr],
    ) -> Result<(String, String), IdentityError> {
        let key = KeyPair::generate()?;
        let cert = self.api_certificate(common_name, dns, ips, &key)?;
        Ok((cert, key.serialize_pem()))
    }

    /// [`Self::issue_api`] over the key of a signing request made elsewhere (see
    /// [`Self::sign_node_request`]). Returns the certificate, PEM.
    pub fn sign_api_request(
        &self,
        common_name: &str,
        dns: &[String],
        ips: &[IpAddr],
        request_pem: &str,
    ) -> Result<String, IdentityError> {
        self.api_certificate(common_name, dns, ips, &parse_request(request_pem)?.public_key)
    }

    fn api_certificate(
        &self,
        common_name: &str,
        dns: &[String],
        ips: &[IpAddr],
        key: &impl PublicKeyData,
    ) -> Result<String, IdentityError> {
        let mut params = CertificateParams::default();
        let mut sans = Vec::with_capacity(dns.len() + ips.len());
        for name in dns {
            sans.push(SanType::DnsName(name.as_str().try_into()?));
        }
        sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.subject_alt_names = sans;
        let mut subject = DistinguishedName::new();
        subject.push(DnType::OrganizationName, "cairn");
        subject.push(DnType::CommonName, common_name);
        params.distinguished_name = subject;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, NODE_VALIDITY);
        Ok(params.signed_by(key, &self.issuer, &self.key)?.pem())
    }
}

/// A fresh ECDSA P-256 key and a signing request over it: what a joining machine sends a CA
/// holder, keeping the key. Returns (request, key), PEM.
pub fn new_signing_request(common_name: &str) -> Result<(String, String), IdentityError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    let request = params.serialize_request(&key)?;
    Ok((request.pem()?, key.serialize_pem()))
}

/// Parses a signing request and checks its signature (that its sender holds the key).
fn parse_request(pem: &str) -> Result<rcgen::CertificateSigningRequestParams, IdentityError> {
    rcgen::CertificateSigningRequestParams::from_pem(pem)
        .map_err(|e| IdentityError::Pem { what: "certificate signing request", reason: e.to_string() })
}

/// The SHA-256 of a certificate's DER (as `openssl x509 -fingerprint -sha256` shows it): what a
/// join token carries to pin the cluster CA.
pub fn cert_fingerprint(pem: &str) -> Result<[u8; 32], IdentityError> {
    let der = parse_cert_pem(pem, "certificate")?;
    Ok(der_fingerprint(&der))
}

/// [`cert_fingerprint`] of a DER certificate.
pub fn der_fingerprint(der: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A node's identity: its name, its certificate and key, and the cluster CA it trusts.
///
/// Loading one checks that the three belong together, so a node with mismatched files stops at
/// start-up instead of failing every handshake.
pub struct NodeIdentity {
    name: String,
    ca_cert_pem: String,
    cert_pem: String,
    key_pem: String,
    ca_cert_der: CertificateDer<'static>,
    cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl Clone for NodeIdentity {
    fn clone(&self) -> Self {
        // The key type is not `Clone`, so that copies of a secret are made on purpose.
        Self {
            name: self.name.clone(),
            ca_cert_pem: self.ca_cert_pem.clone(),
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            ca_cert_der: self.ca_cert_der.clone(),
            cert_der: self.cert_der.clone(),
            key_der: self.key_der.clone_key(),
        }
    }
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("NodeIdentity").field("name", &self.name).finish_non_exhaustive()
    }
}

impl NodeIdentity {
    /// Loads a node identity from the cluster CA certificate, the node's certificate and the
    /// node's PKCS#8 private key, all PEM.
    ///
    /// Fails unless the certificate names exactly one valid node name, the key is the
    /// certificate's, and the cluster CA vouches for the certificate both as a server for that
    /// name and as a client.
    pub fn from_pem(ca_cert_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Self, IdentityError> {
        let ca_cert_der = parse_cert_pem(ca_cert_pem, "cluster CA certificate")?;
        let cert_der = parse_cert_pem(cert_pem, "node certificate")?;
        let key_der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| IdentityError::Pem { what: "node key (PKCS#8)", reason: e.to_string() })?;
        let name = node_name_from_cert(&cert_der)?;
        let key = KeyPair::try_from(&key_der)?;
        check_key_matches(&cert_der, &key, &name)?;
        let identity = Self {
            name,
            ca_cert_pem: ca_cert_pem.to_owned(),
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            ca_cert_der,
            cert_der,
            key_der,
        };
        identity.check_trusted()?;
        Ok(identity)
    }

    /// Verifies the certificate with the same verifiers peers use, as a server for its name and
    /// as a client.
    fn check_trusted(&self) -> Result<(), IdentityError> {
        let untrusted = |source| IdentityError::Untrusted { name: self.name.clone(), source };
        let now = UnixTime::now();
        let server_name = ServerName::try_from(self.name.clone()).map_err(|_| {
            IdentityError::InvalidNodeName { name: self.name.clone(), reason: "not a DNS name" }
        })?;
        server_verifier(self.roots()?)
            .map_err(IdentityError::ServerVerifier)?
            .verify_server_cert(&self.cert_der, &[], &server_name, &[], now)
            .map_err(untrusted)?;
        client_verifier(self.roots()?)?.verify_client_cert(&self.cert_der, &[], now).map_err(untrusted)?;
        Ok(())
    }

    /// The node's name, as its certificate carries it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cluster CA certificate, PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// The node's certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The node's private key, PKCS#8 PEM. A secret.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The cluster CA certificate, DER.
    pub fn ca_cert_der(&self) -> &CertificateDer<'static> {
        &self.ca_cert_der
    }

    /// The node's certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The node's private key, PKCS#8 DER. A secret.
    pub fn key_der(&self) -> &PrivatePkcs8KeyDer<'static> {
        &self.key_der
    }

    /// The cluster CA as a rustls root store holding nothing else.
    pub(crate) fn roots(&self) -> Result<Arc<rustls::RootCertStore>, IdentityError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_cert_der.clone())?;
        Ok(Arc::new(roots))
    }
}

/// The node name a certificate carries: its only DNS subject alternative name, which must be a
/// valid node name.
pub fn node_name_from_cert(cert: &CertificateDer<'_>) -> Result<String, IdentityError> {
    use x509_parser::extensions::GeneralName;

    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| IdentityError::ParseCertificate(e.to_string()))?;
    let san = parsed
        .subject_alternative_name()
        .map_err(|e| IdentityError::ParseCertificate(e.to_string()))?
        .ok_or_else(|| IdentityError::NoNodeName("no subject alternative name".to_owned()))?;
    let mut dns_names = san.value.general_names.iter().filter_map(|name| match name {
        GeneralName::DNSName(dns) => Some(*dns),
        _ => None,
    });
    let (Some(name), None) = (dns_names.next(), dns_names.next()) else {
        return Err(IdentityError::NoNodeName("not exactly one DNS subject alternative name".to_owned()));
    };
    validate_node_name(name)?;
    Ok(name.to_owned())
}

/// When the first certificate of a PEM string stops being valid.
pub fn cert_not_after(pem: &str) -> Result<SystemTime, IdentityError> {
    let der = parse_cert_pem(pem, "certificate")?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| IdentityError::ParseCertificate(e.to_string()))?;
    let seconds = parsed.validity().not_after.timestamp();
    Ok(UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// The first certificate in a PEM string.
fn parse_cert_pem(pem: &str, what: &'static str) -> Result<CertificateDer<'static>, IdentityError> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| IdentityError::Pem { what, reason: e.to_string() })
}

/// Fails unless `key` is the private half of the public key in `cert`.
fn check_key_matches(cert: &CertificateDer<'_>, key: &KeyPair, owner: &str) -> Result<(), IdentityError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| IdentityError::ParseCertificate(e.to_string()))?;
    if parsed.public_key().raw != key.public_key_der().as_slice() {
        return Err(IdentityError::KeyMismatch(owner.to_owned()));
    }
    Ok(())
}

/// Sets a validity period starting [`CLOCK_SKEW`] ago and lasting `validity` from now.
fn set_validity(params: &mut CertificateParams, validity: Duration) {
    let now = SystemTime::now();
    params.not_before = (now - CLOCK_SKEW).into();
    params.not_after = (now + validity).into();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signing_request_gets_a_node_identity_whose_key_never_left_the_requester() {
        let ca = ClusterCa::generate("test").unwrap();
        let (request, key) = new_signing_request("node-4").unwrap();
        assert!(!request.contains("PRIVATE KEY"));
        let cert = ca.sign_node_request("node-4", &request).unwrap();
        let identity = NodeIdentity::from_pem(ca.cert_pem(), &cert, &key).unwrap();
        assert_eq!(identity.name(), "node-4");
        // The CA names the node, not the request.
        let cert = ca.sign_node_request("node-5", &request).unwrap();
        assert_eq!(NodeIdentity::from_pem(ca.cert_pem(), &cert, &key).unwrap().name(), "node-5");
        // Another CA's certificate does not load against this one.
        let other = ClusterCa::generate("other").unwrap();
        assert!(NodeIdentity::from_pem(other.cert_pem(), &cert, &key).is_err());
        // A request whose body was changed (one base64 digit in its middle) fails its signature
        // check.
        let mut pem = request.clone().into_bytes();
        let at = pem.len() / 2;
        pem[at] = if pem[at] == b'A' { b'B' } else { b'A' };
        let pem = String::from_utf8(pem).unwrap();
        assert!(ca.sign_node_request("node-4", &pem).is_err());
        assert!(ca.sign_node_request("node-4", "not a request").is_err());
        assert_eq!(
            cert_fingerprint(ca.cert_pem()).unwrap(),
            der_fingerprint(&parse_cert_pem(ca.cert_pem(), "ca").unwrap())
        );
    }

    #[test]
    fn node_names_are_single_lowercase_dns_labels() {
        for good in ["node-3", "a", "n0", "storage-eu-west-1", "a".repeat(63).as_str()] {
            assert!(validate_node_name(good).is_ok(), "{good:?} should be valid");
        }
        for bad in [
            "",
            "Node-3",
            "3node",
            "-node",
            "node-",
            "node.3",
            "node_3",
            "nöde",
            " node",
            "a".repeat(64).as_str(),
        ] {
            assert!(validate_node_name(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn issued_identity_carries_its_name_and_round_trips_through_pem() {
        let ca = ClusterCa::generate("test").unwrap();
        let node = ca.issue_node("node-3").unwrap();
        assert_eq!(node.name(), "node-3");
        assert_eq!(node_name_from_cert(node.cert_der()).unwrap(), "node-3");

        let reloaded = NodeIdentity::from_pem(node.ca_cert_pem(), node.cert_pem(), node.key_pem()).unwrap();
        assert_eq!(reloaded.name(), "node-3");
        assert_eq!(reloaded.cert_der(), node.cert_der());
    }

    #[test]
    fn a_ca_reloaded_from_pem_issues_certificates_the_original_ca_certificate_trusts() {
        let ca = ClusterCa::generate("test").unwrap();
        let reloaded = ClusterCa::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(reloaded.cert_pem(), ca.cert_pem());
        // `issue_node` verifies the new certificate against the CA certificate PEM, which is
        // the original one; the explicit load below checks it once more from the outside.
        let node = reloaded.issue_node("node-1").unwrap();
        NodeIdentity::from_pem(ca.cert_pem(), node.cert_pem(), node.key_pem()).unwrap();
    }

    #[test]
    fn a_certificate_from_another_ca_is_refused() {
        let ours = ClusterCa::generate("ours").unwrap();
        let theirs = ClusterCa::generate("theirs").unwrap();
        let stranger = theirs.issue_node("node-1").unwrap();
        let err =
            NodeIdentity::from_pem(ours.cert_pem(), stranger.cert_pem(), stranger.key_pem()).unwrap_err();
        assert!(matches!(err, IdentityError::Untrusted { .. }), "{err}");
    }

    #[test]
    fn a_key_from_another_node_is_refused() {
        let ca = ClusterCa::generate("test").unwrap();
        let one = ca.issue_node("node-1").unwrap();
        let two = ca.issue_node("node-2").unwrap();
        let err = NodeIdentity::from_pem(ca.cert_pem(), one.cert_pem(), two.key_pem()).unwrap_err();
        assert!(matches!(err, IdentityError::KeyMismatch(_)), "{err}");
        let other_ca = ClusterCa::generate("other").unwrap();
        let err = ClusterCa::from_pem(ca.cert_pem(), &other_ca.key_pem()).unwrap_err();
        assert!(matches!(err, IdentityError::KeyMismatch(_)), "{err}");
    }

    #[test]
    fn garbage_pem_is_refused_with_what_it_was() {
        let ca = ClusterCa::generate("test").unwrap();
        let node = ca.issue_node("node-1").unwrap();
        let err = NodeIdentity::from_pem("not pem", node.cert_pem(), node.key_pem()).unwrap_err();
        assert!(err.to_string().contains("cluster CA certificate"), "{err}");
        let err = NodeIdentity::from_pem(ca.cert_pem(), node.cert_pem(), "").unwrap_err();
        assert!(err.to_string().contains("node key"), "{err}");
    }

    #[test]
    fn invalid_node_names_are_refused_at_issue() {
        let ca = ClusterCa::generate("test").unwrap();
        assert!(matches!(ca.issue_node("Node 1"), Err(IdentityError::InvalidNodeName { .. })));
    }

    #[test]
    fn debug_output_leaves_keys_out() {
        let ca = ClusterCa::generate("test").unwrap();
        let node = ca.issue_node("node-1").unwrap();
        assert!(!format!("{ca:?}").contains("PRIVATE"));
        assert!(!format!("{node:?}").contains("PRIVATE"));
    }
}
