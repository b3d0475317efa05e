//! The cluster map as durable metadata: every node's addresses, zone, role, state and capacity.
//!
//! This is the record every node agrees on through Raft; the node crate derives its placement
//! view from it. Each change bumps the map's version, so a node can tell a stale copy.

use serde::{Deserialize, Serialize};

use super::ids::NodeId;
use super::txn::decode;
use super::version::{self, Feature};
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// What a node takes part in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeRole {
    /// Votes in the Raft group and stores shards.
    Voter,
    /// Follows the Raft log without voting, and stores shards.
    Learner,
    /// Stores shards only.
    StorageOnly,
}

/// Whether a node takes new work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeState {
    /// Up and taking new shards.
    Active,
    /// Up, but being emptied: no new shards, its shards move elsewhere.
    Draining,
    /// Unreachable since this time (ms since the epoch); repair starts after a grace period.
    Down {
        /// When it was first seen down.
        since_ms: u64,
    },
    /// Being drained, and unreachable since this time: repair rebuilds its shards as for a
    /// down node, and if it comes back it is draining still, not active. A cluster below
    /// version 2 (see [`version`](super::version)) never records it: the previous release cannot
    /// read it, so there a draining node that goes down is [`NodeState::Down`].
    DownDraining {
        /// When it was first seen down.
        since_ms: u64,
    },
}

impl NodeState {
    /// When it was first seen down, if it is down.
    pub fn down_since(self) -> Option<u64> {
        match self {
            NodeState::Down { since_ms } | NodeState::DownDraining { since_ms } => Some(since_ms),
            NodeState::Active | NodeState::Draining => None,
        }
    }

    /// Whether it is marked down.
    pub fn is_down(self) -> bool {
        self.down_since().is_some()
    }

    /// Whether it is being drained, up or down.
    pub fn is_draining(self) -> bool {
        matches!(self, NodeState::Draining | NodeState::DownDraining { .. })
    }
}

/// A change of a node's state, as asked for; `Down` takes its time from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeMark {
    /// Back to [`NodeState::Active`].
    Up,
    /// To [`NodeState::Draining`].
    Draining,
    /// To [`NodeState::Down`], unless it is down already (the first time seen down is kept).
    Down,
    /// The drain is called off: draining becomes active, down and draining becomes down. Only
    /// proposed at cluster version 2 or above (the previous release cannot read it).
    Undrain,
}

/// A node's description, as an operator or the node itself declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Its Raft node id.
    pub id: NodeId,
    /// `host:port` of its node-to-node QUIC endpoint.
    pub quic_addr: String,
    /// `host:port` of its client HTTP API.
    pub api_addr: String,
    /// Its failure domain (rack, room, region); placement spreads a stripe across zones.
    pub zone: String,
    /// What it takes part in.
    pub role: NodeRole,
    /// Bytes it offers for shards.
    pub capacity_bytes: u64,
}

/// A node as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its description.
    pub spec: NodeSpec,
    /// Whether it takes new work.
    pub state: NodeState,
    /// When the record last changed.
    pub updated_ms: u64,
}

/// The whole map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMap {
    /// Bumped by every change; 0 for a map never written.
    pub version: u64,
    /// Every node, by id.
    pub nodes: Vec<NodeRecord>,
}

/// The most nodes the map holds; a bound for reading it whole.
pub const MAX_NODES: usize = 4_096;

const VERSION: &str = "cluster_map";

fn check(spec: &NodeSpec) -> Result<(), String> {
    for (what, addr) in [("QUIC address", &spec.quic_addr), ("API address", &spec.api_addr)] {
        let port = addr.rsplit_once(':').map(|(host, port)| (host.is_empty(), port.parse::<u16>()));
        if !matches!(port, Some((false, Ok(p))) if p != 0) {
            return Err(format!("{what} {addr:?} is not host:port"));
        }
    }
    if spec.zone.is_empty() || spec.zone.len() > 64 {
        return Err("the zone must be 1 to 64 bytes".into());
    }
    Ok(())
}

fn changed<R: StateRead + ?Sized>(txn: &mut Txn<R>) -> Result<Response, StateError> {
    Ok(Response::ClusterMapChanged { version: txn.next_id(VERSION)? })
}

/// Adds a node, or replaces its description; a new node starts [`NodeState::Active`], a known
/// one keeps its state.
pub(super) fn set_node<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    spec: &NodeSpec,
) -> Result<Response, StateError> {
    if let Err(reason) = check(spec) {
        return Ok(Response::Rejected(Rejection::InvalidNode { node: spec.id, reason }));
    }
    let key = spec.id.to_be_bytes();
    if txn.get_raw(Space::Nodes, &key)?.is_none()
        && txn.scan(Space::Nodes, &[], None, MAX_NODES)?.len() >= MAX_NODES
    {
        return Ok(Response::Rejected(Rejection::InvalidNode {
            node: spec.id,
            reason: "the map is full".into(),
        }));
    }
    let state = txn.get::<NodeRecord>(Space::Nodes, &key)?.map_or(NodeState::Active, |n| n.state);
    txn.put(Space::Nodes, &key, &NodeRecord { spec: spec.clone(), state, updated_ms: time_ms });
    changed(txn)
}

pub(super) fn mark_node<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    node: NodeId,
    mark: NodeMark,
) -> Result<Response, StateError> {
    let key = node.to_be_bytes();
    let Some(mut record) = txn.get::<NodeRecord>(Space::Nodes, &key)? else {
        return Ok(Response::Rejected(Rejection::NoSuchNode(node)));
    };
    // Below version 2 a draining node that goes down forgets the drain, as the previous
    // release did: it cannot read the state that remembers it.
    let remember_drain = Feature::DrainSurvivesDown.enabled_at(version::cluster_version(txn)?);
    record.state = match (mark, record.state) {
        (NodeMark::Down, down @ (NodeState::Down { .. } | NodeState::DownDraining { .. })) => down,
        (NodeMark::Down, NodeState::Draining) if remember_drain => {
            NodeState::DownDraining { since_ms: time_ms }
        }
        (NodeMark::Down, _) => NodeState::Down { since_ms: time_ms },
        (NodeMark::Draining, NodeState::Down { since_ms } | NodeState::DownDraining { since_ms })
            if remember_drain =>
        {
            NodeState::DownDraining { since_ms }
        }
        (NodeMark::Draining, _) => NodeState::Draining,
        // Seen again: still being drained.
        (NodeMark::Up, NodeState::DownDraining { .. }) => NodeState::Draining,
        (NodeMark::Up, _) => NodeState::Active,
        (NodeMark::Undrain, NodeState::DownDraining { since_ms }) => NodeState::Down { since_ms },
        (NodeMark::Undrain, NodeState::Draining) => NodeState::Active,
        (NodeMark::Undrain, other) => other,
    };
    record.updated_ms = time_ms;
    txn.put(Space::Nodes, &key, &record);
    changed(txn)
}

pub(super) fn remove_node<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    node: NodeId,
) -> Result<Response, StateError> {
    if txn.get_raw(Space::Nodes, &node.to_be_bytes())?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchNode(node)));
    }
    txn.delete(Space::Nodes, &node.to_be_bytes());
    changed(txn)
}

/// The whole cluster map.
pub fn cluster_map(state: &(impl StateRead + ?Sized)) -> Result<ClusterMap, StateError> {
    // The counter holds the next version to hand out.
    let next: u64 = state
        .get(Space::Counters, VERSION.as_bytes())?
        .map(|b| decode(Space::Counters, &b))
        .transpose()?
        .unwrap_or(1);
    let nodes = state
        .scan(Space::Nodes, &[], None, MAX_NODES)?
        .into_iter()
        .map(|(_, value)| decode(Space::Nodes, &value))
        .collect::<Result<_, _>>()?;
    Ok(ClusterMap { version: next.saturating_sub(1), nodes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Command;
    use crate::model::testkit::World;

    fn spec(id: NodeId, zone: &str) -> NodeSpec {
        NodeSpec {
            id,
            quic_addr: format!("10.0.0.{id}:7000"),
            api_addr: format!("node{id}.example:8443"),
            zone: zone.into(),
            role: NodeRole::Voter,
            capacity_bytes: 1 << 40,
        }
    }

    #[test]
    fn nodes_are_set_marked_and_removed_and_each_change_bumps_the_version() {
        let mut w = World::new();
        assert_eq!(cluster_map(&w.state).unwrap(), ClusterMap { version: 0, nodes: vec![] });
        for (id, zone) in [(2, "b"), (1, "a"), (3, "c")] {
            assert!(matches!(w.run(Command::SetNode(spec(id, zone))), Response::ClusterMapChanged { .. }));
        }
        let map = cluster_map(&w.state).unwrap();
        assert_eq!(map.version, 3);
        assert_eq!(
            map.nodes.iter().map(|n| (n.spec.id, n.state)).collect::<Vec<_>>(),
            [(1, NodeState::Active), (2, NodeState::Active), (3, NodeState::Active)]
        );

        let t = w.now;
        w.run(Command::MarkNode { node: 2, mark: NodeMark::Down });
        w.now += 5_000;
        // Seen down again later: the first time is kept, for repair's grace period.
        w.run(Command::MarkNode { node: 2, mark: NodeMark::Down });
        // A new description keeps the state.
        let bigger = NodeSpec { capacity_bytes: 1 << 41, role: NodeRole::StorageOnly, ..spec(2, "b") };
        w.run(Command::SetNode(bigger.clone()));
        let node2 = cluster_map(&w.state).unwrap().nodes[1].clone();
        assert_eq!((node2.spec, node2.state), (bigger, NodeState::Down { since_ms: t }));
        w.run(Command::MarkNode { node: 2, mark: NodeMark::Up });
        w.run(Command::MarkNode { node: 3, mark: NodeMark::Draining });
        let map = cluster_map(&w.state).unwrap();
        assert_eq!((map.nodes[1].state, map.nodes[2].state), (NodeState::Active, NodeState::Draining));

        assert_eq!(w.run(Command::RemoveNode { node: 3 }), Response::ClusterMapChanged { version: 9 });
        assert_eq!(cluster_map(&w.state).unwrap().nodes.len(), 2);
        assert_eq!(w.run(Command::RemoveNode { node: 3 }), Response::Rejected(Rejection::NoSuchNode(3)));
        let mark = Command::MarkNode { node: 9, mark: NodeMark::Up };
        assert_eq!(w.run(mark), Response::Rejected(Rejection::NoSuchNode(9)));
    }

    #[test]
    fn a_drain_survives_its_node_going_down_once_the_cluster_version_allows() {
        let mut w = World::new();
        w.run(Command::SetNode(spec(3, "c")));
        let state = |w: &World| cluster_map(&w.state).unwrap().nodes[0].state;
        let mark = |w: &mut World, mark| w.run(Command::MarkNode { node: 3, mark });

        // Version 1: the previous release's states only, so the drain is forgotten.
        mark(&mut w, NodeMark::Draining);
        mark(&mut w, NodeMark::Down);
        assert_eq!(state(&w), NodeState::Down { since_ms: w.now });
        mark(&mut w, NodeMark::Up);
        assert_eq!(state(&w), NodeState::Active);

        w.run(Command::SetClusterVersion { version: 2 });
        let down_at = w.now;
        mark(&mut w, NodeMark::Draining);
        mark(&mut w, NodeMark::Down);
        assert_eq!(state(&w), NodeState::DownDraining { since_ms: down_at });
        assert!(state(&w).is_down() && state(&w).is_draining());
        w.now += 5_000;
        mark(&mut w, NodeMark::Down);
        assert_eq!(state(&w), NodeState::DownDraining { since_ms: down_at }, "the first time is kept");
        mark(&mut w, NodeMark::Up);
        assert_eq!(state(&w), NodeState::Draining, "back up, it is still being drained");
        mark(&mut w, NodeMark::Undrain);
        assert_eq!(state(&w), NodeState::Active, "the drain called off");

        // A down node drained, then the drain called off: repair's clock is kept throughout.
        let down_at = w.now;
        mark(&mut w, NodeMark::Down);
        w.now += 1_000;
        mark(&mut w, NodeMark::Draining);
        assert_eq!(state(&w), NodeState::DownDraining { since_ms: down_at });
        mark(&mut w, NodeMark::Undrain);
        assert_eq!(state(&w), NodeState::Down { since_ms: down_at });
        mark(&mut w, NodeMark::Undrain);
        assert_eq!(state(&w), NodeState::Down { since_ms: down_at }, "nothing to call off");
    }

    #[test]
    fn malformed_node_records_are_refused_with_the_reason() {
        let mut w = World::new();
        for (bad, why) in [
            (NodeSpec { quic_addr: "10.0.0.1".into(), ..spec(1, "a") }, "QUIC address"),
            (NodeSpec { api_addr: ":80".into(), ..spec(1, "a") }, "API address"),
            (NodeSpec { api_addr: "h:99999".into(), ..spec(1, "a") }, "API address"),
            (spec(1, ""), "zone"),
        ] {
            match w.run(Command::SetNode(bad)) {
                Response::Rejected(Rejection::InvalidNode { node: 1, reason }) => {
                    assert!(reason.contains(why), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(cluster_map(&w.state).unwrap().version, 0);
    }
}
