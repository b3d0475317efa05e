//! Who besides an account's owner has shown they hold a block of that account.
//!
//! Blocks are stored in the namespace owner's account, so an editor of a shared folder commits
//! into the owner's. A commit names blocks by id without sending them, and the answer to one
//! naming a block the account has is different from the answer to one naming a block it lacks:
//! an editor could learn whether the owner stores some content by guessing its id. So the API
//! lets a non-owner's commit name only blocks of the file's current version (which the editor
//! can read) and blocks the editor has sent: a block `PUT` whose bytes matched the id records
//! the sender here ([`Command::HoldBlock`](super::Command::HoldBlock)). Any other block is
//! answered as missing, whether or not the account has it.
//!
//! A holder record lives as long as the block's record: GC's drop removes them together, so a
//! block uploaded again later starts without holders.

use cairn_proto::{AccountId, BlockId};

use super::blocks::key as block_key;
use super::ids::UserId;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// Holder records deleted per scan while a block is dropped.
const DROP_PAGE: usize = 256;

/// A holder's key: the block's key, then the user, so a block's holders are one range.
fn key(account: AccountId, block: &BlockId, user: UserId) -> [u8; 48] {
    let mut key = [0u8; 48];
    key[..40].copy_from_slice(&block_key(account, block));
    key[40..].copy_from_slice(&user.0.to_be_bytes());
    key
}

/// Records that `user` sent the bytes of `block` into `account`. The block must be registered:
/// a holder of a block the account does not have would outlive the drop that clears holders.
pub(super) fn hold<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
    user: UserId,
) -> Result<Response, StateError> {
    if txn.get_raw(Space::Blocks, &block_key(account, block))?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchBlock { block: *block }));
    }
    txn.put_raw(Space::BlockHolders, &key(account, block, user), Vec::new());
    Ok(Response::BlockHeld)
}

/// Deletes every holder of a block whose record is being dropped.
pub(super) fn forget<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    account: AccountId,
    block: &BlockId,
) -> Result<(), StateError> {
    let prefix = block_key(account, block);
    loop {
        let page = txn.scan(Space::BlockHolders, &prefix, None, DROP_PAGE)?;
        if page.is_empty() {
            return Ok(());
        }
        for (k, _) in page {
            txn.delete(Space::BlockHolders, &k);
        }
    }
}

/// The blocks of `blocks` that `user` has not been recorded as holding in `account`, in the
/// order given, without repeats.
pub fn unheld(
    state: &(impl StateRead + ?Sized),
    account: AccountId,
    user: UserId,
    blocks: &[BlockId],
) -> Result<Vec<BlockId>, StateError> {
    let mut unheld: Vec<BlockId> = Vec::new();
    for block in blocks {
        if state.get(Space::BlockHolders, &key(account, block, user))?.is_none() && !unheld.contains(block) {
            unheld.push(*block);
        }
    }
    Ok(unheld)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::{ADA, BOB, World};
    use crate::model::{Answer, Command, Query, answer};

    const ADA_ACCOUNT: AccountId = AccountId(1);

    fn id(name: &str) -> BlockId {
        BlockId::of(name.as_bytes())
    }

    fn unheld_by(w: &World, user: UserId, names: &[&str]) -> Vec<BlockId> {
        let blocks = names.iter().map(|n| id(n)).collect();
        match answer(&w.state, &Query::Unheld { account: ADA_ACCOUNT, user, blocks }).unwrap() {
            Answer::Unheld(ids) => ids,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_holder_is_recorded_per_user_and_block() {
        let mut w = World::new();
        assert_eq!(unheld_by(&w, BOB, &["one", "two", "one"]), vec![id("one"), id("two")]);
        let hold = Command::HoldBlock { account: ADA_ACCOUNT, block: id("one"), user: BOB };
        assert_eq!(w.run(hold), Response::BlockHeld);
        assert_eq!(unheld_by(&w, BOB, &["one", "two"]), vec![id("two")]);
        // Someone else's upload is not this user's.
        assert_eq!(unheld_by(&w, ADA, &["one"]), vec![id("one")]);
    }

    #[test]
    fn only_a_registered_block_can_be_held() {
        let mut w = World::new();
        let hold = Command::HoldBlock { account: ADA_ACCOUNT, block: id("nowhere"), user: BOB };
        assert_eq!(w.run(hold), Response::Rejected(Rejection::NoSuchBlock { block: id("nowhere") }));
        assert_eq!(unheld_by(&w, BOB, &["nowhere"]), vec![id("nowhere")]);
    }

    #[test]
    fn dropping_a_block_forgets_its_holders() {
        let mut w = World::new();
        for user in [ADA, BOB] {
            w.run(Command::HoldBlock { account: ADA_ACCOUNT, block: id("two"), user });
        }
        w.run(Command::HoldBlock { account: ADA_ACCOUNT, block: id("three"), user: BOB });
        let record = crate::model::blocks::block(&w.state, ADA_ACCOUNT, &id("two")).unwrap().unwrap();
        let drop = Command::DropBlock {
            account: ADA_ACCOUNT,
            block: id("two"),
            generation: record.generation,
            unchanged_since_ms: record.changed_ms,
        };
        assert!(matches!(w.run(drop), Response::BlockDropped { .. }));
        assert_eq!(unheld_by(&w, BOB, &["two", "three"]), vec![id("two")]);
        assert_eq!(unheld_by(&w, ADA, &["two"]), vec![id("two")]);
    }
}
