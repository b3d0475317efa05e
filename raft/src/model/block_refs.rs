//! A block's reference count: one per listing of it in a version or an upload session. The
//! count moves with the block's indexes (an unreferenced block is GC's candidate), so this sits
//! above both the records and the indexes.

use cairn_proto::AccountId;

use super::blocks::{BlockRecord, BlockRef, key};
use super::{Space, StateError, StateRead, Txn, block_index};

/// Adds one reference to each block of `refs` (a block listed twice gets two); the caller has
/// checked with [`missing`](super::blocks::missing) that they all exist.
pub(super) fn add_refs<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    account: AccountId,
    refs: &[BlockRef],
) -> Result<(), StateError> {
    count(txn, time_ms, account, refs, |n| n + 1)
}

/// Drops one reference from each block of `refs`, the inverse of [`add_refs`]. A block at zero
/// references stays registered; GC takes it after its grace period.
pub(super) fn release_refs<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    account: AccountId,
    refs: &[BlockRef],
) -> Result<(), StateError> {
    count(txn, time_ms, account, refs, |n| n.saturating_sub(1))
}

/// Moves the count of each block of `refs` the account has, once per listing, with its
/// indexes; a block it does not have is skipped.
fn count<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    account: AccountId,
    refs: &[BlockRef],
    change: impl Fn(u64) -> u64,
) -> Result<(), StateError> {
    for r in refs {
        let k = key(account, &r.id);
        if let Some(mut record) = txn.get::<BlockRecord>(Space::Blocks, &k)? {
            record.refcount = change(record.refcount);
            record.touch(time_ms);
            block_index::save(txn, &k, &record)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cairn_proto::BlockId;

    use super::*;
    use crate::model::blocks::{block, missing};
    use crate::model::testkit::{World, refs};

    fn id(name: &str) -> BlockId {
        BlockId::of(name.as_bytes())
    }

    #[test]
    fn references_count_each_listing_and_never_go_below_zero() {
        let mut w = World::new();
        let mut txn = Txn::new(&w.state);
        let account = AccountId(1);
        add_refs(&mut txn, 2_000, account, &refs(&[b"one", b"one", b"two"])).unwrap();
        // A block the account does not have is skipped: the caller checked with `missing`.
        add_refs(&mut txn, 2_000, account, &refs(&[b"nine"])).unwrap();
        assert_eq!(missing(&txn, account, &refs(&[b"nine", b"one", b"nine"])).unwrap(), vec![id("nine")]);
        release_refs(&mut txn, 3_000, account, &refs(&[b"one", b"two", b"two"])).unwrap();
        let one = block(&txn, account, &id("one")).unwrap().unwrap();
        let two = block(&txn, account, &id("two")).unwrap().unwrap();
        assert_eq!((one.refcount, two.refcount), (1, 0));
        // Each change moves `changed_ms`, also the second release of "two" in the same millisecond.
        assert_eq!((one.changed_ms, two.changed_ms), (3_000, 3_001));
        let writes: Vec<_> = txn.into_writes().collect();
        for ((space, key), value) in writes {
            match value {
                Some(value) => w.state.insert((space, key), value),
                None => w.state.remove(&(space, key)),
            };
        }
        let mut txn = Txn::new(&w.state);
        add_refs(&mut txn, 3_000, account, &refs(&[b"one"])).unwrap();
        add_refs(&mut txn, 3_000, account, &refs(&[b"one"])).unwrap();
        assert_eq!(block(&txn, account, &id("one")).unwrap().unwrap().changed_ms, 3_002);
    }
}
