//! Errors of the block data path.

use cairn_proto::{BlockId, ProtoError};

/// What can go wrong turning a block into shards and back. None of these is retryable against
/// the same bytes: each means the input is wrong, tampered with or incomplete.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The client's block itself is invalid (bad encoding, wrong id, too large).
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// A sealed block is not well formed: truncated, or from an unknown format version.
    #[error("sealed block is malformed: {0}")]
    MalformedSealed(String),
    /// A sealed block is for another block than the one asked for.
    #[error("sealed block names block {found}, expected {expected}")]
    WrongBlock {
        /// The id asked for.
        expected: BlockId,
        /// The id in the sealed header.
        found: BlockId,
    },
    /// Authentication failed: some byte of the sealed block, header or ciphertext, was changed,
    /// or it was sealed under another account's key.
    #[error("sealed block {0} failed authentication: tampered with, or sealed for another account")]
    Tampered(BlockId),
    /// An erasure-coding profile string or value is invalid.
    #[error("invalid erasure-coding profile {profile:?}: {reason}")]
    InvalidProfile {
        /// The rejected text.
        profile: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Fewer than k usable shards were supplied to rebuild a block.
    #[error("cannot rebuild block: {available} usable shards, need {needed}")]
    NotEnoughShards {
        /// Shards that were present and consistent.
        available: usize,
        /// Shards needed (k).
        needed: usize,
    },
    /// A shard's framing is inconsistent with the others or with the profile.
    #[error("shard {index} is malformed: {reason}")]
    MalformedShard {
        /// The shard's index, as far as it could be read.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}
