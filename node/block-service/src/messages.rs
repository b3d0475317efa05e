//! The block layer's wire vocabulary: shard calls between nodes, block calls from clients.
//!
//! A message is a small postcard header followed by raw bytes (a shard, a block): serde would
//! encode a `Vec<u8>` byte by byte, and these bodies are megabytes. Every answer's header is a
//! `Result<T, _>`, so a caller always learns why a call failed.

use bytes::Bytes;
use cairn_proto::{AccountId, BlockId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use cairn_metadata::ServiceError;
use cairn_shard_store::{ShardStoreError, StoreUsage};

/// Stores a shard: header [`ShardKey`](cairn_shard_store::ShardKey), body the shard; answers `Result<(), ShardCallError>`.
/// Node-to-node only.
pub const KIND_SHARD_PUT: u8 = 20;
/// Reads a shard, checksum verified: header [`ShardKey`](cairn_shard_store::ShardKey); answers
/// `Result<bool, ShardCallError>` (whether there is one) with the shard as body.
pub const KIND_SHARD_GET: u8 = 21;
/// Deletes a shard: header [`ShardKey`](cairn_shard_store::ShardKey); answers `Result<bool, ShardCallError>`.
pub const KIND_SHARD_DELETE: u8 = 22;
/// Stores a block: header [`BlockPut`], body the client's `EncodedBlock` bytes; answers
/// `Result<BlockStored, BlockError>`.
pub const KIND_BLOCK_PUT: u8 = 23;
/// Reads a block: header [`BlockGet`]; answers `Result<u32, BlockError>` (the plaintext
/// length) with the verified plaintext as body.
pub const KIND_BLOCK_GET: u8 = 24;
/// Liveness and fullness: no header; answers `Result<ShardUsage, ShardCallError>`.
pub const KIND_PING: u8 = 25;
/// Rebalance and drain progress, as the leader's mover sees it: header [`RebalanceAsk`];
/// answers `Result<RebalanceReport, BlockError>`. For nodes and operators.
pub const KIND_REBALANCE: u8 = 26;

/// Why a shard call failed on the node that holds (or should hold) the shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ShardCallError {
    /// The node's store is full; place the shard elsewhere.
    #[error("full: {0}")]
    Full(String),
    /// The stored shard failed its checksum; it must be rebuilt, and is never served.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// The node's store failed; another try may pass.
    #[error("store: {0}")]
    Store(String),
    /// The call was malformed or not allowed.
    #[error("refused: {0}")]
    Refused(String),
}

impl From<ShardStoreError> for ShardCallError {
    fn from(e: ShardStoreError) -> Self {
        match e {
            ShardStoreError::Full(why) => Self::Full(why),
            ShardStoreError::Corrupt { .. } => Self::Corrupt(e.to_string()),
            other => Self::Store(other.to_string()),
        }
    }
}

/// A node's shard store usage, as its ping answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardUsage {
    /// Shards held.
    pub shards: u64,
    /// Bytes held.
    pub used_bytes: u64,
    /// The configured limit, if any.
    pub capacity_bytes: Option<u64>,
    /// Free bytes on the store's disk.
    pub disk_available_bytes: u64,
}

impl From<StoreUsage> for ShardUsage {
    fn from(u: StoreUsage) -> Self {
        Self {
            shards: u.shards,
            used_bytes: u.used_bytes,
            capacity_bytes: u.capacity_bytes,
            disk_available_bytes: u.disk_available_bytes,
        }
    }
}

/// Which block to store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockPut {
    /// Whose block (dedup and encryption keys are per account).
    pub account: AccountId,
    /// The block id the client claims; the node checks it against the bytes.
    pub id: BlockId,
}

/// Which block to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockGet {
    /// Whose block.
    pub account: AccountId,
    /// Which.
    pub id: BlockId,
}

/// A stored block, as its writer reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStored {
    /// False when the account already had the block: nothing was written (dedup).
    pub written: bool,
    /// The node holding each shard.
    pub placement: Vec<u64>,
    /// Shards that could not be written (nodes down); repair will add them.
    pub damaged: Vec<u8>,
}

/// What a rebalance report should hold beyond the mover's last scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceAsk {
    /// Count, from the metadata as of now (after a read barrier), the blocks with a shard on
    /// this node: what `member remove` checks before a node leaves.
    pub count_on: Option<u64>,
}

/// Shards that placement wants off one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLeft {
    /// The node.
    pub node: u64,
    /// Shards to move off it.
    pub shards: u64,
    /// About how many bytes they are.
    pub bytes: u64,
}

/// The blocks with a shard on one node, counted from the metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHolding {
    /// The node.
    pub node: u64,
    /// Blocks with a shard on it: each would be one shard short until repair if it left now.
    pub blocks: u64,
    /// About how many bytes of shards that is.
    pub bytes: u64,
}

/// Rebalance and drain progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceReport {
    /// Whether the answering node leads (only the leader moves shards; the rest is from its
    /// last scan, or empty on a follower).
    pub leading: bool,
    /// Scans completed since this node began to lead.
    pub scans: u64,
    /// Shards left to move, counted at the start of the current scan and counted down since.
    pub shards_left: u64,
    /// About how many bytes they are.
    pub bytes_left: u64,
    /// Blocks that should move but have nowhere to go (too few nodes take shards).
    pub blocks_stuck: u64,
    /// Shards left to move off each node, for nodes with any.
    pub leaving: Vec<NodeLeft>,
    /// Shards moved since this node began to lead.
    pub moved_shards: u64,
    /// Bytes of shards moved since this node began to lead.
    pub moved_bytes: u64,
    /// Block moves that failed (retried at the next scan).
    pub failures: u64,
    /// The answer to [`RebalanceAsk::count_on`].
    pub holding: Option<NodeHolding>,
}

/// Why a block call failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BlockError {
    /// The block's bytes are malformed or are not the block they claim to be. Not retryable.
    #[error("invalid block: {0}")]
    Invalid(String),
    /// The account has no such block.
    #[error("no block {0} in this account")]
    NotFound(BlockId),
    /// Too few shards could be written (fewer than k+1 nodes took theirs) or read (fewer than
    /// k). Retryable once nodes come back.
    #[error("block unavailable: {0}")]
    Unavailable(String),
    /// Every shard was read but the block does not authenticate: never served. Not retryable.
    #[error("block {0} failed verification: its shards do not rebuild it")]
    Damaged(BlockId),
    /// The metadata service failed.
    #[error("metadata: {0}")]
    Metadata(ServiceError),
    /// The call was malformed or not allowed.
    #[error("refused: {0}")]
    Refused(String),
}

impl BlockError {
    /// Whether the same call may pass later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Metadata(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// A message of `header` and `body`.
pub fn encode<H: Serialize>(header: &H, body: &[u8]) -> Bytes {
    let head = postcard::to_stdvec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(4 + head.len() + body.len());
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// Splits a message into its header and body.
pub fn decode<H: DeserializeOwned>(message: &Bytes) -> Result<(H, Bytes), String> {
    let what = std::any::type_name::<H>();
    let Some((len, rest)) = message.split_first_chunk::<4>() else {
        return Err(format!("{what}: {} bytes is too short for a header", message.len()));
    };
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(format!("{what}: header of {len} bytes, only {} present", rest.len()));
    }
    let header = postcard::from_bytes(&rest[..len]).map_err(|e| format!("{what}: {e}"))?;
    Ok((header, message.slice(4 + len..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_body_round_trip_and_truncation_is_an_error() {
        let key = BlockGet { account: AccountId(3), id: BlockId::of(b"x") };
        let message = encode(&key, b"body bytes");
        let (back, body) = decode::<BlockGet>(&message).unwrap();
        assert_eq!((back, &body[..]), (key, &b"body bytes"[..]));
        assert!(decode::<BlockGet>(&message.slice(..10)).is_err());
        assert!(decode::<BlockGet>(&Bytes::from_static(b"\x01")).is_err());
    }
}
