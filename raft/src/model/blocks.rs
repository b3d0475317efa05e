//! Blocks as metadata sees them: who stores which block, where, and how many versions use it.

use cairn_proto::{AccountId, BlockId};
use serde::{Deserialize, Serialize};

use super::txn::decode;
use super::{Response, Space, StateError, StateRead, Txn};
use crate::NodeId;

/// A stored block of one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Plaintext length.
    pub plain_len: u32,
    /// Data shards (k) of the stripe.
    pub data_shards: u8,
    /// Parity shards (m) of the stripe.
    pub parity_shards: u8,
    /// The node holding each shard, by shard index.
    pub placement: Vec<NodeId>,
    /// How many committed versions reference the block. Zero makes it a candidate for GC.
    pub refcount: u64,
    /// When the refcount last changed (ms), for GC's grace period.
    pub changed_ms: u64,
}

/// A block reference in a version's block list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// The block.
    pub id: BlockId,
    /// Its plaintext length.
    pub len: u32,
}

pub(super) fn key(account: AccountId, block: &BlockId) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..8].copy_from_slice(&account.0.to_be_bytes());
    key[8..].copy_from_slice(block.as_bytes());
    key
}

/// Records that a block's shards are durable at `placement` (idempotent: re-registering keeps
/// the refcount and takes the new placement).
pub(super) fn register<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    account: AccountId,
    block: &BlockId,
    plain_len: u32,
    shape: (u8, u8),
    placement: &[NodeId],
) -> Result<Response, StateError> {
    let k = key(account, block);
    let refcount = txn.get::<BlockRecord>(Space::Blocks, &k)?.map_or(0, |b| b.refcount);
    let record = BlockRecord {
        plain_len,
        data_shards: shape.0,
        parity_shards: shape.1,
        placement: placement.to_vec(),
        refcount,
        changed_ms: time_ms,
    };
    txn.put(Space::Blocks, &k, &record);
    Ok(Response::BlockRegistered)
}

/// The blocks of `refs` that `account` does not have, in the order given, without repeats.
pub(super) fn missing<R: StateRead + ?Sized>(
    txn: &Txn<R>,
    account: AccountId,
    refs: &[BlockRef],
) -> Result<Vec<BlockId>, StateError> {
    let mut missing: Vec<BlockId> = Vec::new();
    for r in refs {
        if txn.get_raw(Space::Blocks, &key(account, &r.id))?.is_none() && !missing.contains(&r.id) {
            missing.push(r.id);
        }
    }
    Ok(missing)
}

/// Adds one reference to each block of `refs`; `commit` has checked that they all exist.
pub(super) fn add_refs<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    account: AccountId,
    refs: &[BlockRef],
) -> Result<(), StateError> {
    for r in refs {
        let k = key(account, &r.id);
        if let Some(mut record) = txn.get::<BlockRecord>(Space::Blocks, &k)? {
            record.refcount += 1;
            record.changed_ms = time_ms;
            txn.put(Space::Blocks, &k, &record);
        }
    }
    Ok(())
}

/// Drops one reference from each block of `refs`, the inverse of [`add_refs`]. A block at zero
/// references stays registered; GC takes it after its grace period.
pub(super) fn release_refs<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    account: AccountId,
    refs: &[BlockRef],
) -> Result<(), StateError> {
    for r in refs {
        let k = key(account, &r.id);
        if let Some(mut record) = txn.get::<BlockRecord>(Space::Blocks, &k)? {
            record.refcount = record.refcount.saturating_sub(1);
            record.changed_ms = time_ms;
            txn.put(Space::Blocks, &k, &record);
        }
    }
    Ok(())
}

/// A block's record, if the account has it.
pub fn block(
    state: &(impl StateRead + ?Sized),
    account: AccountId,
    id: &BlockId,
) -> Result<Option<BlockRecord>, StateError> {
    state.get(Space::Blocks, &key(account, id))?.map(|b| decode(Space::Blocks, &b)).transpose()
}
