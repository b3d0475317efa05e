//! `cairn-raft`: cairn's strongly consistent metadata.
//!
//! The openraft type configuration ([`TypeConfig`]), the metadata model as commands applied by a
//! pure function ([`model`]), and its durable home on RocksDB ([`storage`]): a log store that
//! syncs every vote and append before acknowledging it, and a state machine kept in RocksDB
//! column families, snapshotted from RocksDB checkpoints. The network is the node's business:
//! this crate knows nothing of QUIC.

// openraft's storage traits fix the error type, `StorageError`, at 224 bytes; boxing it in our
// helpers would only add an allocation on the way to unboxing it for openraft.
#![allow(clippy::result_large_err)]

pub mod model;
pub mod storage;
pub mod type_config;

pub use type_config::{NodeAddr, NodeId, Proposal, TypeConfig};
