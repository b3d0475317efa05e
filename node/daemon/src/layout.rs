//! What a cluster's configs survive, taken together: `cairn-node check-config` given every
//! node's config checks the layout as a whole, before any node starts.
//!
//! A node writes each block with its own profile k+m: one shard on each of k+m nodes, at most
//! [`zone_limit`] of them in one zone. When the zones allow that limit to be m, losing any whole
//! zone leaves k shards and every block readable. When they do not (too few zones, or one much
//! larger than the others), losing the largest zone loses blocks; such a layout is refused,
//! since naming zones says they fail on their own. With a single zone the nodes themselves are
//! the failure domain, and any m of them may be lost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use cairn_placement::zone_limit;

use cairn_raft::model::cluster::ClusterMap;

use crate::config::NodeConfig;

/// Why a set of configs cannot make a cluster that survives what it should.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LayoutError {
    /// Two configs give the same node id.
    #[error("node id {0} is given by two configs; ids must be unique")]
    DuplicateId(u64),
    /// Two configs advertise the same QUIC address.
    #[error("nodes {0} and {1} advertise the same address {2}")]
    DuplicateAddress(u64, u64, String),
    /// A profile needs more nodes than the layout has.
    #[error(
        "node {node}'s profile {profile} puts {needed} shards on {needed} different nodes, but the cluster has {nodes}"
    )]
    TooFewNodes {
        /// The node whose config names the profile.
        node: u64,
        /// The profile, as `k+m`.
        profile: String,
        /// k+m.
        needed: usize,
        /// Nodes in the layout.
        nodes: usize,
    },
    /// A whole zone's loss would take more than m shards of some blocks.
    #[error(
        "node {node}'s profile {profile} cannot survive the loss of a zone: over zones {zones} up to \
         {limit} of a block's {total} shards land in one zone, more than its m = {m}; add zones, move \
         nodes so no zone needs more than {m} shards, or use a profile with m of at least {limit}"
    )]
    ZoneLossUnsafe {
        /// The node whose config names the profile.
        node: u64,
        /// The profile, as `k+m`.
        profile: String,
        /// The zones and their node counts.
        zones: String,
        /// The most shards of a block one zone would hold.
        limit: usize,
        /// k+m.
        total: usize,
        /// The shards a block may lose.
        m: usize,
    },
}

/// Checks the layout of `configs` (one per node) and says what it survives, a line per profile.
pub fn check(configs: &[NodeConfig]) -> Result<Vec<String>, LayoutError> {
    let mut ids = HashSet::new();
    let mut addresses: HashMap<String, u64> = HashMap::new();
    let mut zones: BTreeMap<&str, usize> = BTreeMap::new();
    for config in configs {
        if !ids.insert(config.id) {
            return Err(LayoutError::DuplicateId(config.id));
        }
        let address = config.advertised().to_string();
        if let Some(other) = addresses.insert(address.clone(), config.id) {
            return Err(LayoutError::DuplicateAddress(other, config.id, address));
        }
        *zones.entry(config.zone.as_str()).or_default() += 1;
    }
    let zone_list = list(&zones);
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    for config in configs {
        let profile = config.storage.profile;
        if seen.contains(&profile) {
            continue;
        }
        seen.push(profile);
        lines.push(survives(config.id, profile, &zones, configs.len())?);
    }
    let mut out = vec![format!("{} nodes in {} zones: {zone_list}", configs.len(), zones.len())];
    out.extend(lines);
    Ok(out)
}

/// Checks, at a node's start, that its profile survives the loss of a zone over the cluster as
/// its map stands (this node in its configured zone): refuses the node with the reason if not.
/// A cluster with fewer nodes than the profile's k+m is still being built and passes; so does
/// one with a single zone, where nodes are the failure domain.
pub fn check_at_start(config: &NodeConfig, map: &ClusterMap) -> Result<(), LayoutError> {
    let mut zones: BTreeMap<&str, usize> = BTreeMap::new();
    let others = map.nodes.iter().filter(|n| n.spec.id != config.id);
    for zone in others.map(|n| n.spec.zone.as_str()).chain([config.zone.as_str()]) {
        *zones.entry(zone).or_default() += 1;
    }
    let nodes = zones.values().sum::<usize>();
    if nodes < config.storage.profile.total_shards() || zones.len() == 1 {
        return Ok(());
    }
    survives(config.id, config.storage.profile, &zones, nodes).map(drop)
}

/// What blocks written with `profile` (named by node `node`'s config) survive over `zones`
/// (zone → node count) of `nodes` nodes, as a line; or why they do not survive what the zones
/// claim. `status` asks the same of the live cluster map.
pub fn survives(
    node: u64,
    profile: cairn_block_codec::erasure::EcProfile,
    zones: &BTreeMap<&str, usize>,
    nodes: usize,
) -> Result<String, LayoutError> {
    let (k, m, total) = (profile.data_shards(), profile.parity_shards(), profile.total_shards());
    if total > nodes {
        return Err(LayoutError::TooFewNodes { node, profile: profile.to_string(), needed: total, nodes });
    }
    let limit = zone_limit(zones.values().copied(), profile);
    let mut line = format!("profile {profile}: ");
    if zones.len() == 1 {
        let _ = write!(line, "one zone, so any {} may be lost (not the zone)", count(m, "node"));
    } else if limit > m {
        return Err(LayoutError::ZoneLossUnsafe {
            node,
            profile: profile.to_string(),
            zones: list(zones),
            limit,
            total,
            m,
        });
    } else {
        let _ = write!(
            line,
            "at most {} in a zone, so any one zone or any {} may be lost",
            count(limit, "shard"),
            count(m, "node")
        );
    }
    let _ = write!(line, "; {:.2} bytes stored per byte", total as f64 / k as f64);
    Ok(line)
}

/// `a (2), b (2), c (1)`.
fn list(zones: &BTreeMap<&str, usize>) -> String {
    zones.iter().map(|(zone, n)| format!("{zone} ({n})")).collect::<Vec<_>>().join(", ")
}

/// "1 node", "2 nodes".
fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A node config with `id` in `zone` writing with `profile`.
    fn node(id: u64, zone: &str, profile: &str) -> NodeConfig {
        let text = format!(
            "id = {id}\ndata_dir = \"d\"\nsecrets_dir = \"s\"\nzone = \"{zone}\"\n[network]\n\
             listen = \"10.0.0.{id}:7100\"\napi = \"10.0.0.{id}:8100\"\n[storage]\nprofile = \"{profile}\"\n"
        );
        NodeConfig::parse(&text, Path::new("node.toml"), Path::new("/etc/cairn")).unwrap()
    }

    #[test]
    fn five_nodes_in_three_zones_with_three_plus_two_survive_a_zone() {
        let zones = ["a", "a", "b", "b", "c"];
        let configs: Vec<_> = zones.iter().enumerate().map(|(i, z)| node(i as u64 + 1, z, "3+2")).collect();
        let report = check(&configs).unwrap();
        assert_eq!(report[0], "5 nodes in 3 zones: a (2), b (2), c (1)");
        assert!(report[1].contains("at most 2 shards in a zone"), "{report:?}");
        assert!(report[1].contains("1.67 bytes stored per byte"), "{report:?}");
    }

    #[test]
    fn a_zone_that_would_hold_more_than_m_shards_is_refused() {
        // 4+1 over zones of 3 and 2 nodes: some zone holds at least 3 shards.
        let zones = ["a", "a", "a", "b", "b"];
        let configs: Vec<_> = zones.iter().enumerate().map(|(i, z)| node(i as u64 + 1, z, "4+1")).collect();
        let error = check(&configs).unwrap_err();
        assert!(matches!(error, LayoutError::ZoneLossUnsafe { limit: 3, m: 1, .. }), "{error}");
        assert!(error.to_string().contains("a (3), b (2)"), "{error}");
    }

    /// A cluster map of nodes `(id, zone)`.
    fn map(nodes: &[(u64, &str)]) -> ClusterMap {
        use cairn_raft::model::cluster::{NodeRecord, NodeRole, NodeSpec, NodeState};
        let nodes = nodes
            .iter()
            .map(|&(id, zone)| NodeRecord {
                spec: NodeSpec {
                    id,
                    quic_addr: format!("10.0.0.{id}:7100"),
                    api_addr: format!("10.0.0.{id}:8100"),
                    zone: zone.into(),
                    role: NodeRole::Voter,
                    capacity_bytes: 0,
                },
                state: NodeState::Active,
                updated_ms: 0,
            })
            .collect();
        ClusterMap { version: 1, nodes }
    }

    #[test]
    fn a_node_whose_profile_cannot_survive_the_live_layout_is_refused_at_start() {
        let five = map(&[(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c")]);
        assert_eq!(check_at_start(&node(5, "c", "3+2"), &five), Ok(()));
        // 4+1 keeps two shards in some zone over a, b, c: a zone's loss would lose blocks.
        let error = check_at_start(&node(5, "c", "4+1"), &five).unwrap_err();
        assert!(matches!(error, LayoutError::ZoneLossUnsafe { limit: 2, m: 1, .. }), "{error}");
        // Its own zone counts as configured, not as the map last had it: moved to zone a, the
        // zones hold 3, 2 and none.
        let error = check_at_start(&node(5, "a", "3+2"), &five).unwrap_err();
        assert!(error.to_string().contains("a (3), b (2)"), "{error}");
        // A cluster still being built, or with one zone, passes.
        assert_eq!(check_at_start(&node(2, "a", "4+1"), &map(&[(1, "a"), (2, "b")])), Ok(()));
        assert_eq!(check_at_start(&node(1, "x", "2+1"), &map(&[(1, "x"), (2, "x"), (3, "x")])), Ok(()));
    }

    #[test]
    fn one_zone_survives_nodes_only() {
        let configs: Vec<_> = (1..=3).map(|id| node(id, "default", "2+1")).collect();
        assert!(check(&configs).unwrap()[1].contains("one zone, so any 1 node may be lost"));
    }

    #[test]
    fn duplicates_and_too_few_nodes_are_refused() {
        let configs = vec![node(1, "a", "2+1"), node(1, "b", "2+1"), node(3, "c", "2+1")];
        assert_eq!(check(&configs).unwrap_err(), LayoutError::DuplicateId(1));
        let configs = vec![node(1, "a", "3+2"), node(2, "b", "3+2"), node(3, "c", "3+2")];
        assert!(matches!(check(&configs).unwrap_err(), LayoutError::TooFewNodes { needed: 5, nodes: 3, .. }));
    }
}
