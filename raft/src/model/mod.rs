//! The metadata model: requests, their responses, the keyspaces, and `apply`.
//!
//! Every write is a [`Request`] applied by the pure function [`apply`] to a read view of the
//! state, producing a [`Response`] and a set of writes; the storage layer commits the writes.
//! Nothing here touches a disk, a clock or a random number generator: what a request needs to
//! know about time comes inside it, stamped by the node that proposed it, so every replica
//! computes exactly the same thing.

mod apply;
mod block_lifecycle;
pub mod blocks;
pub mod cluster;
pub mod devices;
pub mod drive;
mod expiry;
pub mod journal;
mod keyspace;
pub mod lifecycle;
pub mod links;
pub mod precondition;
pub mod query;
mod rejection;
mod request;
pub mod shares;
pub mod subtree;
#[cfg(test)]
mod testkit;
mod txn;
pub mod uploads;
pub mod users;

pub use apply::{REQUEST_RETENTION_MS, apply};
pub use expiry::PRUNE_PER_APPLY;
pub use keyspace::Space;
pub use query::{Answer, Query, answer};
pub use rejection::Rejection;
pub use request::{Command, Request, RequestId, Response};
pub use subtree::MAX_MOVE_ENTRIES;
pub use txn::{Pairs, StateError, StateRead, Txn, WriteOp, decode as txn_decode, encode as txn_encode};
pub use users::{TokenHash, TokenRecord, User, UserId};
