//! Blocks as metadata sees them: who stores which block, where, and how many versions use it.
//!
//! The lifecycle commands that change a record (register, report damage, move shards, drop)
//! live in [`block_lifecycle`](super::block_lifecycle); this file has the record, the reference
//! counting that commits and upload sessions do, and the reads.

use cairn_proto::{AccountId, BlockId};
use serde::{Deserialize, Serialize};

use super::ids::NodeId;
use super::txn::decode;
use super::{Rejection, Space, StateError, StateRead, Txn};

/// A stored block of one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Plaintext length.
    pub plain_len: u32,
    /// Data shards (k) of the stripe.
    pub data_shards: u8,
    /// Parity shards (m) of the stripe.
    pub parity_shards: u8,
    /// A random number the writing node chose for this stored copy of the block. It is part of
    /// every shard's storage key on the nodes, so the shards of a block that was dropped and
    /// uploaded again never collide with the old ones, and every command that acts on a stored
    /// copy names it, so a stale command cannot touch the copy that replaced it.
    pub generation: u64,
    /// The node holding each shard, by shard index; all distinct.
    pub placement: Vec<NodeId>,
    /// Shard indices known to be missing or corrupt (repair's debt), sorted, without repeats.
    pub damaged: Vec<u8>,
    /// How many committed versions and open upload sessions reference the block. Zero makes it
    /// a candidate for GC.
    pub refcount: u64,
    /// When the block was last registered or its refcount last changed (ms), for GC's grace
    /// period; GC's drop applies only if it is still the value GC saw.
    pub changed_ms: u64,
}

/// The most sealed bytes a block kept in metadata may have: Raft entries and snapshots carry
/// them, so they stay small beside a shard. (Nodes choose a lower threshold, see the block
/// service's `inline_max`.)
pub const MAX_INLINE_SEALED: usize = 128 << 10;

/// Whether `record` is a block kept in metadata ([`Space::InlineBlocks`]) rather than in shards:
/// it has no stripe and no placement, so repair, rebalance and the shard reconcilers have
/// nothing to do for it.
pub fn is_inline(record: &BlockRecord) -> bool {
    record.data_shards == 0
}

impl BlockRecord {
    /// Records a change at `time_ms`. `changed_ms` never goes backwards and moves on every
    /// change, even when proposers' clocks disagree or two changes share a millisecond, so GC's
    /// compare-and-delete on the value it saw fails whenever anything happened since.
    pub(super) fn touch(&mut self, time_ms: u64) {
        self.changed_ms = time_ms.max(self.changed_ms.saturating_add(1));
    }
}

/// A block reference in a version's block list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// The block.
    pub id: BlockId,
    /// Its plaintext length.
    pub len: u32,
}

/// One shard moved by repair (or rebuilt in place, when `from == to`), as a compare-and-set on
/// the block's placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMove {
    /// The shard index.
    pub index: u8,
    /// The node repair saw holding the shard; the move applies only if it still does.
    pub from: NodeId,
    /// The node that now holds a good copy of the shard.
    pub to: NodeId,
}

/// A block's key: the account big-endian, then the block id, so one account's blocks are one
/// contiguous range and a scan of the keyspace goes account by account.
pub(super) fn key(account: AccountId, block: &BlockId) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..8].copy_from_slice(&account.0.to_be_bytes());
    key[8..].copy_from_slice(block.as_bytes());
    key
}

/// The inverse of [`key`].
pub(super) fn parse_key(key: &[u8]) -> Result<(AccountId, BlockId), StateError> {
    let corrupt =
        || StateError::Decode { space: Space::Blocks, message: format!("key of {} bytes", key.len()) };
    let (account, block) = key.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let block: [u8; 32] = block.try_into().map_err(|_| corrupt())?;
    Ok((AccountId(u64::from_be_bytes(*account)), BlockId::from_bytes(block)))
}

/// The blocks of `refs` that `account` does not have, in the order given, without repeats. A
/// registered block counts as present whatever its refcount: it stays live until GC's
/// [`Command::DropBlock`](super::Command::DropBlock) removes its record.
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

/// The first block of `refs` that `account` has with another plain length than the reference
/// declares, as the refusal to answer with. A version's size is the sum of its declared
/// lengths and downloads cut ranges by them, so a length that is not the stored one would
/// make a file whose bytes are not its size; blocks the account lacks are [`missing`]'s.
pub(super) fn wrong_length<R: StateRead + ?Sized>(
    txn: &Txn<R>,
    account: AccountId,
    refs: &[BlockRef],
) -> Result<Option<Rejection>, StateError> {
    for r in refs {
        if let Some(record) = txn.get::<BlockRecord>(Space::Blocks, &key(account, &r.id))?
            && record.plain_len != r.len
        {
            return Ok(Some(Rejection::BlockLengthMismatch {
                block: r.id,
                declared: r.len,
                stored: record.plain_len,
            }));
        }
    }
    Ok(None)
}

/// A block's record, if the account has it.
pub fn block(
    state: &(impl StateRead + ?Sized),
    account: AccountId,
    id: &BlockId,
) -> Result<Option<BlockRecord>, StateError> {
    state.get(Space::Blocks, &key(account, id))?.map(|b| decode(Space::Blocks, &b)).transpose()
}

/// The sealed bytes of a block kept in metadata, if `account` has one called `id`.
pub fn inline_block(
    state: &(impl StateRead + ?Sized),
    account: AccountId,
    id: &BlockId,
) -> Result<Option<Vec<u8>>, StateError> {
    state.get(Space::InlineBlocks, &key(account, id))?.map(|b| decode(Space::InlineBlocks, &b)).transpose()
}

/// Up to `limit` blocks of every account, in key order (account, then block id), strictly
/// after `after`: the page that repair, GC and the nodes' shard reconcilers walk through.
pub fn blocks(
    state: &(impl StateRead + ?Sized),
    after: Option<(AccountId, BlockId)>,
    limit: usize,
) -> Result<Vec<(AccountId, BlockId, BlockRecord)>, StateError> {
    let after = after.map(|(account, block)| key(account, &block));
    state
        .scan(Space::Blocks, &[], after.as_ref().map(|k| k.as_slice()), limit)?
        .into_iter()
        .map(|(k, value)| {
            let (account, block) = parse_key(&k)?;
            Ok((account, block, decode(Space::Blocks, &value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::World;
    use crate::model::{Answer, Command, Query, answer};

    fn id(name: &str) -> BlockId {
        BlockId::of(name.as_bytes())
    }

    #[test]
    fn blocks_are_paged_across_accounts_in_key_order() {
        let mut w = World::new();
        for (account, name) in [(3, "c"), (2, "b"), (2, "a")] {
            w.run(Command::RegisterBlock {
                account: AccountId(account),
                block: id(name),
                plain_len: 1,
                shape: (1, 0),
                generation: account,
                placement: vec![1],
                damaged: vec![],
            });
        }
        let page = |after, limit| match answer(&w.state, &Query::Blocks { after, limit }).unwrap() {
            Answer::Blocks(page) => page,
            other => panic!("{other:?}"),
        };
        let mut ada: Vec<BlockId> = ["one", "two", "three"].map(id).to_vec();
        ada.sort();
        let mut bob: Vec<BlockId> = vec![id("a"), id("b")];
        bob.sort();
        let mut expected: Vec<(AccountId, BlockId)> = ada.iter().map(|b| (AccountId(1), *b)).collect();
        expected.extend(bob.iter().map(|b| (AccountId(2), *b)));
        expected.push((AccountId(3), id("c")));

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let got = page(after, 2);
            assert!(got.len() <= 2);
            let Some((account, block, _)) = got.last() else { break };
            after = Some((*account, *block));
            seen.extend(got.iter().map(|(a, b, _)| (*a, *b)));
        }
        assert_eq!(seen, expected);
        let all = page(None, 100);
        assert_eq!((all[5].2.generation, all[5].2.placement.clone()), (3, vec![1]));
        // A limit of zero still makes progress.
        assert_eq!(page(None, 0).len(), 1);
    }
}
