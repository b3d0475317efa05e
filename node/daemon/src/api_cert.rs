//! The HTTPS API's certificate: which names it must carry, and where a node gets it.
//!
//! A node's certificate (`node-<id>.crt`) names the node only, for the QUIC transport; clients
//! reach the API by address or host name, which that certificate cannot know. So the API has a
//! certificate of its own, `node-<id>-api.crt`/`.key` in the secrets folder, issued by the
//! same cluster CA, so clients trust one file, `ca.crt`. It names (see [`wanted_names`]):
//! the IP of `network.api` when that is not unspecified; `localhost` and the loopback address
//! when the API listens on loopback or on every address; and `network.api_names`.
//!
//! **Invariant:** an API certificate never names a node (`node-<id>`) and is valid only to
//! serve. The transport knows a peer by the one name in its certificate, so an API key — which
//! an operator may well copy to a reverse proxy — can never pass for a node's.
//!
//! Where it comes from: `init` issues the first node's, and `issue-cert --id N --api ADDR
//! [--api-name NAME]…` any other node's, on the machine holding `ca.key`. At start a node
//! checks its certificate the way a client will, for every name it should carry; when it is
//! missing or does not cover the config (say `api_names` grew) and `ca.key` is at hand (one
//! machine, or the node that ran `init`), the node issues a fresh one itself; otherwise it
//! refuses to start and says which command makes one.

use std::fmt;
use std::sync::Arc;

use cairn_raft::NodeId;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

use super::api_names::{ApiName, wanted_names};
use super::config::NodeConfig;
use super::secrets::{SecretsDir, SecretsError};
use cairn_transport::trust::crypto_provider;

/// The names a config wants on its API certificate (its `api_names` are valid once the
/// config has loaded).
pub fn wanted_for(config: &NodeConfig) -> Vec<ApiName> {
    let extra: Vec<ApiName> =
        config.network.api_names.iter().filter_map(|name| ApiName::parse(name).ok()).collect();
    wanted_names(config.network.api, &extra)
}

/// A loaded API certificate, its key, and the cluster CA that issued it.
pub struct ApiCertificate {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    /// The cluster CA, sent after the certificate: a joining machine finds in it the CA its
    /// token pins (see `join`); clients that trust the CA already ignore it.
    ca: CertificateDer<'static>,
    verifier: Arc<WebPkiServerVerifier>,
}

impl fmt::Debug for ApiCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ApiCertificate").finish_non_exhaustive()
    }
}

impl ApiCertificate {
    /// Parses the CA certificate, the API certificate and its key, all PEM, and checks that
    /// the key is the certificate's. Which names it is good for is [`Self::check_names`]'s
    /// business.
    pub fn from_pem(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| format!("parse the cluster CA certificate: {e}"))?;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| format!("parse the API certificate: {e}"))?;
        let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| format!("parse the API key (PKCS#8): {e}"))?;
        let ca_der = ca.clone();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).map_err(|e| format!("use the cluster CA certificate: {e}"))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto_provider())
            .build()
            .map_err(|e| format!("build a certificate verifier: {e}"))?;
        // A server configuration checks that the key signs for the certificate.
        let loaded = Self { cert, key, ca: ca_der, verifier };
        loaded.server_config().map_err(|e| format!("the key does not fit the certificate: {e}"))?;
        Ok(loaded)
    }

    /// Checks the certificate the way a client trusting only the cluster CA will, once for
    /// each of `names`: issued by the CA, in date, valid to serve, and naming it.
    pub fn check_names(&self, names: &[ApiName]) -> Result<(), String> {
        let now = UnixTime::now();
        for name in names {
            self.verifier
                .verify_server_cert(&self.cert, &[], &name.server_name()?, &[], now)
                .map_err(|e| format!("not good for {name}: {e}"))?;
        }
        Ok(())
    }

    /// The rustls configuration that serves this certificate.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, rustls::Error> {
        cairn_api::https::server_config(
            vec![self.cert.clone(), self.ca.clone()],
            PrivateKeyDer::Pkcs8(self.key.clone_key()),
        )
    }
}

/// The API certificate node `config.id` serves, checked for every name its config wants;
/// issued (or issued afresh) here when it is missing or stale and `ca.key` is at hand.
pub fn ensure(config: &NodeConfig) -> Result<ApiCertificate, SecretsError> {
    let secrets = SecretsDir::new(&config.secrets_dir);
    let wanted = wanted_for(config);
    let usable = load_checked(&secrets, config.id, &wanted);
    let why = match usable {
        Ok(cert) => return Ok(cert),
        Err(why) => why,
    };
    if !secrets.has_ca_key() {
        let (path, _) = secrets.api_files(config.id);
        let names: Vec<String> = wanted.iter().map(ToString::to_string).collect();
        let flags: String = config.network.api_names.iter().map(|n| format!(" --api-name {n}")).collect();
        return Err(SecretsError::ApiCertificate {
            path,
            reason: format!(
                "{why}. It must name {}. Issue it where ca.key is with `cairn-node issue-cert -c \
                 <that config> --id {} --api {}{flags}` and copy node-{}-api.crt and node-{}-api.key \
                 here, or set network.api_tls = false to serve plain HTTP",
                names.join(", "),
                config.id,
                config.network.api,
                config.id,
                config.id,
            ),
        });
    }
    secrets.issue_api(config.id, &wanted)?;
    let names: Vec<String> = wanted.iter().map(ToString::to_string).collect();
    tracing::info!(names = %names.join(", "), "issued the API certificate ({why})");
    load_checked(&secrets, config.id, &wanted).map_err(|reason| SecretsError::ApiCertificate {
        path: secrets.api_files(config.id).0,
        reason: format!("freshly issued, yet {reason}"),
    })
}

/// The TLS configuration node `config.id`'s API serves: [`ensure`]'s certificate.
pub fn server_config_for(config: &NodeConfig) -> Result<Arc<rustls::ServerConfig>, SecretsError> {
    let cert = ensure(config)?;
    let tls = cert.server_config().map_err(|e| SecretsError::ApiCertificate {
        path: SecretsDir::new(&config.secrets_dir).api_files(config.id).0,
        reason: e.to_string(),
    })?;
    Ok(Arc::new(tls))
}

/// Node `id`'s API certificate, if it loads and is good for every one of `names`; else why not.
fn load_checked(secrets: &SecretsDir, id: NodeId, names: &[ApiName]) -> Result<ApiCertificate, String> {
    let (ca, cert, key) = secrets.read_api(id).map_err(|e| match e {
        SecretsError::Io { path, source } => {
            let file =
                path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into());
            if source.kind() == std::io::ErrorKind::NotFound {
                format!("there is no {file}")
            } else {
                format!("read {file}: {source}")
            }
        }
        other => other.to_string(),
    })?;
    let loaded = ApiCertificate::from_pem(&ca, &cert, &key)?;
    loaded.check_names(names)?;
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_names::split;

    fn names(list: &[&str]) -> Vec<ApiName> {
        list.iter().map(|n| ApiName::parse(n).unwrap()).collect()
    }

    #[test]
    fn an_issued_certificate_is_good_for_its_names_only_and_only_under_its_ca() {
        let ca = cairn_transport::ClusterCa::generate("test").unwrap();
        let wanted = names(&["localhost", "127.0.0.1", "drive.example.org"]);
        let (dns, ips) = split(&wanted);
        let (cert, key) = ca.issue_api("node-1 API", &dns, &ips).unwrap();
        let loaded = ApiCertificate::from_pem(ca.cert_pem(), &cert, &key).unwrap();
        loaded.check_names(&wanted).unwrap();
        let error = loaded.check_names(&names(&["other.example.org"])).unwrap_err();
        assert!(error.contains("other.example.org"), "{error}");
        // The transport would not take it for a node: it names none, and cannot dial.
        assert!(cairn_transport::identity::node_name_from_cert(&loaded.cert).is_err());

        let other = cairn_transport::ClusterCa::generate("other").unwrap();
        let foreign = ApiCertificate::from_pem(other.cert_pem(), &cert, &key).unwrap();
        assert!(foreign.check_names(&wanted).is_err());
        let (_, other_key) = ca.issue_api("x", &dns, &ips).unwrap();
        assert!(ApiCertificate::from_pem(ca.cert_pem(), &cert, &other_key).is_err());
    }
}
