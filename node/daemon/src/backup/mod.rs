//! Metadata backup, restore and forced recovery: the commands an operator reaches for when
//! metadata must be carried elsewhere or a cluster has lost its quorum for good.
//!
//! - [`file`]: the backup file: a checked header and the packed state machine.
//! - [`take`]: `cairn-node backup`: a backup taken by a running node at a linearizable point,
//!   fetched in chunks into one file.
//! - [`restore`]: `cairn-node restore`: a new one-member cluster seeded from a backup.
//! - [`recover`]: `cairn-node recover --force-new-cluster`: a stopped survivor made a one-member
//!   cluster from its own state.
//!
//! Restore and recover share the seeding of `cairn_raft::storage::seed`; [`render_seeded`] says
//! what it did and what the operator does next.

pub mod file;
pub mod recover;
pub mod restore;
pub mod take;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cairn_raft::storage::seed::{SeedError, Seeded};

use crate::cluster_client::ClusterClientError;
use crate::secrets::SecretsError;
use file::BackupFileError;

/// Why a backup, restore or recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The node's secrets are missing or unusable.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The node could not be asked.
    #[error(transparent)]
    Client(#[from] ClusterClientError),
    /// The backup file is not usable.
    #[error(transparent)]
    File(#[from] BackupFileError),
    /// Seeding the new cluster failed.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The command refuses to go on, and says why.
    #[error("{0}")]
    Refused(String),
}

impl BackupError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// What a seeded node is now, what the old cluster's nodes and blocks became, and what to do
/// next.
pub fn render_seeded(id: cairn_raft::NodeId, seeded: &Seeded) -> String {
    let list = |nodes: &mut dyn Iterator<Item = &cairn_raft::NodeId>| {
        nodes.map(ToString::to_string).collect::<Vec<_>>().join(", ")
    };
    let mut out = String::new();
    let last = seeded.last_applied;
    let _ = writeln!(
        out,
        "node {id} is now the only voter of a new cluster holding the metadata up to index {} (term {})",
        last.index, last.leader_id.term
    );
    if !seeded.old_voters.is_empty() {
        let _ = writeln!(out, "  the old cluster's voters: {}", list(&mut seeded.old_voters.iter()));
    }
    if seeded.removed.is_empty() {
        let _ = writeln!(out, "  no other node was in the cluster map");
    } else {
        let _ = writeln!(
            out,
            "  removed from the cluster map: {} (their shards count as lost; repair rebuilds them \
             from what survives once enough nodes have joined)",
            list(&mut seeded.removed.iter())
        );
    }
    let shards = &seeded.shards;
    let lost: Vec<String> = shards
        .by_lost
        .iter()
        .map(|(n, blocks)| format!("{blocks} lost {n} shard{}", if *n == 1 { "" } else { "s" }))
        .collect();
    let _ = writeln!(
        out,
        "  blocks: {} recorded; {}; {} cannot be rebuilt (fewer than k shards left on node {id})",
        shards.blocks,
        if lost.is_empty() { "none lost a shard".to_owned() } else { lost.join(", ") },
        shards.unrecoverable
    );
    let avoid = if seeded.removed.is_empty() {
        String::new()
    } else {
        format!(" under new ids (not {}: block records still name them)", list(&mut seeded.removed.iter()))
    };
    let _ = writeln!(
        out,
        "next: cairn-node start -c <this config>; then add nodes with `cairn-node join-token` and \
         `cairn-node join`{avoid}; `cairn-node status` shows repair's progress"
    );
    out
}
