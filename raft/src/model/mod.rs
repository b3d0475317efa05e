//! The metadata model: requests, their responses, the keyspaces, and `apply`.
//!
//! Every write is a [`Request`] applied by the pure function [`apply`] to a read view of the
//! state, producing a [`Response`] and a set of writes; the storage layer commits the writes.
//! Nothing here touches a disk, a clock or a random number generator: what a request needs to
//! know about time comes inside it, stamped by the node that proposed it, so every replica
//! computes exactly the same thing.
//!
//! The modules are layered, and each imports only from layers below it (a test of the
//! workspace fails on an import cycle):
//!
//! 1. `ids`, `keyspace`, `txn`, `rejection`, `response`: the vocabulary.
//! 2. The records, their keys and how they are read: `drive` (the folder tree, files and
//!    versions), `blocks`, `cluster`, `devices`, `trash`, `journal`, and `shares` (who may do
//!    what where, and telling everyone who sees a path that it changed); `expiry`, the index of
//!    records with an end of life, which knows nothing of what it expires; `version`, the
//!    cluster version and the features it gates.
//! 3. The commands: `commit` (writing into a drive), then `users` (and their accounts), `tokens`
//!    (which end by their terms and their user's account), `join_tokens`, `sharing`, `links`,
//!    `uploads`, `subtree`, `lifecycle`, `block_lifecycle`, `precondition`.
//! 4. `request` (the commands as proposed), `apply` (one dispatch over them, and the expiry
//!    hooks by keyspace) and `query` (every read a client makes).

mod apply;
mod block_holders;
pub mod block_index;
mod block_lifecycle;
mod block_refs;
pub mod blocks;
pub mod cluster;
mod commit;
pub mod devices;
pub mod drive;
mod expiry;
pub mod ids;
pub mod join_tokens;
mod joining;
pub mod journal;
mod keyspace;
pub mod lifecycle;
pub mod links;
pub mod precondition;
pub mod query;
mod rejection;
mod request;
mod response;
pub mod shares;
mod sharing;
pub mod subtree;
#[cfg(test)]
mod testkit;
pub mod tokens;
pub mod trash;
mod txn;
pub mod uploads;
pub mod users;
pub mod version;

pub use apply::{REQUEST_RETENTION_MS, apply};
pub use expiry::PRUNE_PER_APPLY;
pub use ids::{TokenHash, UserId};
pub use keyspace::Space;
pub use query::{Answer, Query, answer};
pub use rejection::Rejection;
pub use request::{Command, Request, RequestId};
pub use response::Response;
pub use subtree::MAX_MOVE_ENTRIES;
pub use tokens::TokenRecord;
pub use txn::{Pairs, StateError, StateRead, Txn, WriteOp, decode as txn_decode, encode as txn_encode};
pub use users::User;
