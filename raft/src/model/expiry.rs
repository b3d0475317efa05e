//! Things that expire: a time-ordered index that `apply` prunes a few entries at a time.
//!
//! A record with an end of life (a request's remembered outcome, an upload session, a link with
//! an expiry) is also listed in [`Space::Expiries`] under (expiry time, keyspace, key). Every
//! apply deletes at most [`PRUNE_PER_APPLY`] of the oldest entries whose time has come, together
//! with the records they name. The cost per request stays bounded whatever the backlog, and since
//! "now" is the request's own `time_ms`, every replica deletes the same records at the same log
//! position.
//!
//! Most records just go. Some must first undo what they hold (an upload session holds
//! references on its blocks): the caller of [`prune`] passes that work in, dispatched by
//! keyspace, so this index knows nothing of the records it expires. Since one record may hold
//! many references, pruning also stops once it has released [`PRUNE_REFS_PER_APPLY`] of them,
//! after at least one record, so a request's cost stays near what a single finish or abort of a
//! session costs.

use super::txn::decode;
use super::{Space, StateError, StateRead, Txn};

/// The most expired records one apply deletes. Each request schedules at most a couple of
/// expiries, so pruning up to 16 per request outpaces them and a backlog drains.
pub const PRUNE_PER_APPLY: usize = 16;

/// Once the records one apply pruned have released this many block references, it prunes no
/// more; the next request goes on. The first due record is always pruned, whatever its size,
/// so the backlog drains.
pub(super) const PRUNE_REFS_PER_APPLY: usize = 4_096;

fn key(at_ms: u64, space: Space, target: &[u8]) -> Vec<u8> {
    // The keyspace goes in by name, not by position: names are already durable (they name the
    // column families), positions would shift when a keyspace is added.
    let mut key = at_ms.to_be_bytes().to_vec();
    key.extend_from_slice(space.name().as_bytes());
    key.push(0);
    key.extend_from_slice(target);
    key
}

/// Deletes `target` in `space` once a request at or after `at_ms` is applied, together with
/// `also`, further keys that live and die with it (secondary indexes).
pub(super) fn schedule<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    at_ms: u64,
    space: Space,
    target: &[u8],
    also: &[(Space, Vec<u8>)],
) {
    let also: Vec<(&str, &[u8])> = also.iter().map(|(s, k)| (s.name(), k.as_slice())).collect();
    txn.put(Space::Expiries, &key(at_ms, space, target), &also);
}

/// Forgets a scheduled deletion, for a record removed before its time (or renewed: cancel, then
/// schedule again).
pub(super) fn cancel<R: StateRead + ?Sized>(txn: &mut Txn<R>, at_ms: u64, space: Space, target: &[u8]) {
    txn.delete(Space::Expiries, &key(at_ms, space, target));
}

/// Deletes up to [`PRUNE_PER_APPLY`] records whose expiry is at or before `now_ms`, oldest
/// first, and returns how many it deleted. Before deleting a record it calls `on_expiry` with
/// the record's keyspace and key, which does what must happen first and returns the block
/// references that released; pruning stops early once [`PRUNE_REFS_PER_APPLY`] were.
pub(super) fn prune<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    now_ms: u64,
    mut on_expiry: impl FnMut(&mut Txn<R>, Space, &[u8]) -> Result<usize, StateError>,
) -> Result<usize, StateError> {
    let due = txn.scan(Space::Expiries, &[], None, PRUNE_PER_APPLY)?;
    let mut pruned = 0;
    let mut released = 0;
    for (index_key, value) in due {
        if pruned > 0 && released >= PRUNE_REFS_PER_APPLY {
            break;
        }
        let corrupt = |message: &str| StateError::Decode { space: Space::Expiries, message: message.into() };
        let (at, rest) = index_key.split_at_checked(8).ok_or_else(|| corrupt("short key"))?;
        let at = u64::from_be_bytes(at.try_into().map_err(|_| corrupt("short key"))?);
        if at > now_ms {
            break;
        }
        let nul = rest.iter().position(|&b| b == 0).ok_or_else(|| corrupt("no keyspace name"))?;
        let space_of = |name: &[u8]| {
            std::str::from_utf8(name)
                .ok()
                .and_then(Space::from_name)
                .ok_or_else(|| corrupt("unknown keyspace"))
        };
        let (space, target) = (space_of(&rest[..nul])?, &rest[nul + 1..]);
        released += on_expiry(txn, space, target)?;
        txn.delete(space, target);
        let also: Vec<(String, Vec<u8>)> = decode(Space::Expiries, &value)?;
        for (name, key) in also {
            txn.delete(space_of(name.as_bytes())?, &key);
        }
        txn.delete(Space::Expiries, &index_key);
        pruned += 1;
    }
    Ok(pruned)
}
