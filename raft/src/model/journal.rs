//! The per-user change journal: every change a user can see, in one gapless sequence.
//!
//! A client remembers the last sequence number it saw (its cursor) and asks for what came after;
//! because the journal is Raft state, any node answers the same, so a client whose node died
//! resumes from its cursor elsewhere and misses nothing.
//!
//! Retention: a journal keeps its changes for a cluster-wide time (30 days unless an operator
//! set another with [`Command::SetJournalRetention`](super::Command::SetJournalRetention)).
//! Older ones are pruned lazily, a couple per [`record`] for the same user, so an active
//! journal stays bounded with no global scan and every replica prunes the same entries (the
//! clock is the recording request's own `time_ms`). The newest change is never pruned, so the
//! latest cursor always names a retained change. A cursor from before the oldest retained
//! change is refused with [`Rejection::CursorExpired`]: its owner missed changes and must
//! resync from a full listing.

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::drive::FileStatus;
use super::ids::{FileId, NamespaceId, UserId};
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// How long changes are kept when no retention was set: 30 days.
pub const DEFAULT_RETENTION_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// The most expired changes one [`record`] deletes from the journal it appends to. Above one,
/// so a backlog (after the retention was shortened) drains while the journal is in use.
pub const PRUNE_PER_RECORD: u64 = 2;

/// Where the retention lives in [`Space::Meta`].
const RETENTION_KEY: &[u8] = b"journal_retention_ms";

/// What happened to a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// A folder was created.
    FolderCreated,
    /// A new version of a file was committed (the first one creates the file).
    VersionCommitted {
        /// The new head version.
        version: u64,
        /// The file's status after the commit.
        status: FileStatus,
    },
    /// A file went to the trash.
    Trashed,
    /// A file came back from the trash.
    Restored {
        /// Its status again.
        status: FileStatus,
    },
    /// A trashed file was deleted for good.
    Purged,
    /// The file or folder at the change's path came from `from`, with everything below it:
    /// a client renames what it has. Users who see both places, and recipients of shares below
    /// the moved folder (whose share roots moved), get this.
    Moved {
        /// The old path.
        from: DrivePath,
    },
    /// A file or folder moved here from a place this user cannot see: to the user, it (and
    /// everything below it) appeared. The old path is not told, since it is not theirs to see.
    MovedIn,
    /// The file or folder at the change's path moved to a place this user cannot see: to the
    /// user, it (and everything below it) is gone. The new path is not told.
    MovedOut,
    /// The folder at the change's path went to the trash: every file below it is trashed (a
    /// client removes the whole folder), and the folder and the folders below it are gone. A
    /// restored file comes back with `FolderCreated` changes for the folders it needs.
    FolderTrashed {
        /// How many files went to the trash with it.
        files: u64,
    },
    /// A file is being uploaded to the change's path (a resumable session began): to users it
    /// shows as `uploading` until a `VersionCommitted` (complete) or an `UploadAborted`.
    UploadStarted {
        /// Its declared size.
        size: u64,
    },
    /// The upload to the change's path was abandoned before it completed.
    UploadAborted,
}

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Position in the user's journal, from 1, without gaps.
    pub seq: u64,
    /// When it was applied (the proposer's clock).
    pub time_ms: u64,
    /// The namespace the path is in.
    pub namespace: NamespaceId,
    /// The path that changed.
    pub path: DrivePath,
    /// The file, for file changes.
    pub file: Option<FileId>,
    /// What happened.
    pub kind: ChangeKind,
}

fn key(user: UserId, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&user.0.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The counter that holds the next sequence number of `user`'s journal.
fn next_counter(user: UserId) -> String {
    format!("journal/{}", user.0)
}

/// The counter that holds the first sequence number `user`'s journal still keeps (1 until
/// something was pruned): reading it is one point read, never a scan over deleted entries.
fn first_counter(user: UserId) -> String {
    format!("journal-first/{}", user.0)
}

/// The journal retention in force, in ms.
pub fn retention_ms(state: &(impl StateRead + ?Sized)) -> Result<u64, StateError> {
    match state.get(Space::Meta, RETENTION_KEY)? {
        Some(bytes) => decode(Space::Meta, &bytes),
        None => Ok(DEFAULT_RETENTION_MS),
    }
}

/// Sets the journal retention of the whole cluster. Shortening it takes effect as users'
/// journals grow: each new change prunes a few of its journal's expired ones.
pub(super) fn set_retention<R: StateRead + ?Sized>(txn: &mut Txn<R>, ms: u64) -> Response {
    txn.put(Space::Meta, RETENTION_KEY, &ms);
    Response::JournalRetentionSet { ms }
}

/// The span of `user`'s journal: the first sequence number it keeps and the newest one (0 for
/// an empty journal).
pub fn window(state: &(impl StateRead + ?Sized), user: UserId) -> Result<(u64, u64), StateError> {
    let counter = |name: String| -> Result<Option<u64>, StateError> {
        state.get(Space::Counters, name.as_bytes())?.map(|b| decode(Space::Counters, &b)).transpose()
    };
    let next = counter(next_counter(user))?.unwrap_or(1);
    let first = counter(first_counter(user))?.unwrap_or(1);
    Ok((first, next.saturating_sub(1)))
}

/// Appends a change to `user`'s journal and returns its sequence number; also prunes up to
/// [`PRUNE_PER_RECORD`] of the journal's oldest changes that are past the retention at
/// `time_ms`, never the one just appended.
pub(super) fn record<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    user: UserId,
    time_ms: u64,
    namespace: NamespaceId,
    path: &DrivePath,
    file: Option<FileId>,
    kind: ChangeKind,
) -> Result<u64, StateError> {
    let seq = txn.next_id(&next_counter(user))?;
    let change = Change { seq, time_ms, namespace, path: path.clone(), file, kind };
    txn.put(Space::Journal, &key(user, seq), &change);
    prune(txn, user, time_ms, seq)?;
    Ok(seq)
}

/// Deletes up to [`PRUNE_PER_RECORD`] of `user`'s oldest changes made before `now_ms` minus
/// the retention, stopping at the first one that is not (or at `newest`, which stays).
fn prune<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    user: UserId,
    now_ms: u64,
    newest: u64,
) -> Result<(), StateError> {
    let Some(horizon) = now_ms.checked_sub(retention_ms(txn)?) else { return Ok(()) };
    let name = first_counter(user);
    let start = txn.get::<u64>(Space::Counters, name.as_bytes())?.unwrap_or(1);
    let mut first = start;
    while first < newest && first - start < PRUNE_PER_RECORD {
        let k = key(user, first);
        // A missing entry would be a gap the journal never makes; stepping over it keeps the
        // first-retained counter truthful either way.
        if let Some(change) = txn.get::<Change>(Space::Journal, &k)? {
            if change.time_ms >= horizon {
                break;
            }
            txn.delete(Space::Journal, &k);
        }
        first += 1;
    }
    if first != start {
        txn.put(Space::Counters, name.as_bytes(), &first);
    }
    Ok(())
}

/// A page of a user's journal after a cursor that the journal still covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPage {
    /// Up to the limit asked for, oldest first.
    pub changes: Vec<Change>,
    /// The journal's newest sequence number (0: empty), so a reader knows whether more follow.
    pub latest: u64,
}

/// Up to `limit` changes of `user` after `cursor` (0: from the beginning), or
/// [`Rejection::CursorExpired`] when changes after the cursor were pruned already
/// (`cursor + 1 < first retained`) or the cursor is past the journal's newest change (it came
/// from somewhere else): either way the client cannot catch up from it and must resync.
pub fn page_after(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    cursor: u64,
    limit: usize,
) -> Result<Result<JournalPage, Rejection>, StateError> {
    let (first, latest) = window(state, user)?;
    if cursor.saturating_add(1) < first || cursor > latest {
        return Ok(Err(Rejection::CursorExpired { cursor, oldest: first, latest }));
    }
    Ok(Ok(JournalPage { changes: changes_after(state, user, cursor, limit)?, latest }))
}

/// Up to `limit` changes of `user` after sequence number `cursor` (0 for the beginning).
pub fn changes_after(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    cursor: u64,
    limit: usize,
) -> Result<Vec<Change>, StateError> {
    let after = key(user, cursor);
    state
        .scan(Space::Journal, &user.0.to_be_bytes(), Some(&after), limit)?
        .into_iter()
        .map(|(_, value)| decode(Space::Journal, &value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Command;
    use crate::model::testkit::{ADA, BOB, World};

    const RETENTION: u64 = 10_000;

    /// Ada's journal with changes 1–6 made at 1 000 ms and 7 made at 11 000 ms, under a
    /// retention of 10 s; nothing pruned yet.
    fn six_old_changes() -> World {
        let mut w = World::new();
        assert_eq!(retention_ms(&w.state).unwrap(), DEFAULT_RETENTION_MS);
        let set = Command::SetJournalRetention { ms: RETENTION };
        assert_eq!(w.run(set), Response::JournalRetentionSet { ms: RETENTION });
        for i in 0..6 {
            w.ada_commits(&format!("f{i}.txt"), None, &[b"one"]);
        }
        assert_eq!(window(&w.state, ADA).unwrap(), (1, 6));
        // Exactly at the horizon a change is still kept.
        w.now = 1_000 + RETENTION;
        w.ada_commits("g0.txt", None, &[b"one"]);
        assert_eq!(window(&w.state, ADA).unwrap(), (1, 7));
        w
    }

    fn seqs(w: &World, cursor: u64) -> Vec<u64> {
        changes_after(&w.state, ADA, cursor, 100).unwrap().iter().map(|c| c.seq).collect()
    }

    #[test]
    fn expired_changes_go_a_couple_per_record_oldest_first() {
        let mut w = six_old_changes();
        w.now = 1_000 + RETENTION + 1;
        w.ada_commits("g1.txt", None, &[b"one"]);
        assert_eq!(window(&w.state, ADA).unwrap(), (3, 8));
        assert_eq!(seqs(&w, 0), [3, 4, 5, 6, 7, 8]);
        for name in ["g2.txt", "g3.txt", "g4.txt"] {
            w.ada_commits(name, None, &[b"one"]);
        }
        // 1–6 are gone; 7 (made at 11 000 ms) is within the retention and stops the pruning.
        assert_eq!(window(&w.state, ADA).unwrap(), (7, 11));
        assert_eq!(seqs(&w, 0), [7, 8, 9, 10, 11]);
        // Bob's journal is his own: Ada's pruning neither touched it nor moved its counters.
        assert_eq!(window(&w.state, BOB).unwrap(), (1, 0));
    }

    #[test]
    fn the_newest_change_stays_however_old() {
        let mut w = World::new();
        w.run(Command::SetJournalRetention { ms: 1 });
        w.ada_commits("a.txt", None, &[b"one"]);
        w.now += 1_000_000;
        w.ada_commits("b.txt", None, &[b"one"]);
        assert_eq!(window(&w.state, ADA).unwrap(), (2, 2));
        w.now += 1_000_000;
        w.ada_commits("c.txt", None, &[b"one"]);
        assert_eq!(window(&w.state, ADA).unwrap(), (3, 3));
        let page = page_after(&w.state, ADA, 3, 10).unwrap().unwrap();
        assert_eq!((page.changes.len(), page.latest), (0, 3));
        let page = page_after(&w.state, ADA, 2, 10).unwrap().unwrap();
        assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn a_cursor_before_the_retained_changes_or_past_the_newest_has_expired() {
        let mut w = six_old_changes();
        w.now = 1_000 + RETENTION + 1;
        for name in ["g1.txt", "g2.txt", "g3.txt", "g4.txt"] {
            w.ada_commits(name, None, &[b"one"]);
        }
        assert_eq!(window(&w.state, ADA).unwrap(), (7, 11));
        // A client that saw 6 misses nothing from 7 on.
        let page = page_after(&w.state, ADA, 6, 2).unwrap().unwrap();
        assert_eq!((page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), page.latest), (vec![7, 8], 11));
        for cursor in [0, 5] {
            assert_eq!(
                page_after(&w.state, ADA, cursor, 10).unwrap(),
                Err(Rejection::CursorExpired { cursor, oldest: 7, latest: 11 })
            );
        }
        let expired = page_after(&w.state, ADA, 5, 10).unwrap().unwrap_err().to_string();
        assert!(expired.contains("resync"), "{expired}");
        assert!(page_after(&w.state, ADA, 11, 10).unwrap().unwrap().changes.is_empty());
        assert_eq!(
            page_after(&w.state, ADA, 12, 10).unwrap(),
            Err(Rejection::CursorExpired { cursor: 12, oldest: 7, latest: 11 })
        );
        // An empty journal: only 0 is a cursor of it.
        assert_eq!(page_after(&w.state, BOB, 0, 10).unwrap(), Ok(JournalPage { changes: vec![], latest: 0 }));
    }

    #[test]
    fn by_default_changes_are_kept_thirty_days() {
        let mut w = World::new();
        w.ada_commits("a.txt", None, &[b"one"]);
        w.now += DEFAULT_RETENTION_MS;
        w.ada_commits("b.txt", None, &[b"one"]);
        assert_eq!(window(&w.state, ADA).unwrap(), (1, 2));
        w.now += 1;
        w.ada_commits("c.txt", None, &[b"one"]);
        assert_eq!(window(&w.state, ADA).unwrap(), (2, 3));
    }
}
