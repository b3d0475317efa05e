//! Indexes of the block records, so repair, GC and rebalance visit only the blocks that can
//! concern them instead of every record: at ten million small files nearly all records are of
//! blocks kept in metadata, which have no shards to repair or move.
//!
//! One keyspace, [`Space::BlockIndex`], holds four indexes, told apart by a tag byte; each key
//! ends with the block's record key (account, block id) and has no value:
//!
//! - `n` + node: the blocks with a shard on that node — what repair walks for a lost node;
//! - `s`: the blocks with shards at all — what rebalance walks;
//! - `d`: the blocks with damaged shards — repair's other debt;
//! - `z`: the blocks no version references — GC's candidates.
//!
//! Every write of a block record goes through [`save`] or [`remove`], which move the record's
//! index keys with it in the same transaction, so the indexes are exactly the records' on every
//! replica. A state written before the indexes existed gets them built when it is opened
//! ([`build`]).

use cairn_proto::{AccountId, BlockId};

use super::blocks::{BlockRecord, is_inline, key, parse_key};
use super::ids::NodeId;
use super::{Space, StateError, StateRead, Txn};

/// The marker of a state whose indexes are built, and the layout they are built in.
const BUILT: &[u8] = b"built";
const LAYOUT: u32 = 1;

const ON_NODE: u8 = b'n';
const SHARDED: u8 = b's';
const DAMAGED: u8 = b'd';
const UNREFERENCED: u8 = b'z';

/// A set of blocks an index lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BlockSet {
    /// Blocks with a shard on this node.
    OnNode(NodeId),
    /// Blocks with shards (not kept in metadata).
    Sharded,
    /// Blocks with shards known to be missing or corrupt.
    Damaged,
    /// Blocks no version or upload references.
    Unreferenced,
}

impl BlockSet {
    fn prefix(self) -> Vec<u8> {
        match self {
            BlockSet::OnNode(node) => [&[ON_NODE][..], &node.to_be_bytes()].concat(),
            BlockSet::Sharded => vec![SHARDED],
            BlockSet::Damaged => vec![DAMAGED],
            BlockSet::Unreferenced => vec![UNREFERENCED],
        }
    }
}

/// The index keys of `record`, stored under record key `k`.
fn keys_of(k: &[u8], record: &BlockRecord) -> Vec<Vec<u8>> {
    let mut sets = Vec::new();
    if !is_inline(record) {
        sets.push(BlockSet::Sharded);
        sets.extend(record.placement.iter().map(|&node| BlockSet::OnNode(node)));
    }
    if !record.damaged.is_empty() {
        sets.push(BlockSet::Damaged);
    }
    if record.refcount == 0 {
        sets.push(BlockSet::Unreferenced);
    }
    sets.into_iter().map(|set| [set.prefix().as_slice(), k].concat()).collect()
}

/// Stores `record` under record key `k` and moves its index keys from those of the record it
/// replaces.
pub(super) fn save<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    k: &[u8],
    record: &BlockRecord,
) -> Result<(), StateError> {
    let old = txn.get::<BlockRecord>(Space::Blocks, k)?.map(|old| keys_of(k, &old)).unwrap_or_default();
    let new = keys_of(k, record);
    for gone in old.iter().filter(|key| !new.contains(key)) {
        txn.delete(Space::BlockIndex, gone);
    }
    for added in new.iter().filter(|key| !old.contains(key)) {
        txn.put_raw(Space::BlockIndex, added, Vec::new());
    }
    txn.put(Space::Blocks, k, record);
    Ok(())
}

/// Removes the record under `k` and its index keys.
pub(super) fn remove<R: StateRead + ?Sized>(txn: &mut Txn<R>, k: &[u8]) -> Result<(), StateError> {
    if let Some(old) = txn.get::<BlockRecord>(Space::Blocks, k)? {
        for gone in keys_of(k, &old) {
            txn.delete(Space::BlockIndex, &gone);
        }
    }
    txn.delete(Space::Blocks, k);
    Ok(())
}

/// Up to `limit` blocks of `set` after `after`, in key order (account, then block id), with
/// their records.
pub fn blocks_in(
    state: &(impl StateRead + ?Sized),
    set: BlockSet,
    after: Option<(AccountId, BlockId)>,
    limit: usize,
) -> Result<Vec<(AccountId, BlockId, BlockRecord)>, StateError> {
    let prefix = set.prefix();
    let after = after.map(|(account, block)| [prefix.as_slice(), &key(account, &block)].concat());
    let mut out = Vec::new();
    for (index_key, _) in state.scan(Space::BlockIndex, &prefix, after.as_deref(), limit)? {
        let (account, block) = parse_key(&index_key[prefix.len()..])?;
        // Written in the same transaction as the record, so the record is there.
        if let Some(record) = super::blocks::block(state, account, &block)? {
            out.push((account, block, record));
        }
    }
    Ok(out)
}

/// Every node some block has a shard on, in order.
pub fn nodes_with_shards(state: &(impl StateRead + ?Sized)) -> Result<Vec<NodeId>, StateError> {
    let mut nodes = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some((k, _)) = state.scan(Space::BlockIndex, &[ON_NODE], after.as_deref(), 1)?.pop() {
        let node =
            k.get(1..9).and_then(|b| b.try_into().ok()).map(NodeId::from_be_bytes).ok_or_else(|| {
                StateError::Decode { space: Space::BlockIndex, message: "short node key".into() }
            })?;
        nodes.push(node);
        // Past every key of this node: its prefix followed by the highest record key.
        after = Some([&[ON_NODE][..], &node.to_be_bytes(), &[0xff; 41]].concat());
    }
    Ok(nodes)
}

/// Whether the indexes of this state are built.
pub fn is_built(state: &(impl StateRead + ?Sized)) -> Result<bool, StateError> {
    Ok(state.get(Space::BlockIndex, BUILT)?.is_some())
}

/// Builds the indexes of a state written before they existed: `page` records at a time, each
/// page's writes handed to `write`, then the marker. Idempotent: a build cut short is done
/// again from the start.
pub fn build<R: StateRead + ?Sized>(
    state: &R,
    page: usize,
    mut write: impl FnMut(Txn<'_, R>) -> Result<(), StateError>,
) -> Result<u64, StateError> {
    let mut after: Option<Vec<u8>> = None;
    let mut records = 0u64;
    loop {
        let pairs = state.scan(Space::Blocks, &[], after.as_deref(), page)?;
        let Some((last, _)) = pairs.last() else { break };
        after = Some(last.clone());
        let mut txn = Txn::new(state);
        for (k, value) in &pairs {
            let record: BlockRecord = super::txn::decode(Space::Blocks, value)?;
            for index_key in keys_of(k, &record) {
                txn.put_raw(Space::BlockIndex, &index_key, Vec::new());
            }
            records += 1;
        }
        write(txn)?;
    }
    let mut txn = Txn::new(state);
    txn.put(Space::BlockIndex, BUILT, &LAYOUT);
    write(txn)?;
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::blocks::{ShardMove, blocks};
    use crate::model::testkit::World;
    use crate::model::{Command, Response};

    /// Every block of `set`, paging two at a time.
    fn walk(w: &World, set: BlockSet) -> Vec<(AccountId, BlockId)> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = blocks_in(&w.state, set, after, 2).unwrap();
            let Some((account, block, _)) = page.last() else { return out };
            after = Some((*account, *block));
            out.extend(page.iter().map(|(a, b, _)| (*a, *b)));
        }
    }

    /// What each index must hold, read off every record.
    fn assert_indexes_match_records(w: &World) {
        let all = blocks(&w.state, None, usize::MAX).unwrap();
        let expect = |keep: &dyn Fn(&BlockRecord) -> bool| -> Vec<(AccountId, BlockId)> {
            all.iter().filter(|(_, _, r)| keep(r)).map(|(a, b, _)| (*a, *b)).collect()
        };
        assert_eq!(walk(w, BlockSet::Sharded), expect(&|r| !is_inline(r)));
        assert_eq!(walk(w, BlockSet::Damaged), expect(&|r| !r.damaged.is_empty()));
        assert_eq!(walk(w, BlockSet::Unreferenced), expect(&|r| r.refcount == 0));
        let mut nodes: Vec<NodeId> = all.iter().flat_map(|(_, _, r)| r.placement.clone()).collect();
        nodes.sort_unstable();
        nodes.dedup();
        assert_eq!(nodes_with_shards(&w.state).unwrap(), nodes);
        for node in nodes {
            assert_eq!(
                walk(w, BlockSet::OnNode(node)),
                expect(&|r| r.placement.contains(&node)),
                "node {node}"
            );
        }
        // And a build from the records alone gives the same keys.
        let indexed: Vec<Vec<u8>> = w
            .state
            .scan(Space::BlockIndex, &[], None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut rebuilt = std::collections::BTreeMap::new();
        build(&w.state, 2, |txn| {
            rebuilt.extend(txn.into_writes().filter(|((space, _), _)| *space == Space::BlockIndex));
            Ok(())
        })
        .unwrap();
        let rebuilt: Vec<Vec<u8>> = rebuilt.into_keys().map(|(_, k)| k).filter(|k| k != BUILT).collect();
        assert_eq!(indexed, rebuilt);
    }

    #[test]
    fn the_indexes_follow_every_change_of_a_record() {
        let mut w = World::new();
        assert_indexes_match_records(&w);
        let id = |name: &str| BlockId::of(name.as_bytes());
        w.run(Command::RegisterBlock {
            account: AccountId(2),
            block: id("four"),
            plain_len: 4,
            shape: (2, 1),
            generation: 7,
            placement: vec![2, 4, 5],
            damaged: vec![1],
        });
        assert_indexes_match_records(&w);
        w.ada_commits("/a", None, &[b"one", b"two"]);
        assert_indexes_match_records(&w);
        w.run(Command::ReportDamage {
            account: AccountId(1),
            block: id("one"),
            generation: 1,
            shards: vec![0, 2],
        });
        assert_indexes_match_records(&w);
        let moved = w.run(Command::MoveShards {
            account: AccountId(1),
            block: id("one"),
            generation: 1,
            moves: vec![ShardMove { index: 0, from: 1, to: 6 }, ShardMove { index: 2, from: 3, to: 7 }],
        });
        assert_eq!(moved, Response::ShardsMoved);
        assert_indexes_match_records(&w);
        let three =
            blocks(&w.state, None, usize::MAX).unwrap().into_iter().find(|(_, b, _)| *b == id("three"));
        let (_, _, record) = three.unwrap();
        let dropped = w.run(Command::DropBlock {
            account: AccountId(1),
            block: id("three"),
            generation: 1,
            unchanged_since_ms: record.changed_ms,
        });
        assert!(matches!(dropped, Response::BlockDropped { .. }), "{dropped:?}");
        assert_indexes_match_records(&w);
        assert!(!walk(&w, BlockSet::OnNode(3)).contains(&(AccountId(1), id("three"))));
    }
}
