//! The service's wire vocabulary. Every payload is postcard; every answer is a
//! `Result<T, ServiceError>`, so a caller always learns why a call failed.

use std::collections::BTreeMap;

use cairn_raft::model::{Request, Response};
use cairn_raft::{NodeAddr, NodeId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Writes: `Vec<Request>` in, `Result<Vec<Response>, ServiceError>` out, one response per request.
pub const KIND_PROPOSE: u8 = 10;
/// Writes forwarded by a follower: as [`KIND_PROPOSE`], but the receiver proposes only if it
/// leads and never forwards again, so a stale leader hint cannot make requests circle.
pub const KIND_PROPOSE_FORWARDED: u8 = 11;
/// Read index: `()` in, `Result<u64, ServiceError>` out: the log index a read must wait for.
/// Asked of the leader by a follower serving a linearizable read.
pub const KIND_READ_INDEX: u8 = 12;
/// A linearizable read: `Query` in, `Result<Answer, ServiceError>` out.
pub const KIND_QUERY: u8 = 13;
/// This node's status: `()` in, `Result<NodeStatus, ServiceError>` out.
pub const KIND_STATUS: u8 = 14;
/// A membership change: `AdminCommand` in, `Result<NodeStatus, ServiceError>` out (the leader's
/// status after the change).
pub const KIND_ADMIN: u8 = 15;
/// A membership change forwarded by a follower; like [`KIND_PROPOSE_FORWARDED`].
pub const KIND_ADMIN_FORWARDED: u8 = 16;

/// A metadata backup, in steps: `BackupCall` in; the answer depends on the step (see
/// [`BackupCall`]). Answered for any cluster certificate, so an operator's command may take one.
pub const KIND_BACKUP: u8 = 17;

/// Rolling upgrades: `UpgradeCall` in; the answer depends on the call (see [`UpgradeCall`]).
/// Answered for any cluster certificate. A node of a release before versions were kept answers
/// it as an unknown kind, which is how the caller learns that it runs that release.
pub const KIND_UPGRADE: u8 = 18;

/// A call about the cluster version (see `cairn_raft::model::version`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpgradeCall {
    /// Which release the node runs and which cluster versions it runs at. Answer:
    /// `Result<NodeVersion, ServiceError>`.
    Version,
    /// The cluster version in force and what every member runs. Answer:
    /// `Result<UpgradeReport, ServiceError>`.
    Status,
    /// Raise the cluster version to the newest every member runs at, on the leader (a follower
    /// forwards it). Answer: `Result<UpgradeReport, ServiceError>`, after the raise; refused with
    /// [`ServiceError::Upgrade`] naming the members that hold it back.
    Finalize,
    /// [`UpgradeCall::Finalize`] forwarded by a follower: done only if the receiver leads.
    FinalizeForwarded,
}

/// The release a node runs, as it says itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeVersion {
    /// The release (the crate version, `0.1.0`).
    pub release: String,
    /// The oldest cluster version it runs at.
    pub oldest: u32,
    /// The newest cluster version it runs at.
    pub newest: u32,
}

/// The cluster version, and what every member said of its release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeReport {
    /// The cluster version in force.
    pub cluster_version: u32,
    /// Each member's release, or why it did not say.
    pub members: BTreeMap<NodeId, Result<NodeVersion, String>>,
}

/// The most bytes one [`BackupCall::Read`] returns: well under the transport's frame limit, so a
/// backup of any size travels as many calls of one bounded frame each.
pub const BACKUP_CHUNK_MAX: u32 = 8 * 1024 * 1024;

/// One step of fetching a metadata backup from a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupCall {
    /// Take a backup at a linearizable point: the node waits until its state holds every write
    /// acknowledged before the call, then packs a copy of it. Answer:
    /// `Result<BackupTaken, ServiceError>`.
    Take,
    /// Up to `len` bytes (at most [`BACKUP_CHUNK_MAX`]) of backup `name` from `offset`; fewer at
    /// its end. Answer: `Result<Vec<u8>, ServiceError>`.
    Read {
        /// The backup, as [`BackupTaken::name`] gave it.
        name: String,
        /// Where to start.
        offset: u64,
        /// How many bytes to read at most.
        len: u32,
    },
    /// The caller has what it needs: the node removes its packed copy. Answer:
    /// `Result<(), ServiceError>`.
    Done {
        /// The backup.
        name: String,
    },
}

/// A backup taken on a node, waiting there to be fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupTaken {
    /// Its name, for the reads.
    pub name: String,
    /// The node that took it.
    pub node: NodeId,
    /// The index of the last log entry it holds: at or after the read index it waited for.
    pub index: u64,
    /// The term of that entry.
    pub term: u64,
    /// Length of the packed state (a tar file) in bytes.
    pub len: u64,
    /// Its blake3 hash, so the caller can check what it fetched.
    pub blake3: [u8; 32],
}

/// Why a service call failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ServiceError {
    /// No leader is known (an election is under way, or too few voters are up). Retryable.
    #[error("no leader is known yet (election in progress or quorum lost)")]
    NoLeader,
    /// A forwarded call reached a node that does not lead. Retryable, via `leader`.
    #[error("node {node} does not lead; leader is {leader:?}")]
    NotLeader {
        /// The node that refused.
        node: NodeId,
        /// Who it thinks leads.
        leader: Option<NodeId>,
    },
    /// The leader could not be reached or did not answer in time. Retryable.
    #[error("leader unreachable: {0}")]
    Unreachable(String),
    /// The call did not finish within its deadline. Retryable (writes are idempotent).
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The node is shutting down. Retryable on another node.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// The payload could not be decoded: a client bug or a version mismatch.
    #[error("undecodable request: {0}")]
    Undecodable(String),
    /// The caller's certificate does not allow this call.
    #[error("{peer} may not call {what}")]
    Forbidden {
        /// Who called.
        peer: String,
        /// What it called.
        what: String,
    },
    /// A membership change that cannot be made (unknown node, removing the last voter, …).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// The metadata state could not be read or Raft failed on this node. Not retryable here.
    #[error("node failure: {0}")]
    Internal(String),
    /// The cluster version cannot be raised yet, and why.
    #[error("upgrade refused: {0}")]
    Upgrade(String),
}

impl ServiceError {
    /// Whether the same call may succeed if sent again, here or to another node.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::NoLeader
                | Self::NotLeader { .. }
                | Self::Unreachable(_)
                | Self::Timeout(_)
                | Self::ShuttingDown
        )
    }
}

/// A membership change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminCommand {
    /// Adds a node as a learner and waits until it has caught up with the log.
    AddLearner {
        /// The new node's id.
        id: NodeId,
        /// Its addresses.
        addr: NodeAddr,
    },
    /// Makes a learner a voter.
    Promote {
        /// The learner.
        id: NodeId,
    },
    /// Removes a node, voter or learner, from the cluster.
    Remove {
        /// The node.
        id: NodeId,
    },
}

/// One node's view of the cluster and of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// This node's id.
    pub id: NodeId,
    /// Leader, Follower, Candidate, Learner or Shutdown.
    pub state: String,
    /// The current term.
    pub term: u64,
    /// Who this node thinks leads.
    pub leader: Option<NodeId>,
    /// The last index in its log.
    pub last_log_index: Option<u64>,
    /// The last index its state machine applied.
    pub applied_index: Option<u64>,
    /// The last index in its current snapshot.
    pub snapshot_index: Option<u64>,
    /// The last index purged from its log.
    pub purged_index: Option<u64>,
    /// Voters of the effective membership.
    pub voters: Vec<NodeId>,
    /// Every member (voters and learners) and its addresses.
    pub members: BTreeMap<NodeId, NodeAddr>,
    /// On the leader: each member's matched log index (`None`: nothing replicated yet).
    pub replication: Option<BTreeMap<NodeId, Option<u64>>>,
    /// Milliseconds since the leader last heard from a quorum (on the leader only).
    pub millis_since_quorum_ack: Option<u64>,
    /// Seconds since this node started.
    pub uptime_secs: u64,
    /// The node's block work: writes, reads, repair, scrub, GC.
    pub blocks: Option<crate::BlockStats>,
}

/// Encodes a payload; postcard fails only on types serde cannot express, which ours never are.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).unwrap_or_default()
}

/// Decodes a payload, naming what was expected in the error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    postcard::from_bytes(bytes)
        .map_err(|e| ServiceError::Undecodable(format!("{}: {e}", std::any::type_name::<T>())))
}

/// What a node answers for a proposal.
pub type ProposeResult = Result<Vec<Response>, ServiceError>;
/// What a caller sends for a proposal.
pub type ProposePayload = Vec<Request>;
