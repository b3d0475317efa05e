//! How a client reaches a cluster: node addresses, the token, whom to trust, and the knobs of
//! transfers (parallelism, memory, how long to keep retrying).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::ClientError;

/// A client's settings. `ClientConfig::new` has the defaults; set the fields to change them.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base addresses of the nodes (`https://10.0.0.1:8101`), tried in order, any of them fine.
    pub nodes: Vec<String>,
    /// The bearer token.
    pub token: String,
    /// The cluster CA certificate (PEM) that node certificates are checked against; without it,
    /// the web's public roots (for a cluster behind a publicly certified proxy).
    pub ca_pem: Option<String>,
    /// Blocks sent or fetched at once.
    pub parallel: usize,
    /// Most bytes of file content an upload or download holds in memory at once.
    pub memory_budget: usize,
    /// How long a call keeps retrying (on other nodes, through a leader election) before it
    /// gives up.
    pub retry_for: Duration,
    /// How long a connection attempt to one node may take.
    pub connect_timeout: Duration,
    /// How long a node may stay silent in the middle of an answer before it is given up on.
    pub read_timeout: Duration,
}

impl ClientConfig {
    /// Settings for `nodes` with `token` and the defaults: 8 blocks in parallel, 64 MiB of
    /// memory, retries for 60 s.
    pub fn new(nodes: Vec<String>, token: impl Into<String>) -> Self {
        Self {
            nodes,
            token: token.into(),
            ca_pem: None,
            parallel: 8,
            memory_budget: 64 << 20,
            retry_for: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(30),
        }
    }

    /// The node addresses, parsed and checked.
    pub(crate) fn node_urls(&self) -> Result<Vec<Url>, ClientError> {
        if self.nodes.is_empty() {
            return Err(ClientError::Config("no node address given".into()));
        }
        self.nodes
            .iter()
            .map(|raw| {
                let url = Url::parse(raw.trim_end_matches('/'))
                    .map_err(|e| ClientError::Config(format!("{raw:?} is not a URL: {e}")))?;
                match url.scheme() {
                    "http" | "https" if url.host().is_some() => Ok(url),
                    _ => Err(ClientError::Config(format!("{raw:?}: a node address is http(s)://host:port"))),
                }
            })
            .collect()
    }

    /// The TLS settings: the cluster CA as the only root when one is given.
    pub(crate) fn tls(&self) -> Result<rustls::ClientConfig, ClientError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_pem {
            Some(pem) => {
                let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ClientError::Config(format!("the CA certificate is not PEM: {e}")))?;
                if certs.is_empty() {
                    return Err(ClientError::Config("the CA file holds no certificate".into()));
                }
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| ClientError::Config(format!("the CA certificate is unusable: {e}")))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Config(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}
