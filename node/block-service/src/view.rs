//! The cluster as the block layer sees it: every node's address, zone and state, joined from
//! the Raft membership (addresses) and the cluster map (zones, states), and the placement map
//! derived from it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use cairn_raft::NodeId;
use cairn_raft::model::cluster::{NodeRecord, NodeState};
use cairn_raft::model::{Answer, Query};

use cairn_metadata::MetaService;
use cairn_placement::{NodeInfo, PlacementMap, PlacementRole};

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerNode {
    /// Its id.
    pub id: NodeId,
    /// Its QUIC address.
    pub addr: Option<SocketAddr>,
    /// Its zone (`default` until the node has registered itself).
    pub zone: String,
    /// Whether it takes new shards.
    pub state: NodeState,
}

/// Every node the block layer may talk to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// By id.
    pub nodes: BTreeMap<NodeId, PeerNode>,
}

impl ClusterView {
    /// The view from this node's local metadata (no read barrier: placement is a choice, and
    /// every choice is recorded and checked through Raft).
    pub fn load(service: &MetaService) -> Self {
        let mut nodes: BTreeMap<NodeId, PeerNode> = BTreeMap::new();
        if let Ok(Answer::ClusterMap(map)) = service.local(&Query::ClusterMap) {
            for NodeRecord { spec, state, .. } in map.nodes {
                // Every role the map has (voter, learner, storage-only) stores shards.
                nodes.insert(
                    spec.id,
                    PeerNode { id: spec.id, addr: spec.quic_addr.parse().ok(), zone: spec.zone, state },
                );
            }
        }
        for (id, addr) in service.members() {
            let entry = nodes.entry(id).or_insert_with(|| PeerNode {
                id,
                addr: None,
                zone: "default".into(),
                state: NodeState::Active,
            });
            // The membership's address is the one Raft uses, so it is the freshest.
            if let Ok(parsed) = addr.raft_addr.parse() {
                entry.addr = Some(parsed);
            }
        }
        Self { nodes }
    }

    /// The address of node `id`.
    pub fn addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.nodes.get(&id).and_then(|n| n.addr)
    }

    /// Whether node `id` is known and not marked down.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|n| !n.state.is_down())
    }

    /// The nodes new shards may go to: active, reachable, and not in `exclude`.
    pub fn placement_map(&self, exclude: &[NodeId]) -> PlacementMap {
        self.map_of(|n| n.state == NodeState::Active && n.addr.is_some() && !exclude.contains(&n.id))
    }

    /// The nodes placement should put shards on, for rebalance: every node but draining ones,
    /// down or not, so that a node down for a moment keeps its share.
    pub fn target_map(&self) -> PlacementMap {
        self.map_of(|n| !n.state.is_draining() && n.addr.is_some())
    }

    /// Every known node, down or not: where a shard that could not be written is recorded as
    /// owed, so repair knows a slot to fill.
    pub fn full_map(&self) -> PlacementMap {
        self.map_of(|_| true)
    }

    fn map_of(&self, keep: impl Fn(&PeerNode) -> bool) -> PlacementMap {
        PlacementMap::new(
            self.nodes
                .values()
                .filter(|n| keep(n))
                .map(|n| NodeInfo {
                    id: n.id,
                    zone: n.zone.clone(),
                    role: PlacementRole::Storage,
                    weight: 100,
                })
                .collect(),
        )
    }
}
