//! `cairn-node restore`: seeds a new cluster from a metadata backup, on a node whose data
//! folder holds no Raft state yet.
//!
//! The backup carries no secret: the node's `secrets_dir` must hold the old cluster's CA
//! (`ca.crt`, and `ca.key` to issue certificates) and master key (`master.key`, without which
//! no block can be opened). The CA must be the one the backup names, checked by fingerprint, so
//! a restore never pairs metadata with keys that cannot read its blocks. The whole file is
//! verified before anything is written; then the state is installed and the node becomes the
//! only voter of a new cluster (see `cairn_raft::storage::seed`), ready for `cairn-node start`.

use std::path::Path;

use cairn_raft::storage::seed::{self, NewMember, Seeded};

use super::BackupError;
use super::file::{self, BackupHeader};
use crate::config::NodeConfig;
use crate::join::token::fingerprint_text;
use crate::secrets::{SecretsDir, private_dir};

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The backup's header.
    pub header: BackupHeader,
    /// The seeded state.
    pub seeded: Seeded,
}

/// Restores `backup` onto the node `config` describes; `now_ms` stamps the cluster-map changes.
pub fn restore(config: &NodeConfig, backup: &Path, now_ms: u64) -> Result<Restored, BackupError> {
    let (log_dir, state_dir) = (config.data_dir.join("raft-log"), config.data_dir.join("state"));
    for dir in [&log_dir, &state_dir] {
        if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
            return Err(BackupError::Refused(format!(
                "{} already holds a node's Raft state; restore seeds new clusters only: give this \
                 node an empty data_dir (a shards/ folder in it may stay)",
                dir.display()
            )));
        }
    }
    let verified = file::verify(backup)?;
    check_secrets(config, &verified.header)?;
    private_dir(&config.data_dir)?;
    let member = NewMember { id: config.id, addr: config.node_addr(), now_ms };
    let seeded = seed::restore(file::open_body(backup, &verified)?, &log_dir, &state_dir, &member)?;
    Ok(Restored { header: verified.header, seeded })
}

/// The old cluster's secrets must be in place: its CA, the one the backup names, and its
/// master key. The node's own certificates are issued here if the CA key allows, as `init` does.
fn check_secrets(config: &NodeConfig, header: &BackupHeader) -> Result<(), BackupError> {
    let dir = &config.secrets_dir;
    let missing = |what: &str| {
        BackupError::Refused(format!(
            "{} holds no {what}: a backup carries no secrets; copy the old cluster's ca.crt, ca.key \
             and master.key into {} and run restore again",
            dir.display(),
            dir.display()
        ))
    };
    let ca_path = dir.join("ca.crt");
    let pem = std::fs::read_to_string(&ca_path).map_err(|_| missing("ca.crt"))?;
    let fingerprint = cairn_transport::cert_fingerprint(&pem)
        .map_err(|e| BackupError::Refused(format!("{}: {e}", ca_path.display())))?;
    let fingerprint = fingerprint_text(&fingerprint);
    if let Some(theirs) = &header.cluster_ca
        && *theirs != fingerprint
    {
        return Err(BackupError::Refused(format!(
            "the backup is of the cluster whose CA has fingerprint {theirs}, but {} has fingerprint \
             {fingerprint}: copy the old cluster's ca.crt, ca.key and master.key into {}",
            ca_path.display(),
            dir.display()
        )));
    }
    if !dir.join("master.key").exists() {
        return Err(missing("master.key"));
    }
    let secrets = SecretsDir::new(dir);
    secrets.master_key()?;
    if !dir.join(format!("node-{}.crt", config.id)).exists() {
        if !secrets.has_ca_key() {
            return Err(missing("ca.key (needed to issue this node's certificate)"));
        }
        secrets.issue_node(config.id)?;
    }
    if config.network.api_tls {
        let (cert, _) = secrets.api_files(config.id);
        if !cert.exists() && secrets.has_ca_key() {
            secrets.issue_api(config.id, &crate::api_cert::wanted_for(config))?;
        }
    }
    secrets.node_identity(config.id)?;
    Ok(())
}
