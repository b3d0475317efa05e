//! Where a block's shards live: a cluster map of nodes, and rendezvous hashing over it.

pub mod moved;
pub mod placement_map;
pub mod rendezvous;

pub use moved::rebalanced;
pub use placement_map::{NodeId, NodeInfo, PlacementMap, PlacementRole};
pub use rendezvous::{Placement, PlacementError, fill, place, zone_limit};
