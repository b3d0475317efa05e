//! `cairn-node`: a cairn storage node.
//!
//! This crate turns client blocks into durable shards and back: sealing with per-account keys
//! ([`block::seal`]), Reed-Solomon erasure coding ([`block::erasure`]), the whole per-block
//! pipeline ([`block::pipeline`]), rendezvous placement of shards on nodes ([`placement`]) and
//! the checksummed, fsync'd shard store on each node's disk ([`shard_store`]). Nodes talk to
//! each other over QUIC with mutual TLS against the cluster CA ([`transport`]).

pub mod allocator;
pub mod api;
pub mod block;
pub mod block_service;
pub mod daemon;
pub mod placement;
pub mod raft_net;
pub mod service;
pub mod shard_store;
pub mod transport;
