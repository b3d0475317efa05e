//! Rendezvous (highest-random-weight) placement of a block's k+m shards on distinct nodes.
//!
//! Each shard index ranks every eligible node by a weighted hash of (block, index, node) and
//! takes the best one that is still free and whose zone is not yet full. Ranking per index, not
//! once per block, is what keeps placements stable: a joining node takes over exactly the shards
//! for which it now ranks first (about 1/n of them), and every other shard stays where it is.
//!
//! The zone limit makes any single zone expendable: with enough zones no zone holds more than m
//! shards, so losing one leaves at least k. With too few zones for that, the limit is the
//! smallest one that can be met, which spreads the shards as evenly as the zones allow. Greedy
//! choice under per-zone limits never gets stuck (the feasible sets form a partition matroid).

use std::collections::HashMap;

use cairn_proto::BlockId;

use super::{NodeId, NodeInfo, PlacementMap, PlacementRole};
use cairn_block_codec::EcProfile;

/// The node chosen for each shard: `nodes[i]` holds shard `i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// One node per shard index, all distinct.
    pub nodes: Vec<NodeId>,
    /// Most shards any one zone holds; at most m when the cluster has enough zones.
    pub max_per_zone: usize,
}

/// Why a block cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// Fewer eligible nodes than shards. Retryable once nodes join or come back.
    #[error("cannot place {needed} shards: only {available} storage nodes with non-zero weight")]
    NotEnoughNodes {
        /// Shards to place (k+m).
        needed: usize,
        /// Nodes eligible to hold shards.
        available: usize,
    },
}

/// Chooses k+m distinct nodes for the shards of `block`. Pure: the same inputs give the same
/// placement on every node.
pub fn place(block: &BlockId, map: &PlacementMap, profile: EcProfile) -> Result<Placement, PlacementError> {
    let needed = profile.total_shards();
    let available = eligible(map).count();
    if available < needed {
        return Err(PlacementError::NotEnoughNodes { needed, available });
    }
    let mut slots = vec![None; needed];
    fill(block, map, profile, &mut slots);
    let nodes: Vec<NodeId> = slots.iter().flatten().copied().collect();
    // With enough candidates `fill` always fills every slot (the matroid argument above); fall
    // back to an error, not a panic.
    if nodes.len() < needed {
        return Err(PlacementError::NotEnoughNodes { needed, available: nodes.len() });
    }
    let max_per_zone = zone_load(map, &slots).into_values().max().unwrap_or(0);
    Ok(Placement { nodes, max_per_zone })
}

/// Fills the empty slots of a partial placement, keeping the filled ones: how a writer replaces
/// a node that refused its shard, and how repair picks homes for lost shards. Each empty index
/// takes its best-ranked eligible node that holds no other shard of the block and whose zone
/// is not yet full; slots stay empty when no such node is left. Returns how many were filled.
pub fn fill(block: &BlockId, map: &PlacementMap, profile: EcProfile, slots: &mut [Option<NodeId>]) -> usize {
    let needed = profile.total_shards();
    let mut zone_sizes: HashMap<&str, usize> = HashMap::new();
    for node in eligible(map) {
        *zone_sizes.entry(node.zone.as_str()).or_default() += 1;
    }
    let cap = zone_limit(zone_sizes.values().copied(), profile);

    let mut per_zone = zone_load(map, slots);
    let mut filled = 0;
    for index in 0..slots.len().min(needed) {
        if slots[index].is_some() {
            continue;
        }
        let best = eligible(map)
            .filter(|n| !slots.contains(&Some(n.id)))
            .filter(|n| per_zone.get(n.zone.as_str()).copied().unwrap_or(0) < cap)
            .max_by(|a, b| score(block, index, a).total_cmp(&score(block, index, b)).then(a.id.cmp(&b.id)));
        if let Some(node) = best {
            slots[index] = Some(node.id);
            *per_zone.entry(node.zone.clone()).or_default() += 1;
            filled += 1;
        }
    }
    filled
}

/// The most shards of one block a zone may hold, given how many storage nodes each zone has: m
/// when the zones allow it, so that losing any one zone leaves k shards; otherwise the smallest
/// limit the zones can meet, which spreads the shards as evenly as they allow (and is more than
/// m: such a layout does not survive the loss of its largest zone).
pub fn zone_limit(zone_sizes: impl Iterator<Item = usize> + Clone, profile: EcProfile) -> usize {
    let needed = profile.total_shards();
    let fits = |cap: usize| zone_sizes.clone().map(|size| size.min(cap)).sum::<usize>() >= needed;
    (profile.parity_shards()..=needed).find(|&cap| fits(cap)).unwrap_or(needed)
}

/// The nodes that may take shards: storage nodes with a non-zero weight.
fn eligible(map: &PlacementMap) -> impl Iterator<Item = &NodeInfo> {
    map.nodes.iter().filter(|n| n.role == PlacementRole::Storage && n.weight > 0)
}

/// Shards per zone among the filled slots (a node the map does not know counts in no zone).
fn zone_load(map: &PlacementMap, slots: &[Option<NodeId>]) -> HashMap<String, usize> {
    let mut load = HashMap::new();
    for node in slots.iter().flatten().filter_map(|id| map.node(*id)) {
        *load.entry(node.zone.clone()).or_default() += 1;
    }
    load
}

/// Weighted rendezvous score: `-weight / ln(u)` with `u` uniform in (0, 1) from the hash, so a
/// node wins a share of indexes proportional to its weight. Placements are recorded in metadata
/// once chosen, so a last-ulp difference in `ln` between platforms could not split the cluster.
fn score(block: &BlockId, index: usize, node: &NodeInfo) -> f64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(block.as_bytes());
    hasher.update(&(index as u64).to_le_bytes());
    hasher.update(&node.id.to_le_bytes());
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    // 53 random bits, shifted into (0, 1): never 0, so ln never returns -inf.
    let u = ((u64::from_le_bytes(first) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    -f64::from(node.weight) / u.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(id: NodeId, zone: &str) -> NodeInfo {
        NodeInfo { id, zone: zone.into(), role: PlacementRole::Storage, weight: 100 }
    }

    fn uniform(count: u64, zones: u64) -> PlacementMap {
        PlacementMap::new((1..=count).map(|id| node(id, &format!("z{}", id % zones))).collect())
    }

    fn blocks(count: u32) -> Vec<BlockId> {
        (0..count).map(|i| BlockId::of(&i.to_le_bytes())).collect()
    }

    fn zone_counts(p: &Placement, map: &PlacementMap) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for id in &p.nodes {
            *counts.entry(map.node(*id).unwrap().zone.clone()).or_default() += 1;
        }
        counts
    }

    proptest! {
        #[test]
        fn shards_go_to_distinct_nodes_and_respect_zones(
            nodes in 3u64..20,
            zones in 1u64..6,
            k in 1usize..6,
            m in 1usize..4,
            block in any::<[u8; 32]>(),
        ) {
            prop_assume!((k + m) as u64 <= nodes);
            let map = uniform(nodes, zones);
            let profile = EcProfile::new(k, m).unwrap();
            let block = BlockId::from_bytes(block);
            let p = place(&block, &map, profile).unwrap();
            prop_assert_eq!(p.nodes.len(), k + m);
            let mut distinct = p.nodes.clone();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(distinct.len(), k + m, "a node holds two shards: {:?}", p.nodes);

            let counts = zone_counts(&p, &map);
            prop_assert_eq!(counts.values().copied().max(), Some(p.max_per_zone));
            // Zones present, and how many nodes each has.
            let mut sizes: HashMap<String, usize> = HashMap::new();
            for n in &map.nodes { *sizes.entry(n.zone.clone()).or_default() += 1; }
            let can_survive_a_zone = sizes.values().map(|s| (*s).min(m)).sum::<usize>() >= k + m;
            if can_survive_a_zone {
                prop_assert!(p.max_per_zone <= m, "zone holds {} shards, profile loses {m}", p.max_per_zone);
            }
            prop_assert_eq!(place(&block, &map, profile).unwrap(), p, "placement is not deterministic");
        }
    }

    #[test]
    fn any_single_zone_can_go_with_three_zones_and_4_2() {
        let map = uniform(9, 3);
        let profile: EcProfile = "4+2".parse().unwrap();
        for b in blocks(2_000) {
            let p = place(&b, &map, profile).unwrap();
            assert!(zone_counts(&p, &map).values().all(|&c| c <= 2), "{p:?}");
        }
    }

    #[test]
    fn too_few_zones_spread_as_evenly_as_possible() {
        let map = uniform(6, 2);
        let p = place(&BlockId::of(b"x"), &map, "4+1".parse().unwrap()).unwrap();
        assert_eq!(p.max_per_zone, 3);
    }

    #[test]
    fn too_few_nodes_is_a_clear_error() {
        let mut map = uniform(5, 5);
        map.nodes[0].role = PlacementRole::Gateway;
        map.nodes[1].weight = 0;
        let err = place(&BlockId::of(b"x"), &map, "2+2".parse().unwrap()).unwrap_err();
        assert_eq!(err, PlacementError::NotEnoughNodes { needed: 4, available: 3 });
        assert!(err.to_string().contains("only 3 storage nodes"));
    }

    #[test]
    fn fill_keeps_the_placed_shards_and_replaces_only_the_missing() {
        let map = uniform(7, 7);
        let profile: EcProfile = "3+2".parse().unwrap();
        for b in blocks(300) {
            let full = place(&b, &map, profile).unwrap().nodes;
            // The node of shard 1 refused it: fill without that node.
            let mut slots: Vec<Option<NodeId>> = full.iter().copied().map(Some).collect();
            slots[1] = None;
            let mut without = map.clone();
            without.nodes.retain(|n| n.id != full[1]);
            assert_eq!(fill(&b, &without, profile, &mut slots), 1);
            let refilled: Vec<NodeId> = slots.iter().flatten().copied().collect();
            assert_eq!(refilled.len(), 5);
            assert!(
                refilled.iter().zip(&full).enumerate().all(|(i, (a, b))| (i == 1) != (a == b)),
                "{refilled:?}"
            );
        }
        // Too few nodes: as many slots as possible are filled, the rest stay empty.
        let small = uniform(4, 4);
        let mut slots = vec![None; 5];
        assert_eq!(fill(&BlockId::of(b"x"), &small, profile, &mut slots), 4);
    }

    #[test]
    fn gateways_and_drained_nodes_get_nothing() {
        let mut map = uniform(8, 4);
        map.nodes[0].role = PlacementRole::Gateway;
        map.nodes[1].weight = 0;
        map.nodes[2].role = PlacementRole::Archive;
        for b in blocks(500) {
            let p = place(&b, &map, "2+1".parse().unwrap()).unwrap();
            assert!(!p.nodes.iter().any(|id| [1, 2, 3].contains(id)), "{p:?}");
        }
    }

    /// Fraction of (block, shard) slots whose node differs between two maps.
    fn moved_fraction(before: &PlacementMap, after: &PlacementMap, profile: EcProfile) -> f64 {
        let ids = blocks(20_000);
        let moved: usize = ids
            .iter()
            .map(|b| {
                let (x, y) = (place(b, before, profile).unwrap(), place(b, after, profile).unwrap());
                x.nodes.iter().zip(&y.nodes).filter(|(a, b)| a != b).count()
            })
            .sum();
        moved as f64 / (ids.len() * profile.total_shards()) as f64
    }

    #[test]
    fn a_joining_node_moves_about_one_nth_of_the_shards() {
        let profile: EcProfile = "4+2".parse().unwrap();
        let before = uniform(12, 1);
        let mut after = before.clone();
        after.nodes.push(node(13, "z0"));
        let moved = moved_fraction(&before, &after, profile);
        println!("join 12 → 13 nodes: {:.2}% of shards moved (1/n = {:.2}%)", moved * 100.0, 100.0 / 13.0);
        assert!(moved < 1.5 / 13.0, "{moved}");
    }

    #[test]
    fn a_leaving_node_moves_little_more_than_its_own_shards() {
        let profile: EcProfile = "4+2".parse().unwrap();
        let before = uniform(12, 1);
        let mut after = before.clone();
        after.nodes.retain(|n| n.id != 5);
        let moved = moved_fraction(&before, &after, profile);
        println!("leave 12 → 11 nodes: {:.2}% of shards moved (1/n = {:.2}%)", moved * 100.0, 100.0 / 12.0);
        assert!(moved < 1.5 / 12.0, "{moved}");
    }

    #[test]
    fn weights_shift_load_proportionally() {
        let mut map = uniform(6, 1);
        map.nodes[0].weight = 200;
        let mut load: HashMap<NodeId, usize> = HashMap::new();
        for b in blocks(20_000) {
            for id in place(&b, &map, "1+1".parse().unwrap()).unwrap().nodes {
                *load.entry(id).or_default() += 1;
            }
        }
        let heavy = load[&1] as f64;
        let light = (2..=6).map(|id| load[&id]).sum::<usize>() as f64 / 5.0;
        println!("weight 2 node holds {heavy} shards, weight 1 nodes {light:.0} on average");
        assert!((1.6..2.4).contains(&(heavy / light)), "ratio {}", heavy / light);
    }
}
