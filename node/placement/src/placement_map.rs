//! The cluster map placement works on: which nodes exist, in which zone, in which role, with what
//! weight. Pure data; the Raft state machine owns the authoritative copy.

use serde::{Deserialize, Serialize};

/// A node's id, the same number openraft knows it by.
pub type NodeId = u64;

/// What a node is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacementRole {
    /// Holds shards of hot blocks (and of archived ones when there are no archive nodes).
    Storage,
    /// Holds shards of the archive tier: large, slow, cheap disks.
    Archive,
    /// Serves clients and metadata, holds no shards.
    Gateway,
}

/// One node as placement sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Failure domain: a rack, a room, a site. Nodes that fail together share a zone.
    pub zone: String,
    /// What the node is for.
    pub role: PlacementRole,
    /// Relative share of shards; 0 drains the node (it receives no new shards).
    pub weight: u32,
}

/// The nodes placement may choose from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementMap {
    /// Every node, in any order; placement does not depend on the order.
    pub nodes: Vec<NodeInfo>,
}

impl PlacementMap {
    /// A map of `nodes`.
    pub fn new(nodes: Vec<NodeInfo>) -> Self {
        Self { nodes }
    }

    /// The node with `id`, if any.
    pub fn node(&self, id: NodeId) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == id)
    }
}
