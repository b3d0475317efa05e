//! Raft over the QUIC transport: openraft's network traits on the calling side
//! ([`RaftNetwork`]), the [`handler`] that feeds incoming RPCs to the local Raft, and the
//! [`Elector`] that decides when this node stands, after a pre-vote.
//!
//! Each RPC is one transport request: a kind byte saying which RPC, and the postcard-encoded
//! openraft message; the answer is the postcard-encoded `Result` of the local Raft's call, so
//! a remote Raft error reaches the caller as the same error.

mod client;
mod elector;
mod server;

pub use client::{PeerLink, RaftNetwork};
pub use elector::{ElectionTimes, Elector, PreVote, PreVoteRequest};
pub use server::handler;

/// Transport kind of an AppendEntries RPC.
pub const KIND_APPEND: u8 = 1;
/// Transport kind of a Vote RPC.
pub const KIND_VOTE: u8 = 2;
/// Transport kind of an InstallSnapshot RPC (one chunk).
pub const KIND_SNAPSHOT: u8 = 3;
/// Transport kind of a pre-vote (cairn's own, not openraft's): would you vote for me now?
pub const KIND_PRE_VOTE: u8 = 4;
/// Transport kind of a reply to a request the receiver could not decode.
pub const KIND_UNDECODABLE: u8 = 0xfe;
