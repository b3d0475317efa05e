//! The openraft type configuration: what a log entry carries and what a node is.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::model::ids::NodeId;
use crate::model::{Request, Response};

/// How to reach a node: its QUIC endpoint for Raft and shards, and its HTTP API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// `host:port` of the node-to-node QUIC endpoint.
    pub raft_addr: String,
    /// `host:port` of the client HTTP API.
    pub api_addr: String,
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "raft {} / api {}", self.raft_addr, self.api_addr)
    }
}

/// What one log entry carries: the requests a node gathered while its previous entry was being
/// written. Batching many requests into one entry makes one fsync and one replication round
/// serve them all, which is where the commit rate under many writers comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal(pub Vec<Request>);

impl From<Request> for Proposal {
    fn from(request: Request) -> Self {
        Self(vec![request])
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proposal of {} requests", self.0.len())
    }
}

openraft::declare_raft_types!(
    /// cairn's Raft types: batches of metadata requests in, one response per request out,
    /// snapshots as files.
    pub TypeConfig:
        D = Proposal,
        R = Vec<Response>,
        NodeId = NodeId,
        Node = NodeAddr,
        SnapshotData = tokio::fs::File,
);
