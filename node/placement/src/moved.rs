//! Where an existing block's shards belong after the map changed, moving as few as possible.
//!
//! What matters for a block is the set of nodes holding its shards, not which index sits
//! where: placement today would put them on some set of nodes, so the shards on nodes of that
//! set stay, and only those on other nodes (drained, gone, or outranked by a node that joined)
//! move, each to a node of the set that holds none yet. Moving to fresh placement index by
//! index would also shuffle shards between old nodes whenever one index's new choice collides
//! with another's: for a 2+1 block going from 3 to 5 nodes, 52% of the shards instead of 40%.
//! The result is placement's set, so its zones are within their limits, and a block already
//! on that set is settled.

use cairn_block_codec::EcProfile;
use cairn_proto::BlockId;

use super::{NodeId, PlacementError, PlacementMap, place};

/// The placement `current` should become over `map`: `current` itself when it is on the nodes
/// placement chooses. An error when the map has too few nodes to hold every shard.
pub fn rebalanced(
    block: &BlockId,
    current: &[NodeId],
    map: &PlacementMap,
    profile: EcProfile,
) -> Result<Vec<NodeId>, PlacementError> {
    let chosen = place(block, map, profile)?.nodes;
    let mut arriving = chosen.iter().filter(|n| !current.contains(n));
    let mut placed: Vec<NodeId> = Vec::with_capacity(chosen.len());
    for index in 0..chosen.len() {
        match current.get(index) {
            Some(&node) if chosen.contains(&node) => placed.push(node),
            _ => placed.extend(arriving.next()),
        }
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{NodeInfo, PlacementRole, zone_limit};
    use proptest::prelude::*;

    fn map(nodes: &[(NodeId, &str)]) -> PlacementMap {
        PlacementMap::new(
            nodes
                .iter()
                .map(|&(id, zone)| NodeInfo {
                    id,
                    zone: zone.into(),
                    role: PlacementRole::Storage,
                    weight: 100,
                })
                .collect(),
        )
    }

    fn profile(k: usize, m: usize) -> EcProfile {
        EcProfile::new(k, m).unwrap_or_else(|e| panic!("{e}"))
    }

    fn block(i: u32) -> BlockId {
        BlockId::of(&i.to_le_bytes())
    }

    #[test]
    fn a_placement_the_map_still_wants_stays() {
        let m = map(&[(1, "a"), (2, "b"), (3, "c"), (4, "a")]);
        for i in 0..200 {
            let ideal = place(&block(i), &m, profile(2, 1)).unwrap_or_else(|e| panic!("{e}")).nodes;
            assert_eq!(rebalanced(&block(i), &ideal, &m, profile(2, 1)), Ok(ideal));
        }
    }

    #[test]
    fn a_node_that_leaves_gives_up_only_its_own_shard() {
        let all = map(&[(1, "z"), (2, "z"), (3, "z"), (4, "z"), (5, "z")]);
        let without_4 = map(&[(1, "z"), (2, "z"), (3, "z"), (5, "z")]);
        for i in 0..500 {
            let before = place(&block(i), &all, profile(2, 1)).unwrap_or_else(|e| panic!("{e}")).nodes;
            let after =
                rebalanced(&block(i), &before, &without_4, profile(2, 1)).unwrap_or_else(|e| panic!("{e}"));
            for (b, a) in before.iter().zip(&after) {
                assert!(a == b || *b == 4, "block {i}: {before:?} became {after:?}");
                assert_ne!(*a, 4);
            }
        }
    }

    #[test]
    fn joining_nodes_take_their_share_and_nothing_more() {
        let three = map(&[(1, "z"), (2, "z"), (3, "z")]);
        let five = map(&[(1, "z"), (2, "z"), (3, "z"), (4, "z"), (5, "z")]);
        let (mut shards, mut moved, mut on_new) = (0u32, 0u32, 0u32);
        for i in 0..3_000 {
            let before = place(&block(i), &three, profile(2, 1)).unwrap_or_else(|e| panic!("{e}")).nodes;
            let after =
                rebalanced(&block(i), &before, &five, profile(2, 1)).unwrap_or_else(|e| panic!("{e}"));
            shards += before.len() as u32;
            moved += before.iter().zip(&after).filter(|(b, a)| a != b).count() as u32;
            on_new += after.iter().filter(|&&n| n > 3).count() as u32;
        }
        // Two nodes of five hold 40% of the shards afterwards, and only what they hold moved.
        let (share, fraction) = (f64::from(on_new) / f64::from(shards), f64::from(moved) / f64::from(shards));
        assert!((0.37..0.43).contains(&share), "the new nodes hold {share:.3}");
        assert_eq!(moved, on_new, "shards moved between old nodes");
        println!("new nodes hold {share:.3} of the shards; {fraction:.3} of the shards moved");
    }

    #[test]
    fn too_few_nodes_left_is_an_error() {
        let two = map(&[(1, "z"), (2, "z")]);
        assert!(rebalanced(&block(1), &[1, 2, 3], &two, profile(2, 1)).is_err());
    }

    proptest! {
        /// Whatever the change, the result is a placement: distinct nodes of the map, zones
        /// within their limit, and a second rebalance moves nothing.
        #[test]
        fn the_result_is_a_valid_settled_placement(
            seed in 0u32..10_000,
            before_nodes in 5u64..9,
            after_nodes in 5u64..11,
            zones in 1u64..5,
        ) {
            let nodes = |count: u64| -> Vec<(NodeId, String)> {
                (1..=count).map(|id| (id, format!("z{}", id % zones))).collect()
            };
            let as_map = |nodes: &[(NodeId, String)]| {
                map(&nodes.iter().map(|(id, z)| (*id, z.as_str())).collect::<Vec<_>>())
            };
            let (before, after) = (as_map(&nodes(before_nodes)), as_map(&nodes(after_nodes)));
            let p = profile(3, 2);
            let current = place(&block(seed), &before, p).unwrap_or_else(|e| panic!("{e}")).nodes;
            let moved = rebalanced(&block(seed), &current, &after, p).unwrap_or_else(|e| panic!("{e}"));
            let mut distinct = moved.clone();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(distinct.len(), moved.len());
            prop_assert!(moved.iter().all(|n| after.node(*n).is_some()));
            let mut sizes: HashMap<&str, usize> = HashMap::new();
            for n in &after.nodes { *sizes.entry(n.zone.as_str()).or_default() += 1; }
            let cap = zone_limit(sizes.values().copied(), p);
            let mut load: HashMap<&str, usize> = HashMap::new();
            for n in &moved { *load.entry(after.node(*n).map_or("", |n| n.zone.as_str())).or_default() += 1; }
            prop_assert!(load.values().all(|&l| l <= cap), "{:?} over {}", load, cap);
            prop_assert_eq!(rebalanced(&block(seed), &moved, &after, p), Ok(moved.clone()));
        }
    }
}
