//! The metadata service every node offers over the QUIC transport: Raft between the nodes,
//! writes forwarded to the leader and batched into log entries, linearizable reads answered by
//! any node, the node's status, and membership changes.
//!
//! - [`raft_net`]: Raft over the transport: openraft's network on the calling side, and the
//!   handler that feeds incoming RPCs to the local Raft.
//! - [`messages`]: what travels: the RPC kinds, their payloads, [`ServiceError`], [`NodeStatus`].
//! - [`block_stats`]: [`BlockStats`], the block work a node reports in its status.
//! - [`metadata`]: [`MetaService`], the node's side: propose, read barrier, query, admin.
//! - [`batcher`]: [`Batcher`], which packs concurrent writes into one Raft entry.
//! - `read_rounds`: concurrent linearizable reads sharing one read-index round.
//! - [`upgrade`]: what release each member runs, and raising the cluster version.
//!
//! It sits on the transport and the metadata state machine (`cairn-raft`), and knows nothing
//! of shards, the block service or HTTP: those are built on it.

pub mod batcher;
pub mod block_stats;
pub mod messages;
pub mod metadata;
pub mod raft_net;
mod read_rounds;
pub mod upgrade;

pub use batcher::Batcher;
pub use block_stats::BlockStats;
pub use messages::{AdminCommand, NodeStatus, ServiceError};
pub use metadata::{AppliedWatch, MetaService};
