//! The metadata service every node offers over the QUIC transport: writes forwarded to the
//! leader and batched into log entries, linearizable reads answered by any node, the node's
//! status, and membership changes.
//!
//! - [`messages`]: what travels: the RPC kinds, their payloads, [`ServiceError`], [`NodeStatus`].
//! - [`metadata`]: [`MetaService`], the node's side: propose, read barrier, query, admin.
//! - [`batcher`]: [`Batcher`], which packs concurrent writes into one Raft entry.
//! - [`handler`]: the transport handler that routes Raft RPCs and service calls.
//! - [`client`]: [`ClusterClient`], the calling side for the admin CLI, tests and benchmarks.

pub mod batcher;
pub mod client;
pub mod handler;
pub mod messages;
pub mod metadata;

pub use batcher::Batcher;
pub use client::{ClusterClient, ClusterClientError};
pub use handler::handler;
pub use messages::{AdminCommand, NodeStatus, ServiceError};
pub use metadata::{AppliedWatch, MetaService};
