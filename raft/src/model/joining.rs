//! What joining means to the rest of the model: the role a join token grants and why a token
//! is refused. Plain types, below the requests, responses and rejections that name them and
//! the join-token records that decide them.

use serde::{Deserialize, Serialize};

use super::ids::NodeId;

/// What a node that joins with a token becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinRole {
    /// A voter in the Raft group, once it has caught up with the log.
    Voter,
    /// A learner that stores shards and follows the log but never votes.
    Storage,
}

impl std::fmt::Display for JoinRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JoinRole::Voter => "voter",
            JoinRole::Storage => "storage",
        })
    }
}

/// Why a join token was refused, for the machine that presented it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum JoinRefusal {
    /// Never minted, revoked, or ended long ago.
    #[error(
        "this join token is not known to the cluster: it was revoked, never issued here, or ended over a week ago"
    )]
    Unknown,
    /// Used already.
    #[error(
        "this join token was used already, by node {node}; a token works once: mint another with `cairn-node join-token`"
    )]
    Used {
        /// The node that used it.
        node: NodeId,
    },
    /// Past its end.
    #[error("this join token expired {ago_s} s ago; mint another with `cairn-node join-token`")]
    Expired {
        /// Seconds since it ended, by the request's clock.
        ago_s: u64,
    },
    /// The node id is a member already, or another token was used for it.
    #[error("node id {0} is taken in this cluster: give the new node an id of its own in its config")]
    IdTaken(NodeId),
}
