//! Where a block's shards live: a cluster map of nodes, and rendezvous hashing over it.

pub mod cluster_map;
pub mod rendezvous;

pub use cluster_map::{ClusterMap, NodeId, NodeInfo, Role};
pub use rendezvous::{Placement, PlacementError, fill, place};
