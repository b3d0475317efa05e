//! `cairn-node backup`: fetches a metadata backup from a running node into one file.
//!
//! The node takes the backup at a linearizable point (see `MetaService::take_backup`) and keeps
//! it packed until fetched; this side reads it in chunks of at most
//! [`BACKUP_CHUNK_MAX`] bytes, each one bounded transport frame, checks the whole against the
//! hash the node computed, and writes the file next to OUT (`OUT.partial`), checked once more
//! as `restore` will read it, then renamed to OUT. A failure at any step leaves OUT as it was.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use cairn_metadata::messages::{BACKUP_CHUNK_MAX, BackupCall, BackupTaken, KIND_BACKUP, encode};

use super::BackupError;
use super::file::{self, BackupHeader, FORMAT};
use crate::cluster_client::ClusterClient;
use crate::config::NodeConfig;
use crate::join::token::fingerprint_text;
use crate::secrets::SecretsDir;

/// How long one call of a backup may take: taking it packs the whole state, which for a large
/// drive takes far longer than an ordinary call.
const CALL_DEADLINE: Duration = Duration::from_secs(600);

/// Takes a backup through the node `config` describes and writes it to `out`; refuses an
/// existing `out` unless `force`. `now_ms` is when it is taken, for the header. Returns the
/// header written.
pub async fn take(
    config: &NodeConfig,
    out: &Path,
    force: bool,
    now_ms: u64,
) -> Result<BackupHeader, BackupError> {
    if out.is_dir() {
        return Err(BackupError::Refused(format!("{} is a folder; give a file name", out.display())));
    }
    if out.exists() && !force {
        return Err(BackupError::Refused(format!(
            "{} exists; give another name, or --force to replace it",
            out.display()
        )));
    }
    let partial = partial_path(out);
    let cluster_ca = ca_fingerprint(config)?;
    let identity = SecretsDir::new(&config.secrets_dir).node_identity(config.id)?;
    let client = ClusterClient::new(&identity, vec![(config.id, config.advertised())], CALL_DEADLINE).await?;
    let result = fetch(&client, config, &partial, cluster_ca, now_ms).await;
    client.shutdown().await;
    let header = match result {
        Ok(header) => header,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // Read back as `restore` reads it, before it may replace anything.
    if let Err(e) = file::verify(&partial) {
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    std::fs::rename(&partial, out).map_err(|e| BackupError::io(out, e))?;
    sync_parent(out)?;
    Ok(header)
}

async fn fetch(
    client: &ClusterClient,
    config: &NodeConfig,
    partial: &Path,
    cluster_ca: Option<String>,
    now_ms: u64,
) -> Result<BackupHeader, BackupError> {
    let taken: BackupTaken = client.call_node(config.id, KIND_BACKUP, encode(&BackupCall::Take)).await?;
    let header = BackupHeader {
        format: FORMAT,
        cluster_ca,
        index: taken.index,
        term: taken.term,
        node: taken.node,
        taken_ms: now_ms,
        taken: httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(now_ms)),
        body_len: taken.len,
        body_blake3: blake3::Hash::from_bytes(taken.blake3).to_hex().to_string(),
    };
    let mut out = std::fs::File::create(partial).map_err(|e| BackupError::io(partial, e))?;
    out.write_all(&file::encode_prefix(&header)).map_err(|e| BackupError::io(partial, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut offset = 0u64;
    while offset < taken.len {
        let call = BackupCall::Read { name: taken.name.clone(), offset, len: BACKUP_CHUNK_MAX };
        let chunk: Vec<u8> = client.call_node(config.id, KIND_BACKUP, encode(&call)).await?;
        if chunk.is_empty() {
            return Err(BackupError::Refused(format!(
                "node {} sent {offset} of the backup's {} bytes, then nothing",
                taken.node, taken.len
            )));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).map_err(|e| BackupError::io(partial, e))?;
        offset += chunk.len() as u64;
    }
    if offset != taken.len || hasher.finalize().as_bytes() != &taken.blake3 {
        return Err(BackupError::Refused(format!(
            "the backup node {} sent does not match the hash it gave for it: try again",
            taken.node
        )));
    }
    out.sync_all().map_err(|e| BackupError::io(partial, e))?;
    // The node may drop its copy now; if this call fails, it drops it later by itself.
    let done = BackupCall::Done { name: taken.name.clone() };
    if let Err(e) = client.call_node::<()>(config.id, KIND_BACKUP, encode(&done)).await {
        tracing::warn!(error = %e, "the node could not remove its copy of the backup; it does so within the hour");
    }
    Ok(header)
}

/// `OUT.partial`, beside OUT.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

/// The cluster CA's fingerprint, from the secrets folder of the node asked.
fn ca_fingerprint(config: &NodeConfig) -> Result<Option<String>, BackupError> {
    let path = config.secrets_dir.join("ca.crt");
    let pem = std::fs::read_to_string(&path).map_err(|e| BackupError::io(&path, e))?;
    let fingerprint = cairn_transport::cert_fingerprint(&pem)
        .map_err(|e| BackupError::Refused(format!("{}: {e}", path.display())))?;
    Ok(Some(fingerprint_text(&fingerprint)))
}

/// Makes a rename in `path`'s folder durable.
fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent).and_then(|d| d.sync_all()).map_err(|e| BackupError::io(parent, e))
}
