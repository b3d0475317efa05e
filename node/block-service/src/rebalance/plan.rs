//! Which shards of one block to move, and where: the pure half of rebalance.
//!
//! The target is where [`rebalanced`] puts the block over the nodes that take shards (every node
//! but draining ones, down or not: a node briefly down keeps its share, so a restart does not
//! send shards away and back). A block is left to repair when a shard is damaged or
//! sits on a node that is down or gone, since moving needs every source readable. Moves to a
//! node that is down wait; the others go ahead when they keep the block's shards on distinct
//! nodes.

use cairn_placement::{PlacementMap, rebalanced};
use cairn_proto::BlockId;
use cairn_raft::NodeId;
use cairn_raft::model::blocks::{BlockRecord, ShardMove};

use crate::read::profile_of;
use crate::view::ClusterView;

/// What rebalance does with one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: it is where placement wants it, or a later scan's to handle.
    Stay,
    /// Nothing yet: a shard is damaged or on a node that is down or gone, and moving needs
    /// every source readable, so repair goes first.
    AwaitRepair,
    /// Move these shards, all in one compare-and-set.
    Move(Vec<ShardMove>),
    /// It should leave a draining node, but the nodes that take shards are too few for it.
    Stuck,
}

/// About how many bytes one shard of `record` is.
pub fn shard_bytes(record: &BlockRecord) -> u64 {
    u64::from(record.plain_len) / u64::from(record.data_shards.max(1)) + 1
}

/// The plan for `block`, whose record is `record`, given the cluster `view` and the nodes that
/// take shards, `targets` ([`ClusterView::target_map`]).
pub fn plan(block: &BlockId, record: &BlockRecord, view: &ClusterView, targets: &PlacementMap) -> Plan {
    if !record.damaged.is_empty() || record.placement.iter().any(|&n| !view.is_up(n)) {
        return Plan::AwaitRepair;
    }
    let Ok(profile) = profile_of(record) else { return Plan::Stay };
    if record.placement.len() != profile.total_shards() {
        return Plan::Stay;
    }
    let target = match rebalanced(block, &record.placement, targets, profile) {
        Ok(target) => target,
        Err(_) => {
            let leaving = record.placement.iter().any(|&n| targets.node(n).is_none());
            return if leaving { Plan::Stuck } else { Plan::Stay };
        }
    };
    let moves: Vec<ShardMove> = (0..target.len())
        .filter(|&i| target[i] != record.placement[i])
        .map(|i| ShardMove { index: i as u8, from: record.placement[i], to: target[i] })
        .collect();
    if moves.iter().all(|m| view.is_up(m.to)) {
        // The target is placement's choice of nodes: distinct, zones within their limit.
        return if moves.is_empty() { Plan::Stay } else { Plan::Move(moves) };
    }
    // Some targets are down: move the rest, each only to a node that holds none of the block,
    // and never so that a zone holds more of its shards than now or in the target: a half-done
    // move must not put more of a block in one zone than placement allows.
    let zone = |n: NodeId| view.nodes.get(&n).map(|p| p.zone.as_str());
    let in_zone = |placement: &[NodeId], z: Option<&str>| placement.iter().filter(|&&n| zone(n) == z).count();
    let mut placement = record.placement.clone();
    let mut ready = Vec::new();
    for m in moves.into_iter().filter(|m| view.is_up(m.to)) {
        if placement.contains(&m.to) {
            continue;
        }
        let mut after = placement.clone();
        after[usize::from(m.index)] = m.to;
        let z = zone(m.to);
        if in_zone(&after, z) <= in_zone(&target, z).max(in_zone(&record.placement, z)) {
            placement = after;
            ready.push(m);
        }
    }
    if ready.is_empty() { Plan::Stay } else { Plan::Move(ready) }
}

/// Whether `node` holds a shard of `record`.
pub fn holds(record: &BlockRecord, node: NodeId) -> bool {
    record.placement.contains(&node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::PeerNode;
    use cairn_raft::model::cluster::NodeState;

    fn view(states: &[(NodeId, NodeState)]) -> ClusterView {
        zoned(&states.iter().map(|&(id, state)| (id, state, "z")).collect::<Vec<_>>())
    }

    fn zoned(nodes: &[(NodeId, NodeState, &str)]) -> ClusterView {
        let addr = Some("127.0.0.1:1".parse().unwrap_or_else(|e| panic!("{e}")));
        ClusterView {
            nodes: nodes
                .iter()
                .map(|&(id, state, zone)| (id, PeerNode { id, addr, zone: zone.into(), state }))
                .collect(),
        }
    }

    fn record(placement: Vec<NodeId>) -> BlockRecord {
        BlockRecord {
            plain_len: 1 << 20,
            data_shards: 2,
            parity_shards: 1,
            generation: 1,
            placement,
            damaged: vec![],
            refcount: 1,
            changed_ms: 0,
        }
    }

    fn block(i: u32) -> BlockId {
        BlockId::of(&i.to_le_bytes())
    }

    /// Where placement puts `block` over `v`'s target nodes.
    fn ideal(block: &BlockId, v: &ClusterView) -> Vec<NodeId> {
        let profile = cairn_block_codec::EcProfile::new(2, 1).unwrap_or_else(|e| panic!("{e}"));
        cairn_placement::place(block, &v.target_map(), profile).unwrap_or_else(|e| panic!("{e}")).nodes
    }

    #[test]
    fn a_block_where_placement_wants_it_stays() {
        let v = view(&[(1, NodeState::Active), (2, NodeState::Active), (3, NodeState::Active)]);
        let b = block(1);
        assert_eq!(plan(&b, &record(ideal(&b, &v)), &v, &v.target_map()), Plan::Stay);
    }

    #[test]
    fn a_draining_node_gives_up_its_shard_and_only_that_one_moves() {
        let active =
            [(1, NodeState::Active), (2, NodeState::Active), (3, NodeState::Active), (4, NodeState::Active)];
        let before = view(&active);
        let mut moved = 0;
        for i in 0..200 {
            let b = block(i);
            let placement = ideal(&b, &before);
            let draining = placement[0];
            let mut states = active;
            states[usize::try_from(draining - 1).unwrap_or(0)].1 = NodeState::Draining;
            let after = view(&states);
            let Plan::Move(moves) = plan(&b, &record(placement.clone()), &after, &after.target_map()) else {
                panic!("block {i}: a shard on draining node {draining} must move");
            };
            // Rendezvous placement per shard index: the other shards keep their nodes.
            assert_eq!(moves.len(), 1, "block {i}: {moves:?}");
            assert_eq!((moves[0].index, moves[0].from), (0, draining));
            assert!(!placement.contains(&moves[0].to));
            moved += 1;
        }
        assert_eq!(moved, 200);
    }

    #[test]
    fn blocks_with_damage_or_a_shard_on_a_down_node_are_left_to_repair() {
        let v = view(&[
            (1, NodeState::Active),
            (2, NodeState::Active),
            (3, NodeState::Down { since_ms: 1 }),
            (4, NodeState::Draining),
        ]);
        let mut damaged = record(vec![1, 2, 4]);
        damaged.damaged = vec![1];
        assert_eq!(plan(&block(1), &damaged, &v, &v.target_map()), Plan::AwaitRepair);
        assert_eq!(plan(&block(1), &record(vec![1, 3, 4]), &v, &v.target_map()), Plan::AwaitRepair);
        assert_eq!(
            plan(&block(1), &record(vec![1, 9, 4]), &v, &v.target_map()),
            Plan::AwaitRepair,
            "9 is gone"
        );
    }

    #[test]
    fn a_drain_with_too_few_nodes_left_is_stuck_and_moves_to_down_nodes_wait() {
        let v = view(&[(1, NodeState::Active), (2, NodeState::Active), (3, NodeState::Draining)]);
        assert_eq!(plan(&block(1), &record(vec![1, 2, 3]), &v, &v.target_map()), Plan::Stuck);

        // Node 4 down: a shard whose target is 4 waits; others still leave the draining node.
        let v = view(&[
            (1, NodeState::Active),
            (2, NodeState::Active),
            (3, NodeState::Draining),
            (4, NodeState::Down { since_ms: 1 }),
            (5, NodeState::Active),
        ]);
        for i in 0..100 {
            let b = block(i);
            let target = ideal(&b, &v);
            let mut placement = target.clone();
            let Some(slot) = (0..3).find(|&s| target[s] != 4) else { continue };
            placement[slot] = 3;
            if placement.iter().filter(|&&n| n == 3).count() > 1 || placement.contains(&4) {
                continue;
            }
            match plan(&b, &record(placement.clone()), &v, &v.target_map()) {
                Plan::Move(moves) => {
                    assert!(moves.iter().all(|m| m.to != 4 && !placement.contains(&m.to)), "{moves:?}");
                }
                other => panic!("block {i} from {placement:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_half_done_move_never_crowds_a_zone() {
        // Zones a {1, 2}, b {3, 4}, c {5, 6}; node 6 joined but is down, node 2 is draining.
        let v = zoned(&[
            (1, NodeState::Active, "a"),
            (2, NodeState::Draining, "a"),
            (3, NodeState::Active, "b"),
            (4, NodeState::Active, "b"),
            (5, NodeState::Active, "c"),
            (6, NodeState::Down { since_ms: 1 }, "c"),
        ]);
        let zone = |n: NodeId| v.nodes[&n].zone.clone();
        let per_zone = |placement: &[NodeId], z: &str| placement.iter().filter(|&&n| zone(n) == z).count();
        let mut moved = 0;
        for i in 0..300 {
            let b = block(i);
            // Each block starts on three distinct up nodes, one per zone or two in one.
            let start: Vec<NodeId> =
                [[1, 3, 5], [2, 3, 5], [1, 2, 4], [2, 4, 5], [3, 4, 1]][i as usize % 5].to_vec();
            let target = ideal(&b, &v);
            if let Plan::Move(moves) = plan(&b, &record(start.clone()), &v, &v.target_map()) {
                let mut after = start.clone();
                for m in &moves {
                    assert_ne!(m.to, 6, "a move to a down node waits");
                    after[usize::from(m.index)] = m.to;
                }
                for z in ["a", "b", "c"] {
                    let limit = per_zone(&start, z).max(per_zone(&target, z));
                    assert!(
                        per_zone(&after, z) <= limit,
                        "block {i}: {start:?} -> {after:?} (target {target:?})"
                    );
                }
                moved += 1;
            }
        }
        assert!(moved > 0, "some blocks move");
    }
}
