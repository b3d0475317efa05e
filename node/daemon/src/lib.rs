//! `cairn-node`: a cairn storage node, composed from the layers below it: the transport
//! (`cairn-transport`), the shard store (`cairn-shard-store`), the block codec
//! (`cairn-block-codec`), placement (`cairn-placement`) and the metadata state machine
//! (`cairn-raft`). Still in this crate, on their way to crates of their own: Raft over the
//! transport ([`raft_net`]) and the metadata service ([`service`]), the block service
//! ([`block_service`]) and the HTTP API ([`api`]); and the daemon itself ([`daemon`]).

pub mod allocator;
pub mod api;
pub mod block_service;
pub mod daemon;
pub mod raft_net;
pub mod service;
