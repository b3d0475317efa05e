//! The secrets folder: the cluster CA, each node's certificate and key, and the master key.
//!
//! ```text
//! secrets/
//!   ca.crt            the cluster CA certificate (every node)
//!   ca.key            the CA's private key (only where certificates are issued)
//!   node-<id>.crt     a node's certificate, named node-<id>
//!   node-<id>.key     its private key
//!   master.key        the cluster master key, 32 bytes (every node)
//! ```
//!
//! Private files are created with mode 0600 and never overwritten: losing the CA key or the
//! master key by a second `init` would orphan a cluster's certificates or data.

use std::io::Write;
use std::path::{Path, PathBuf};

use cairn_raft::NodeId;

use crate::block::seal::MasterKey;
use crate::raft_net::node_name;
use crate::transport::{ClusterCa, IdentityError, NodeIdentity};

/// Why a secret could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file exists that would be overwritten.
    #[error("{0} exists already; refusing to overwrite a secret")]
    Exists(PathBuf),
    /// A certificate or key is malformed or does not match.
    #[error("{path}: {source}")]
    Identity {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: IdentityError,
    },
    /// The master key file has the wrong length.
    #[error("{0}: a master key is exactly 32 bytes")]
    MasterKeyLength(PathBuf),
}

/// The secrets folder of a cluster, as seen from one machine.
#[derive(Clone, Debug)]
pub struct SecretsDir(PathBuf);

impl SecretsDir {
    /// The folder at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Creates a new cluster CA and master key here; refuses if either exists.
    pub fn create_cluster(&self, cluster_name: &str) -> Result<ClusterCa, SecretsError> {
        for name in ["ca.crt", "ca.key", "master.key"] {
            if self.file(name).exists() {
                return Err(SecretsError::Exists(self.file(name)));
            }
        }
        std::fs::create_dir_all(&self.0)
            .map_err(|source| SecretsError::Io { path: self.0.clone(), source })?;
        let ca = ClusterCa::generate(cluster_name)
            .map_err(|source| SecretsError::Identity { path: self.file("ca.crt"), source })?;
        write_new(&self.file("ca.key"), ca.key_pem().as_bytes(), true)?;
        write_new(&self.file("ca.crt"), ca.cert_pem().as_bytes(), false)?;
        write_new(&self.file("master.key"), MasterKey::generate().as_bytes(), true)?;
        Ok(ca)
    }

    /// The CA with its private key, for issuing certificates.
    pub fn ca(&self) -> Result<ClusterCa, SecretsError> {
        let cert = read_text(&self.file("ca.crt"))?;
        let key = read_text(&self.file("ca.key"))?;
        ClusterCa::from_pem(&cert, &key)
            .map_err(|source| SecretsError::Identity { path: self.file("ca.key"), source })
    }

    /// Issues node `id`'s certificate and key here; refuses if they exist.
    pub fn issue_node(&self, id: NodeId) -> Result<(), SecretsError> {
        let name = node_name(id);
        let (cert, key) = (self.file(&format!("{name}.crt")), self.file(&format!("{name}.key")));
        for path in [&cert, &key] {
            if path.exists() {
                return Err(SecretsError::Exists(path.clone()));
            }
        }
        let issued = self
            .ca()?
            .issue_node(&name)
            .map_err(|source| SecretsError::Identity { path: cert.clone(), source })?;
        write_new(&key, issued.key_pem().as_bytes(), true)?;
        write_new(&cert, issued.cert_pem().as_bytes(), false)
    }

    /// Node `id`'s identity, checked against the CA.
    pub fn node_identity(&self, id: NodeId) -> Result<NodeIdentity, SecretsError> {
        let name = node_name(id);
        let cert_path = self.file(&format!("{name}.crt"));
        let ca = read_text(&self.file("ca.crt"))?;
        let cert = read_text(&cert_path)?;
        let key = read_text(&self.file(&format!("{name}.key")))?;
        NodeIdentity::from_pem(&ca, &cert, &key)
            .map_err(|source| SecretsError::Identity { path: cert_path, source })
    }

    /// The cluster master key.
    pub fn master_key(&self) -> Result<MasterKey, SecretsError> {
        let path = self.file("master.key");
        let bytes = std::fs::read(&path).map_err(|source| SecretsError::Io { path: path.clone(), source })?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretsError::MasterKeyLength(path))?;
        Ok(MasterKey::from_bytes(bytes))
    }
}

fn read_text(path: &Path) -> Result<String, SecretsError> {
    std::fs::read_to_string(path).map_err(|source| SecretsError::Io { path: path.to_owned(), source })
}

/// Writes a new file (never replacing one), synced, private to the owner if `private`.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), SecretsError> {
    let io = |source| SecretsError::Io { path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            SecretsError::Exists(path.to_owned())
        } else {
            io(e)
        }
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_issues_nodes_and_never_overwrites_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = SecretsDir::new(dir.path().join("secrets"));
        secrets.create_cluster("test").unwrap();
        secrets.issue_node(1).unwrap();
        secrets.issue_node(2).unwrap();
        assert_eq!(secrets.node_identity(2).unwrap().name(), "node-2");
        let key = secrets.master_key().unwrap();
        assert!(matches!(secrets.create_cluster("again"), Err(SecretsError::Exists(_))));
        assert!(matches!(secrets.issue_node(1), Err(SecretsError::Exists(_))));
        assert_eq!(secrets.master_key().unwrap().as_bytes(), key.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets/ca.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(secrets.node_identity(3), Err(SecretsError::Io { .. })));
        std::fs::write(dir.path().join("secrets/master.key"), b"short").unwrap();
        assert!(matches!(secrets.master_key(), Err(SecretsError::MasterKeyLength(_))));
    }
}
