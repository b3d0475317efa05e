//! The cluster version: the newest formats every member can read, kept in the replicated state.
//!
//! A release reads everything the previous one wrote and speaks its messages, so a cluster is
//! upgraded one node at a time. What a release adds that an older one could not read (a new
//! command, record or message kind) is a [`Feature`], used only once the cluster version has
//! reached the version the feature came in. The version is raised, never lowered, by
//! [`Command::SetClusterVersion`](super::Command::SetClusterVersion), which a node proposes only
//! after every member said it speaks the new version (`cairn-node upgrade finalize`, or the
//! leader by itself); from then on a node of the older release may not rejoin. This is
//! CockroachDB's version gate, without its per-range migrations: the formats so far only grow.

use serde::{Deserialize, Serialize};

use super::keyspace::Space;
use super::rejection::Rejection;
use super::response::Response;
use super::txn::{StateError, StateRead, Txn, decode};

/// The cluster version of a state that records none: every cluster made before versions were
/// kept, by the release that added drain and rebalance's predecessors.
pub const UNVERSIONED: u32 = 1;

/// The newest cluster version this release runs at, and the one it raises a cluster to.
pub const CURRENT: u32 = 3;

/// The oldest cluster version this release runs at: the previous release's, so the two run
/// side by side while a cluster is upgraded.
pub const OLDEST: u32 = 1;

// A release runs at the version of a state that records none, and a cluster it raises is newer.
const _: () = assert!(OLDEST <= UNVERSIONED && UNVERSIONED < CURRENT);

/// Where the cluster version lives in [`Space::Meta`].
const KEY: &[u8] = b"cluster_version";

/// Something a release added that members of the previous release would not understand, so it
/// waits for the cluster version it came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feature {
    /// The leader's shard mover (rebalance and `member drain`): it asks every node what it holds
    /// and has it delete the copies it moved away, calls the previous release does not know.
    Rebalance,
    /// A draining node that goes down stays draining ([`NodeState::DownDraining`]), a node state
    /// the previous release cannot read.
    ///
    /// [`NodeState::DownDraining`]: super::cluster::NodeState::DownDraining
    DrainSurvivesDown,
    /// Small blocks kept in the metadata state instead of shards
    /// ([`Command::RegisterInlineBlock`](super::Command::RegisterInlineBlock)), a command and a
    /// keyspace the previous release does not know.
    InlineBlocks,
}

impl Feature {
    /// The cluster version the feature came in.
    pub fn since(self) -> u32 {
        match self {
            Feature::Rebalance | Feature::DrainSurvivesDown => 2,
            Feature::InlineBlocks => 3,
        }
    }

    /// Whether a cluster at `version` may use the feature.
    pub fn enabled_at(self, version: u32) -> bool {
        version >= self.since()
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Feature::Rebalance => "rebalance and drain",
            Feature::DrainSurvivesDown => "a drain that survives its node going down",
            Feature::InlineBlocks => "small blocks kept in metadata",
        })
    }
}

/// The cluster version in force.
pub fn cluster_version(state: &(impl StateRead + ?Sized)) -> Result<u32, StateError> {
    match state.get(Space::Meta, KEY)? {
        Some(bytes) => decode(Space::Meta, &bytes),
        None => Ok(UNVERSIONED),
    }
}

/// Raises the cluster version to `version`; the same version again is a no-op, a lower one is
/// refused. The proposer checked that every member speaks it: `apply` cannot, and must not ask
/// its own release, or replicas of two releases would disagree.
pub(super) fn set<R: StateRead + ?Sized>(txn: &mut Txn<R>, version: u32) -> Result<Response, StateError> {
    let current = cluster_version(txn)?;
    if version < current {
        return Ok(Response::Rejected(Rejection::ClusterVersionLowered { current, asked: version }));
    }
    txn.put(Space::Meta, KEY, &version);
    Ok(Response::ClusterVersionSet { version })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::World;
    use super::super::{Answer, Command, Query, answer};
    use super::*;

    #[test]
    fn the_version_starts_unversioned_rises_and_never_falls() {
        let mut w = World::new();
        assert_eq!(answer(&w.state, &Query::ClusterVersion).unwrap(), Answer::ClusterVersion(UNVERSIONED));
        assert_eq!(
            w.run(Command::SetClusterVersion { version: 2 }),
            Response::ClusterVersionSet { version: 2 }
        );
        assert_eq!(
            w.run(Command::SetClusterVersion { version: 2 }),
            Response::ClusterVersionSet { version: 2 }
        );
        assert_eq!(
            w.run(Command::SetClusterVersion { version: 1 }),
            Response::Rejected(Rejection::ClusterVersionLowered { current: 2, asked: 1 })
        );
        assert_eq!(answer(&w.state, &Query::ClusterVersion).unwrap(), Answer::ClusterVersion(2));
    }

    #[test]
    fn a_feature_waits_for_its_version() {
        assert!(!Feature::Rebalance.enabled_at(UNVERSIONED));
        assert!(Feature::Rebalance.enabled_at(CURRENT));
    }
}
