//! A stored block's life in metadata: its writer registers it, whoever finds a bad shard reports
//! the damage, repair moves shards, and garbage collection drops it.
//!
//! Repair and GC act on pages of [`Query::Blocks`](super::Query::Blocks) that may be stale by
//! the time they act, so their commands are compare-and-set: each names the generation it saw
//! (repair also the node it saw holding each shard, GC the `changed_ms` it saw) and is refused,
//! changing nothing, if the record has moved on since. The worker then reads the block again.

use cairn_proto::{AccountId, BlockId};

use super::blocks::{BlockRecord, MAX_INLINE_SEALED, ShardMove, is_inline, key};
use super::ids::NodeId;
use super::version::{self, Feature};
use super::{Rejection, Response, Space, StateError, StateRead, Txn, block_holders, block_index};

/// The most shards one stripe may have. It bounds the placement and the damage list a record
/// carries, and with them the work every command on the record does.
const MAX_SHARDS: usize = 64;

/// Records a block whose shards are durable; `new` is the record as a first registration
/// stores it (refcount 0, `changed_ms` the request's time).
///
/// The first registration wins. A block registered already keeps its generation, placement and
/// damage, since its shards are where that record says; the later writer learns the generation
/// that stands from the answer and drops its own copy. Only `changed_ms` moves, because the
/// writer is about to reference the block and GC's grace period must start over.
pub(super) fn register<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
    mut new: BlockRecord,
) -> Result<Response, StateError> {
    new.damaged.sort_unstable();
    new.damaged.dedup();
    if let Some(reason) = invalid(&new) {
        return Ok(Response::Rejected(Rejection::InvalidBlock { block: *block, reason }));
    }
    first_registration_wins(txn, &key(account, block), &new)
}

/// Stores `new` under `k` unless the account has the block already, in which case only the
/// existing record's `changed_ms` moves (see [`register`]). The answer says which happened.
fn first_registration_wins<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    k: &[u8],
    new: &BlockRecord,
) -> Result<Response, StateError> {
    if let Some(mut existing) = txn.get::<BlockRecord>(Space::Blocks, k)? {
        existing.touch(new.changed_ms);
        block_index::save(txn, k, &existing)?;
        return Ok(Response::BlockRegistered { fresh: false, generation: existing.generation });
    }
    block_index::save(txn, k, new)?;
    Ok(Response::BlockRegistered { fresh: true, generation: new.generation })
}

/// Records a small block kept in metadata: `new` with no shards, and the sealed bytes beside it.
/// The first registration wins, as in [`register`]. Refused while the cluster version is below
/// [`Feature::InlineBlocks`]: members of the previous release could not read the keyspace.
pub(super) fn register_inline<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
    new: BlockRecord,
    sealed: &[u8],
) -> Result<Response, StateError> {
    let invalid = |reason: String| Ok(Response::Rejected(Rejection::InvalidBlock { block: *block, reason }));
    if !Feature::InlineBlocks.enabled_at(version::cluster_version(txn)?) {
        return invalid(format!(
            "{} needs cluster version {}",
            Feature::InlineBlocks,
            Feature::InlineBlocks.since()
        ));
    }
    if sealed.len() > MAX_INLINE_SEALED {
        return invalid(format!(
            "{} sealed bytes are more than the {MAX_INLINE_SEALED} a block kept in metadata may have",
            sealed.len()
        ));
    }
    let k = key(account, block);
    let response = first_registration_wins(txn, &k, &new)?;
    if matches!(response, Response::BlockRegistered { fresh: true, .. }) {
        txn.put(Space::InlineBlocks, &k, &sealed);
    }
    Ok(response)
}

/// Why a record to be registered cannot stand, if it cannot.
fn invalid(record: &BlockRecord) -> Option<String> {
    let (k, m) = (usize::from(record.data_shards), usize::from(record.parity_shards));
    let shards = record.placement.len();
    if k == 0 {
        return Some("a stripe needs at least one data shard".into());
    }
    if k + m != shards {
        return Some(format!("shape ({k}, {m}) has {} shards but the placement names {shards} nodes", k + m));
    }
    if shards > MAX_SHARDS {
        return Some(format!("{shards} shards are more than the {MAX_SHARDS} a stripe may have"));
    }
    if let Some(node) = repeated(&record.placement) {
        return Some(format!("node {node} would hold two shards of the block"));
    }
    if let Some(index) = record.damaged.iter().find(|&&i| usize::from(i) >= shards) {
        return Some(format!("damaged shard {index} is past the stripe's {shards} shards"));
    }
    if record.damaged.len() > m {
        return Some(format!(
            "{} damaged shards are more than the {m} parity shards: the block was not durably written",
            record.damaged.len()
        ));
    }
    None
}

/// A node named twice in `placement`, if any. Placements have at most [`MAX_SHARDS`] nodes, so
/// the quadratic scan is cheaper than building a set.
fn repeated(placement: &[NodeId]) -> Option<NodeId> {
    placement.iter().enumerate().find_map(|(i, node)| placement[..i].contains(node).then_some(*node))
}

/// The record of `block` if it exists with `generation`: the stored copy a command was aimed at.
fn current<R: StateRead + ?Sized>(
    txn: &Txn<R>,
    k: &[u8],
    generation: u64,
) -> Result<Option<BlockRecord>, StateError> {
    Ok(txn.get::<BlockRecord>(Space::Blocks, k)?.filter(|record| record.generation == generation))
}

/// Adds shard indices to a block's repair debt. Indices past the stripe are ignored rather than
/// refused: a report is a hint from a reader or a scrubber, and the valid part of it still
/// counts. A report aimed at a generation that is gone is stale and changes nothing.
pub(super) fn report_damage<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
    generation: u64,
    shards: &[u8],
) -> Result<Response, StateError> {
    let k = key(account, block);
    let Some(mut record) = current(txn, &k, generation)? else {
        return Ok(Response::Rejected(Rejection::NoSuchBlock { block: *block }));
    };
    let before = record.damaged.clone();
    let stripe = record.placement.len();
    record.damaged.extend(shards.iter().copied().filter(|&i| usize::from(i) < stripe));
    record.damaged.sort_unstable();
    record.damaged.dedup();
    if record.damaged != before {
        block_index::save(txn, &k, &record)?;
    }
    Ok(Response::DamageRecorded { damaged: record.damaged })
}

/// Repair's compare-and-set on a block's placement: every move applies, or none does.
pub(super) fn move_shards<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
    generation: u64,
    moves: &[ShardMove],
) -> Result<Response, StateError> {
    let reject = |r| Ok(Response::Rejected(r));
    let invalid = |reason: String| reject(Rejection::InvalidBlock { block: *block, reason });
    let k = key(account, block);
    let Some(mut record) = current(txn, &k, generation)? else {
        return reject(Rejection::PlacementChanged { block: *block });
    };
    let stripe = record.placement.len();
    // Every index is checked before a duplicate is looked for among the earlier ones, so a
    // repeat shows up within the first `stripe + 1` moves and the scan stays bounded.
    for (i, mv) in moves.iter().enumerate() {
        if usize::from(mv.index) >= stripe {
            return invalid(format!("shard {} is past the stripe's {stripe} shards", mv.index));
        }
        if moves[..i].iter().any(|earlier| earlier.index == mv.index) {
            return invalid(format!("shard {} is moved twice", mv.index));
        }
    }
    if moves.iter().any(|mv| record.placement[usize::from(mv.index)] != mv.from) {
        return reject(Rejection::PlacementChanged { block: *block });
    }
    for mv in moves {
        record.placement[usize::from(mv.index)] = mv.to;
        record.damaged.retain(|&i| i != mv.index);
    }
    if let Some(node) = repeated(&record.placement) {
        return invalid(format!("the moves would put two shards on node {node}"));
    }
    block_index::save(txn, &k, &record)?;
    Ok(Response::ShardsMoved)
}

/// GC's compare-and-delete: the record goes only if it is the generation GC saw, nothing
/// references it, and nothing happened to it since GC saw `changed_ms`. The answer names the
/// nodes whose shards GC may now delete.
pub(super) fn drop_block<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
    generation: u64,
    unchanged_since_ms: u64,
) -> Result<Response, StateError> {
    let k = key(account, block);
    let Some(record) = current(txn, &k, generation)? else {
        return Ok(Response::Rejected(Rejection::NoSuchBlock { block: *block }));
    };
    if record.refcount != 0 || record.changed_ms != unchanged_since_ms {
        return Ok(Response::Rejected(Rejection::BlockInUse { block: *block }));
    }
    block_index::remove(txn, &k)?;
    if is_inline(&record) {
        txn.delete(Space::InlineBlocks, &k);
    }
    block_holders::forget(txn, account, block)?;
    Ok(Response::BlockDropped { placement: record.placement })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Command;
    use crate::model::blocks::block;
    use crate::model::testkit::{ADA, ADA_DRIVE, World, path};

    const ADA_ACCOUNT: AccountId = AccountId(1);

    fn id(name: &str) -> BlockId {
        BlockId::of(name.as_bytes())
    }

    fn register(
        w: &mut World,
        name: &str,
        generation: u64,
        shape: (u8, u8),
        placement: &[NodeId],
    ) -> Response {
        register_damaged(w, name, generation, shape, placement, &[])
    }

    fn register_damaged(
        w: &mut World,
        name: &str,
        generation: u64,
        shape: (u8, u8),
        placement: &[NodeId],
        damaged: &[u8],
    ) -> Response {
        w.run(Command::RegisterBlock {
            account: ADA_ACCOUNT,
            block: id(name),
            plain_len: name.len() as u32,
            shape,
            generation,
            placement: placement.to_vec(),
            damaged: damaged.to_vec(),
        })
    }

    fn record(w: &World, name: &str) -> Option<BlockRecord> {
        block(&w.state, ADA_ACCOUNT, &id(name)).unwrap()
    }

    fn report(w: &mut World, name: &str, generation: u64, shards: &[u8]) -> Response {
        w.run(Command::ReportDamage {
            account: ADA_ACCOUNT,
            block: id(name),
            generation,
            shards: shards.to_vec(),
        })
    }

    fn mv(index: u8, from: NodeId, to: NodeId) -> ShardMove {
        ShardMove { index, from, to }
    }

    fn move_shards(w: &mut World, name: &str, generation: u64, moves: &[ShardMove]) -> Response {
        w.run(Command::MoveShards {
            account: ADA_ACCOUNT,
            block: id(name),
            generation,
            moves: moves.to_vec(),
        })
    }

    fn drop_block(w: &mut World, name: &str, generation: u64, unchanged_since_ms: u64) -> Response {
        w.run(Command::DropBlock { account: ADA_ACCOUNT, block: id(name), generation, unchanged_since_ms })
    }

    fn rejected_as_invalid(response: Response) -> String {
        match response {
            Response::Rejected(Rejection::InvalidBlock { reason, .. }) => reason,
            other => panic!("expected InvalidBlock, got {other:?}"),
        }
    }

    #[test]
    fn the_first_registration_wins_and_a_later_one_restarts_the_grace_period() {
        let mut w = World::new();
        assert_eq!(
            register_damaged(&mut w, "new", 7, (2, 1), &[1, 2, 3], &[2, 2]),
            Response::BlockRegistered { fresh: true, generation: 7 }
        );
        let first = record(&w, "new").unwrap();
        assert_eq!(
            first,
            BlockRecord {
                plain_len: 3,
                data_shards: 2,
                parity_shards: 1,
                generation: 7,
                placement: vec![1, 2, 3],
                damaged: vec![2],
                refcount: 0,
                changed_ms: 1_000,
            }
        );
        // A second writer stored its own copy; the answer tells it which generation stands.
        w.now = 5_000;
        assert_eq!(
            register(&mut w, "new", 8, (3, 2), &[4, 5, 6, 7, 8]),
            Response::BlockRegistered { fresh: false, generation: 7 }
        );
        assert_eq!(record(&w, "new").unwrap(), BlockRecord { changed_ms: 5_000, ..first });
    }

    #[test]
    fn changed_ms_moves_on_every_change_even_when_clocks_disagree() {
        let mut w = World::new();
        register(&mut w, "new", 7, (2, 1), &[1, 2, 3]);
        // A proposer whose clock is behind re-registers: the record still changes, so GC's
        // compare-and-delete on the old value fails.
        w.now = 900;
        register(&mut w, "new", 8, (2, 1), &[1, 2, 3]);
        assert_eq!(record(&w, "new").unwrap().changed_ms, 1_001);
        assert_eq!(
            drop_block(&mut w, "new", 7, 1_000),
            Response::Rejected(Rejection::BlockInUse { block: id("new") })
        );
    }

    #[test]
    fn malformed_registrations_are_refused_with_the_reason() {
        let mut w = World::new();
        let before = record(&w, "one");
        for (shape, placement, damaged, why) in [
            ((0, 3), vec![1, 2, 3], vec![], "at least one data shard"),
            ((2, 1), vec![1, 2], vec![], "placement names 2 nodes"),
            ((2, 2), vec![1, 2, 3], vec![], "placement names 3 nodes"),
            ((60, 5), (1..=65).collect(), vec![], "more than the 64"),
            ((2, 1), vec![1, 2, 1], vec![], "node 1 would hold two shards"),
            ((2, 1), vec![1, 2, 3], vec![3], "damaged shard 3 is past"),
            ((2, 1), vec![1, 2, 3], vec![0, 1], "not durably written"),
        ] {
            let reason = rejected_as_invalid(register_damaged(&mut w, "one", 9, shape, &placement, &damaged));
            assert!(reason.contains(why), "{reason:?} should say {why:?}");
        }
        // Even for a block that exists, a malformed registration changes nothing.
        assert_eq!(record(&w, "one"), before);
        // Repeated damaged indices count once: one damaged shard is within one parity shard.
        assert!(matches!(
            register_damaged(&mut w, "four", 1, (2, 1), &[1, 2, 3], &[0, 0]),
            Response::BlockRegistered { fresh: true, .. }
        ));
    }

    #[test]
    fn damage_accumulates_sorted_and_a_stale_report_is_refused() {
        let mut w = World::new();
        register(&mut w, "new", 7, (4, 2), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(report(&mut w, "new", 7, &[4, 1, 4]), Response::DamageRecorded { damaged: vec![1, 4] });
        // Indices past the stripe are ignored; the rest still count.
        assert_eq!(
            report(&mut w, "new", 7, &[6, 200, 0]),
            Response::DamageRecorded { damaged: vec![0, 1, 4] }
        );
        assert_eq!(record(&w, "new").unwrap().damaged, vec![0, 1, 4]);
        let stale = Response::Rejected(Rejection::NoSuchBlock { block: id("new") });
        assert_eq!(report(&mut w, "new", 8, &[2]), stale);
        let absent = Response::Rejected(Rejection::NoSuchBlock { block: id("absent") });
        assert_eq!(report(&mut w, "absent", 7, &[2]), absent);
        assert_eq!(record(&w, "new").unwrap().damaged, vec![0, 1, 4]);
    }

    #[test]
    fn moves_apply_only_onto_the_placement_repair_saw() {
        let mut w = World::new();
        register_damaged(&mut w, "new", 7, (2, 2), &[1, 2, 3, 4], &[0, 2]);
        let changed = Response::Rejected(Rejection::PlacementChanged { block: id("new") });
        // One stale `from` spoils the whole set: nothing moves.
        assert_eq!(move_shards(&mut w, "new", 7, &[mv(0, 1, 5), mv(2, 9, 6)]), changed);
        assert_eq!(move_shards(&mut w, "new", 8, &[mv(0, 1, 5)]), changed);
        assert_eq!(
            move_shards(&mut w, "absent", 7, &[mv(0, 1, 5)]),
            Response::Rejected(Rejection::PlacementChanged { block: id("absent") })
        );
        assert_eq!(record(&w, "new").unwrap().placement, vec![1, 2, 3, 4]);

        // Shard 0 moves to node 5; shard 2 is rebuilt in place. Both debts are paid.
        assert_eq!(move_shards(&mut w, "new", 7, &[mv(0, 1, 5), mv(2, 3, 3)]), Response::ShardsMoved);
        let after = record(&w, "new").unwrap();
        assert_eq!((after.placement, after.damaged), (vec![5, 2, 3, 4], vec![]));
        // A move that is now stale (shard 0 left node 1) is refused.
        assert_eq!(move_shards(&mut w, "new", 7, &[mv(0, 1, 6)]), changed);
    }

    #[test]
    fn moves_that_are_malformed_or_would_stack_shards_are_refused() {
        let mut w = World::new();
        register(&mut w, "new", 7, (2, 1), &[1, 2, 3]);
        for (moves, why) in [
            (vec![mv(3, 1, 5)], "shard 3 is past"),
            (vec![mv(0, 1, 5), mv(0, 1, 6)], "shard 0 is moved twice"),
            (vec![mv(0, 1, 2)], "two shards on node 2"),
            (vec![mv(0, 1, 5), mv(1, 2, 5)], "two shards on node 5"),
        ] {
            let reason = rejected_as_invalid(move_shards(&mut w, "new", 7, &moves));
            assert!(reason.contains(why), "{reason:?} should say {why:?}");
        }
        // Swapping two shards' nodes leaves every node with one shard, so it is fine.
        assert_eq!(move_shards(&mut w, "new", 7, &[mv(0, 1, 2), mv(1, 2, 1)]), Response::ShardsMoved);
        assert_eq!(record(&w, "new").unwrap().placement, vec![2, 1, 3]);
    }

    #[test]
    fn gc_drops_only_an_unreferenced_block_it_saw_unchanged() {
        let mut w = World::new();
        register(&mut w, "new", 7, (2, 1), &[1, 2, 3]);
        w.now = 2_000;
        w.commit("a.txt", None, &[b"new"]);
        let in_use = Response::Rejected(Rejection::BlockInUse { block: id("new") });
        let seen = record(&w, "new").unwrap().changed_ms;
        assert_eq!(drop_block(&mut w, "new", 7, seen), in_use);

        // The file is purged: no references, but the last change is newer than what GC saw.
        w.now = 3_000;
        w.run(Command::Trash { namespace: ADA_DRIVE, path: path("a.txt"), user: ADA });
        w.run(Command::Purge { namespace: ADA_DRIVE, path: path("a.txt"), user: ADA });
        assert_eq!(record(&w, "new").unwrap().refcount, 0);
        assert_eq!(drop_block(&mut w, "new", 7, seen), in_use);
        let seen = record(&w, "new").unwrap().changed_ms;
        assert_eq!(
            drop_block(&mut w, "new", 8, seen),
            Response::Rejected(Rejection::NoSuchBlock { block: id("new") })
        );
        assert_eq!(drop_block(&mut w, "new", 7, seen), Response::BlockDropped { placement: vec![1, 2, 3] });
        assert_eq!(record(&w, "new"), None);
        assert_eq!(
            drop_block(&mut w, "new", 7, seen),
            Response::Rejected(Rejection::NoSuchBlock { block: id("new") })
        );
    }

    fn register_inline(w: &mut World, name: &str, generation: u64, sealed: &[u8]) -> Response {
        w.run(Command::RegisterInlineBlock {
            account: ADA_ACCOUNT,
            block: id(name),
            plain_len: name.len() as u32,
            generation,
            sealed: sealed.to_vec(),
        })
    }

    fn sealed(w: &World, name: &str) -> Option<Vec<u8>> {
        crate::model::blocks::inline_block(&w.state, ADA_ACCOUNT, &id(name)).unwrap()
    }

    #[test]
    fn an_inline_block_waits_for_its_cluster_version_and_keeps_its_bytes_beside_its_record() {
        let mut w = World::new();
        let refused = rejected_as_invalid(register_inline(&mut w, "small", 7, b"sealed bytes"));
        assert!(refused.contains("needs cluster version 3"), "{refused}");
        assert_eq!((record(&w, "small"), sealed(&w, "small")), (None, None));

        w.run(Command::SetClusterVersion { version: 3 });
        assert_eq!(
            register_inline(&mut w, "small", 7, b"sealed bytes"),
            Response::BlockRegistered { fresh: true, generation: 7 }
        );
        let kept = record(&w, "small").unwrap();
        assert!(is_inline(&kept) && kept.placement.is_empty() && kept.damaged.is_empty());
        assert_eq!(sealed(&w, "small").as_deref(), Some(&b"sealed bytes"[..]));

        // The first registration wins, whichever way the second writer stored it.
        assert_eq!(
            register_inline(&mut w, "small", 8, b"other bytes"),
            Response::BlockRegistered { fresh: false, generation: 7 }
        );
        assert_eq!(
            register(&mut w, "small", 9, (2, 1), &[1, 2, 3]),
            Response::BlockRegistered { fresh: false, generation: 7 }
        );
        assert_eq!(sealed(&w, "small").as_deref(), Some(&b"sealed bytes"[..]));

        let too_big = vec![0u8; MAX_INLINE_SEALED + 1];
        let refused = rejected_as_invalid(register_inline(&mut w, "big", 7, &too_big));
        assert!(refused.contains("more than"), "{refused}");
    }

    #[test]
    fn an_inline_block_is_referenced_repaired_never_and_dropped_with_its_bytes() {
        let mut w = World::new();
        w.run(Command::SetClusterVersion { version: 3 });
        register_inline(&mut w, "small", 7, b"sealed bytes");
        assert!(matches!(w.commit("a.txt", None, &[b"small"]), Response::Committed { .. }));
        assert_eq!(record(&w, "small").unwrap().refcount, 1);
        // Damage reports and shard moves have no stripe to act on.
        assert_eq!(report(&mut w, "small", 7, &[0, 1]), Response::DamageRecorded { damaged: vec![] });
        rejected_as_invalid(move_shards(&mut w, "small", 7, &[mv(0, 1, 2)]));

        w.now = 3_000;
        w.run(Command::Trash { namespace: ADA_DRIVE, path: path("a.txt"), user: ADA });
        w.run(Command::Purge { namespace: ADA_DRIVE, path: path("a.txt"), user: ADA });
        let seen = record(&w, "small").unwrap().changed_ms;
        assert_eq!(drop_block(&mut w, "small", 7, seen), Response::BlockDropped { placement: vec![] });
        assert_eq!((record(&w, "small"), sealed(&w, "small")), (None, None));
    }

    #[test]
    fn a_commit_naming_a_dropped_block_is_told_it_is_missing() {
        let mut w = World::new();
        // Registered but unreferenced, the block is live: a commit may still take it.
        register(&mut w, "new", 7, (2, 1), &[1, 2, 3]);
        assert!(matches!(w.commit("a.txt", None, &[b"new"]), Response::Committed { .. }));
        register(&mut w, "lone", 7, (2, 1), &[1, 2, 3]);
        let seen = record(&w, "lone").unwrap().changed_ms;
        assert!(matches!(drop_block(&mut w, "lone", 7, seen), Response::BlockDropped { .. }));
        assert_eq!(
            w.commit("b.txt", None, &[b"one", b"lone"]),
            Response::Rejected(Rejection::MissingBlocks(vec![id("lone")]))
        );
        // Registering it again brings it back, under the new writer's generation.
        assert_eq!(
            register(&mut w, "lone", 8, (2, 1), &[4, 5, 6]),
            Response::BlockRegistered { fresh: true, generation: 8 }
        );
        assert!(matches!(w.commit("b.txt", None, &[b"one", b"lone"]), Response::Committed { .. }));
    }
}
