//! The secrets folder: the cluster CA, each node's certificate and key, and the master key.
//!
//! ```text
//! secrets/
//!   ca.crt            the cluster CA certificate (every node)
//!   ca.key            the CA's private key (only where certificates are issued)
//!   node-<id>.crt     a node's certificate, named node-<id>
//!   node-<id>.key     its private key
//!   node-<id>-api.crt the certificate node <id>'s HTTPS API serves (see `api_cert`)
//!   node-<id>-api.key its private key
//!   master.key        the cluster master key, 32 bytes (every node)
//! ```
//!
//! Private files are created with mode 0600 and never overwritten: losing the CA key or the
//! master key by a second `init` would orphan a cluster's certificates or data. The API
//! certificate is the exception: nothing depends on its key, and it is issued afresh whenever
//! the names clients use change, so it is replaced (whole: written aside, then renamed).
//!
//! A node refuses to start while `master.key`, `ca.key` or its own keys can be read or written
//! by anyone but their owner ([`SecretsDir::check_private_keys`]): such a key may already have
//! been copied, which only the operator can judge, so the node says how to close it (`chmod 600`)
//! rather than closing it silently. Folders are another matter: the node's data folders are
//! made 0700 ([`private_dir`]), and one found looser (made by an older version, or by hand) is
//! tightened with a log line, since nothing is lost by closing it and refusing would only stop
//! every upgraded node until someone typed the same `chmod`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cairn_raft::NodeId;

use super::api_names::{self, ApiName};
use cairn_block_codec::seal::MasterKey;
use cairn_transport::node_name;
use cairn_transport::{ClusterCa, IdentityError, NodeIdentity, cert_not_after};

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
    /// A private key that others may read or write.
    #[error(
        "{path} may be read or written by other users (mode {mode:04o}); a private key must be \
         readable by its owner only: run `chmod 600 {path}`, and if others could have copied it, \
         treat it as leaked"
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
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
    /// The HTTPS API certificate is missing, unusable, or does not name what clients use.
    #[error("{path}: {reason}")]
    ApiCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong, and how to fix it.
        reason: String,
    },
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
        private_dir(&self.0)?;
        let ca = ClusterCa::generate(cluster_name)
            .map_err(|source| SecretsError::Identity { path: self.file("ca.crt"), source })?;
        write_new(&self.file("ca.key"), ca.key_pem().as_bytes(), true)?;
        write_new(&self.file("ca.crt"), ca.cert_pem().as_bytes(), false)?;
        write_new(&self.file("master.key"), MasterKey::generate().as_bytes(), true)?;
        Ok(ca)
    }

    /// Stores what a joining node was given: the CA certificate, its node certificate (over
    /// `node.key`, made here), its API certificate and key if any, and the master key. Refuses
    /// if any of them exists, so a join never overwrites another cluster's secrets.
    pub fn store_joined(&self, id: NodeId, joined: &JoinedSecrets) -> Result<(), SecretsError> {
        let name = node_name(id);
        let mut files = vec![
            ("ca.crt".to_owned(), joined.ca_cert.as_bytes(), false),
            ("master.key".to_owned(), joined.master_key.as_slice(), true),
            (format!("{name}.key"), joined.node_key.as_bytes(), true),
            (format!("{name}.crt"), joined.node_cert.as_bytes(), false),
        ];
        if let Some((cert, key)) = &joined.api {
            files.push((format!("{name}-api.key"), key.as_bytes(), true));
            files.push((format!("{name}-api.crt"), cert.as_bytes(), false));
        }
        for (file, _, _) in &files {
            if self.file(file).exists() {
                return Err(SecretsError::Exists(self.file(file)));
            }
        }
        private_dir(&self.0)?;
        for (file, bytes, private) in files {
            write_new(&self.file(&file), bytes, private)?;
        }
        // Loading the identity checks the three fit together before the node relies on them.
        self.node_identity(id).map(drop)
    }

    /// Replaces node `id`'s certificate and key (and its API pair, if given) with renewed ones,
    /// after checking the new pair against the CA; the old pair is kept as `*.old` until the
    /// next renewal, in case the node must go back to it.
    pub fn store_renewed(
        &self,
        id: NodeId,
        node: (&str, &str),
        api: Option<(&str, &str)>,
    ) -> Result<(), SecretsError> {
        let name = node_name(id);
        let cert_path = self.file(&format!("{name}.crt"));
        let ca = read_text(&self.file("ca.crt"))?;
        NodeIdentity::from_pem(&ca, node.0, node.1)
            .map_err(|source| SecretsError::Identity { path: cert_path.clone(), source })?;
        let (api_cert, api_key) = self.api_files(id);
        let mut pairs = vec![(cert_path, self.file(&format!("{name}.key")), node)];
        if let Some(api) = api {
            pairs.push((api_cert, api_key, api));
        }
        for (cert_path, key_path, (cert, key)) in pairs {
            for (path, bytes, private) in [(&key_path, key, true), (&cert_path, cert, false)] {
                if let Ok(old) = std::fs::read(path) {
                    let mut aside = path.as_os_str().to_owned();
                    aside.push(".old");
                    replace(Path::new(&aside), &old, private)?;
                }
                replace(path, bytes.as_bytes(), private)?;
            }
        }
        Ok(())
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

    /// Whether the CA's private key is here, so certificates can be issued on this machine.
    pub fn has_ca_key(&self) -> bool {
        self.file("ca.key").is_file()
    }

    /// The certificate and key files of node `id`'s HTTPS API.
    pub fn api_files(&self, id: NodeId) -> (PathBuf, PathBuf) {
        let name = node_name(id);
        (self.file(&format!("{name}-api.crt")), self.file(&format!("{name}-api.key")))
    }

    /// Issues node `id`'s HTTPS API certificate for `names`, replacing an older one.
    pub fn issue_api(&self, id: NodeId, names: &[ApiName]) -> Result<(), SecretsError> {
        let (cert_path, key_path) = self.api_files(id);
        let (dns, ips) = api_names::split(names);
        let (cert, key) = self
            .ca()?
            .issue_api(&api_names::subject(&node_name(id)), &dns, &ips)
            .map_err(|source| SecretsError::Identity { path: cert_path.clone(), source })?;
        replace(&key_path, key.as_bytes(), true)?;
        replace(&cert_path, cert.as_bytes(), false)
    }

    /// The cluster CA certificate, node `id`'s API certificate and its key, PEM, unchecked.
    pub fn read_api(&self, id: NodeId) -> Result<(String, String, String), SecretsError> {
        let (cert, key) = self.api_files(id);
        Ok((read_text(&self.file("ca.crt"))?, read_text(&cert)?, read_text(&key)?))
    }

    /// Refuses (naming the fix) if `master.key`, `ca.key` (where it is kept) or node `id`'s own
    /// keys may be read or written by anyone but their owner. A missing key is left to the code
    /// that needs it, which says so.
    pub fn check_private_keys(&self, id: NodeId) -> Result<(), SecretsError> {
        let name = node_name(id);
        for file in
            ["master.key".to_owned(), "ca.key".to_owned(), format!("{name}.key"), format!("{name}-api.key")]
        {
            check_private(&self.file(&file))?;
        }
        Ok(())
    }

    /// The certificates of this folder (`*.crt`) that stop being valid before `by`, soonest
    /// first: what `status` warns of, while there is time to renew them.
    pub fn expiring(&self, by: SystemTime) -> Result<Vec<(PathBuf, SystemTime)>, SecretsError> {
        let entries =
            std::fs::read_dir(&self.0).map_err(|source| SecretsError::Io { path: self.0.clone(), source })?;
        let mut expiring = Vec::new();
        for entry in entries {
            let path = entry.map_err(|source| SecretsError::Io { path: self.0.clone(), source })?.path();
            if path.extension().is_none_or(|e| e != "crt") {
                continue;
            }
            let not_after = cert_not_after(&read_text(&path)?)
                .map_err(|source| SecretsError::Identity { path: path.clone(), source })?;
            if not_after < by {
                expiring.push((path, not_after));
            }
        }
        expiring.sort_by_key(|(_, not_after)| *not_after);
        Ok(expiring)
    }

    /// The cluster master key.
    pub fn master_key(&self) -> Result<MasterKey, SecretsError> {
        let path = self.file("master.key");
        let bytes = std::fs::read(&path).map_err(|source| SecretsError::Io { path: path.clone(), source })?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretsError::MasterKeyLength(path))?;
        Ok(MasterKey::from_bytes(bytes))
    }
}

/// What a joining node was given, and the node key it made itself (see
/// [`SecretsDir::store_joined`]).
pub struct JoinedSecrets {
    /// The cluster CA certificate, PEM.
    pub ca_cert: String,
    /// The node's certificate, PEM.
    pub node_cert: String,
    /// The node's private key, PEM (never left the machine).
    pub node_key: String,
    /// The API certificate and private key, PEM, if the node serves HTTPS.
    pub api: Option<(String, String)>,
    /// The cluster master key.
    pub master_key: [u8; 32],
}

impl std::fmt::Debug for JoinedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys stay out of logs.
        f.debug_struct("JoinedSecrets").finish_non_exhaustive()
    }
}

/// Refuses `path` if its group or others have any permission on it; a missing file passes.
pub fn check_private(path: &Path) -> Result<(), SecretsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(SecretsError::Io { path: path.to_owned(), source }),
        };
        if mode & 0o077 != 0 {
            return Err(SecretsError::TooOpen { path: path.to_owned(), mode });
        }
    }
    Ok(())
}

/// Makes folder `path` (and any missing parents) with mode 0700, or tightens an existing one to
/// 0700 with a warning; returns whether it had to tighten it.
pub fn private_dir(path: &Path) -> Result<bool, SecretsError> {
    let io = |source| SecretsError::Io { path: path.to_owned(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(io)?;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
            tracing::warn!(
                "{} was open to other users (mode {mode:04o}): made it 0700, private to this node's user",
                path.display()
            );
            return Ok(true);
        }
        Ok(false)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(path).map_err(io)?;
        Ok(false)
    }
}

fn read_text(path: &Path) -> Result<String, SecretsError> {
    std::fs::read_to_string(path).map_err(|source| SecretsError::Io { path: path.to_owned(), source })
}

/// Replaces `path` with a new file of `bytes`, written aside and renamed over it, so a reader
/// sees the old file or the new one, never half of one.
fn replace(path: &Path, bytes: &[u8], private: bool) -> Result<(), SecretsError> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".new");
    let aside = PathBuf::from(aside);
    match std::fs::remove_file(&aside) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(SecretsError::Io { path: aside, source: e });
        }
        _ => {}
    }
    write_new(&aside, bytes, private)?;
    std::fs::rename(&aside, path).map_err(|source| SecretsError::Io { path: path.to_owned(), source })
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

    /// A self-signed certificate valid for `days` from now, as PEM.
    fn cert_for_days(days: u64) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["node-9".to_owned()]).unwrap();
        params.not_after = (SystemTime::now() + std::time::Duration::from_secs(days * 86_400)).into();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn certificates_ending_soon_are_found_soonest_first() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = SecretsDir::new(dir.path());
        secrets.create_cluster("test").unwrap();
        secrets.issue_node(1).unwrap();
        std::fs::write(dir.path().join("node-9.crt"), cert_for_days(10)).unwrap();
        std::fs::write(dir.path().join("node-8-api.crt"), cert_for_days(3)).unwrap();
        let month = SystemTime::now() + std::time::Duration::from_secs(30 * 86_400);
        let names: Vec<_> = secrets
            .expiring(month)
            .unwrap()
            .into_iter()
            .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // The CA and node 1 are issued for years.
        assert_eq!(names, ["node-8-api.crt", "node-9.crt"]);
        std::fs::write(dir.path().join("node-7.crt"), "not a certificate").unwrap();
        assert!(matches!(secrets.expiring(month), Err(SecretsError::Identity { .. })));
    }

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

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    #[test]
    fn keys_open_to_others_are_refused_with_the_command_that_closes_them() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = SecretsDir::new(dir.path().join("secrets"));
        secrets.create_cluster("test").unwrap();
        secrets.issue_node(1).unwrap();
        assert_eq!(mode_of(secrets.path()), 0o700);
        secrets.check_private_keys(1).unwrap();
        for file in ["master.key", "ca.key", "node-1.key"] {
            let path = secrets.path().join(file);
            for loose in [0o640, 0o604, 0o620, 0o602, 0o644, 0o666] {
                set_mode(&path, loose);
                let err = secrets.check_private_keys(1).unwrap_err();
                assert!(matches!(&err, SecretsError::TooOpen { mode, .. } if *mode == loose), "{err}");
                let text = err.to_string();
                assert!(text.contains(&format!("chmod 600 {}", path.display())), "{text}");
            }
            // Stricter than 0600 is fine too.
            set_mode(&path, 0o400);
            secrets.check_private_keys(1).unwrap();
            set_mode(&path, 0o600);
        }
        // A node whose secrets folder holds no CA key (only where certificates are issued).
        std::fs::remove_file(secrets.path().join("ca.key")).unwrap();
        secrets.check_private_keys(1).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn data_folders_are_made_private_and_loose_ones_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("a/b/data");
        assert!(!private_dir(&fresh).unwrap());
        assert_eq!(mode_of(&fresh), 0o700);
        let loose = dir.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        set_mode(&loose, 0o755);
        assert!(private_dir(&loose).unwrap(), "a loose folder is reported");
        assert_eq!(mode_of(&loose), 0o700);
        assert!(!private_dir(&loose).unwrap(), "a private folder is left alone");
    }

    #[test]
    fn an_api_certificate_is_issued_for_its_names_and_replaced_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = SecretsDir::new(dir.path());
        secrets.create_cluster("test").unwrap();
        assert!(secrets.has_ca_key());
        assert!(matches!(secrets.read_api(1), Err(SecretsError::Io { .. })));
        let first = vec![ApiName::Dns("localhost".into()), ApiName::Ip("127.0.0.1".parse().unwrap())];
        secrets.issue_api(1, &first).unwrap();
        let check = |names: &[ApiName]| {
            let (ca, cert, key) = secrets.read_api(1).unwrap();
            crate::api_cert::ApiCertificate::from_pem(&ca, &cert, &key).unwrap().check_names(names)
        };
        check(&first).unwrap();
        let mut second = first.clone();
        second.push(ApiName::Dns("drive.example.org".into()));
        assert!(check(&second).is_err());
        secrets.issue_api(1, &second).unwrap();
        check(&second).unwrap();
        assert!(!dir.path().join("node-1-api.key.new").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("node-1-api.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
