//! Seeding a one-member cluster from a copy of a state machine: a restored backup
//! ([`restore`]) or a survivor's own state when a majority of voters is lost for good
//! ([`recover`]).
//!
//! Either way the node ends up with the copy as its state machine, a Raft log that starts right
//! after the copy's last applied entry (as if everything before had been purged behind a
//! snapshot), a snapshot of the copy for the nodes that join later, and a membership of itself
//! alone. The copy's cluster map still names the old cluster's nodes; every node but this one is
//! removed from it, so the block layer counts the shards they held as lost at once and repairs
//! them from what survives as soon as enough nodes have joined. What that leaves unrepairable is
//! counted in [`ShardLoss`].
//!
//! The edits made here (the membership, the removed nodes) are written to the copy directly, not
//! through the log: the copy's applied index stays the one it was taken at, and every entry of
//! the new cluster's log comes after it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::{LogId, Membership, RaftLogReader, StoredMembership, Vote};

use super::log_store::RocksLogStore;
use super::snapshot::{Meta, SnapshotDir, unpack_from};
use super::state_machine::{
    MEMBERSHIP, RocksStateMachine, StateView, applied, generation_dir, open_db, write_all,
};
use crate::model::blocks::BlockRecord;
use crate::model::cluster::cluster_map;
use crate::model::{self, Command, Request, RequestId, Space, StateRead, Txn};
use crate::{NodeAddr, NodeId};

/// The node that becomes the new cluster's only member.
#[derive(Clone, Debug)]
pub struct NewMember {
    /// Its id.
    pub id: NodeId,
    /// Its addresses.
    pub addr: NodeAddr,
    /// The time of day (ms), stamped on the cluster-map changes.
    pub now_ms: u64,
}

/// What a seeded node holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeded {
    /// The last log entry of the copy: the new log starts after it.
    pub last_applied: LogId<NodeId>,
    /// The old cluster's voters, as the copy knew them.
    pub old_voters: BTreeSet<NodeId>,
    /// Nodes of the old cluster map removed from it (every one but the new member).
    pub removed: Vec<NodeId>,
    /// What the removal costs the blocks.
    pub shards: ShardLoss,
}

/// How many blocks lost how many shards when the old nodes left the map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardLoss {
    /// Blocks recorded.
    pub blocks: u64,
    /// Blocks by the number of shards they lost (only counts above zero).
    pub by_lost: BTreeMap<usize, u64>,
    /// Blocks left with fewer than k shards: repair cannot rebuild them.
    pub unrecoverable: u64,
}

/// What [`recover`] did besides seeding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The seeded state.
    pub seeded: Seeded,
    /// Log entries that were committed but not yet applied, applied now.
    pub replayed: u64,
    /// Log entries after the last known commit, dropped: no quorum ever confirmed them.
    pub dropped: u64,
    /// Where the old log and state were moved, untouched.
    pub aside: PathBuf,
}

/// Why a node could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The node holds Raft state already.
    #[error("{0} exists: this node already holds Raft state; seeding starts from an empty data folder")]
    NotEmpty(PathBuf),
    /// The node's stores are locked: the node is running.
    #[error("{path} is in use ({message}): stop the node first")]
    InUse {
        /// The locked store.
        path: PathBuf,
        /// What RocksDB said.
        message: String,
    },
    /// The copy holds no applied entry.
    #[error("the copy of the state holds no applied entry: nothing to seed a cluster from")]
    Empty,
    /// The copy could not be unpacked.
    #[error("unpack the state: {0}")]
    Unpack(std::io::Error),
    /// A store could not be read or written.
    #[error("{what}: {message}")]
    Storage {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
}

fn storage<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> SeedError {
    move |e| SeedError::Storage { what, message: e.to_string() }
}

fn refuse_existing(dirs: &[&Path]) -> Result<(), SeedError> {
    for dir in dirs {
        // An empty folder (made by hand, or by a start that failed early) holds nothing.
        let empty = fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true);
        if dir.exists() && !empty {
            return Err(SeedError::NotEmpty(dir.to_path_buf()));
        }
    }
    Ok(())
}

/// Seeds an empty node from a packed state (a backup's tar body): the log goes to `log_dir`,
/// the state to `state_dir`, neither of which may hold anything yet.
pub fn restore(
    tar: impl std::io::Read,
    log_dir: &Path,
    state_dir: &Path,
    member: &NewMember,
) -> Result<Seeded, SeedError> {
    refuse_existing(&[log_dir, state_dir])?;
    let target = generation_dir(state_dir, 0);
    fs::create_dir_all(&target).map_err(storage("create the state folder"))?;
    if let Err(e) = unpack_from(tar, &target) {
        // Nothing half-seeded is left for a later `start` to trip over.
        let _ = fs::remove_dir_all(state_dir);
        return Err(SeedError::Unpack(e));
    }
    let seeded = seed(log_dir, state_dir, member);
    if seeded.is_err() {
        let _ = fs::remove_dir_all(state_dir);
        let _ = fs::remove_dir_all(log_dir);
    }
    seeded
}

/// Forces a stopped node into a one-member cluster from its own state. Its state machine is
/// copied, the log entries it knows committed but had not applied are applied to the copy, and
/// the old log and state are moved, untouched, to `aside` (which must not exist); then the copy
/// is seeded in their place.
pub async fn recover(
    log_dir: &Path,
    state_dir: &Path,
    aside: &Path,
    member: &NewMember,
) -> Result<Recovered, SeedError> {
    if aside.exists() {
        return Err(SeedError::NotEmpty(aside.to_path_buf()));
    }
    for dir in [log_dir, state_dir] {
        if !dir.is_dir() {
            return Err(SeedError::Storage {
                what: "find the node's Raft state",
                message: format!("{} does not exist: nothing to recover", dir.display()),
            });
        }
    }
    let in_use = |path: &Path| {
        let path = path.to_path_buf();
        move |e: String| {
            if e.contains("lock") {
                SeedError::InUse { path: path.clone(), message: e }
            } else {
                SeedError::Storage { what: "open the node's Raft state", message: e }
            }
        }
    };
    let mut log = RocksLogStore::open(log_dir).map_err(|e| in_use(log_dir)(e.to_string()))?;
    let mut old = RocksStateMachine::open(state_dir).map_err(|e| in_use(state_dir)(e.to_string()))?;
    let (applied_id, _) = old.applied_state().await.map_err(storage("read the applied index"))?;
    let committed = log.read_committed().await.map_err(storage("read the committed index"))?;
    let last_log = log.get_log_state().await.map_err(storage("read the log"))?.last_log_id;
    let from = applied_id.map_or(0, |l| l.index + 1);
    let to = committed.map_or(0, |c| c.index);
    let entries = if committed > applied_id {
        log.try_get_log_entries(from..=to).await.map_err(storage("read the committed entries"))?
    } else {
        Vec::new()
    };
    let newest = committed.max(applied_id);
    let dropped = match (last_log, newest) {
        (Some(last), Some(newest)) => last.index.saturating_sub(newest.index),
        (Some(last), None) => last.index + 1,
        _ => 0,
    };

    fs::create_dir_all(aside).map_err(storage("create the folder for the old state"))?;
    let fresh = aside.join("new-state");
    fs::create_dir_all(&fresh).map_err(storage("create the new state folder"))?;
    rocksdb::checkpoint::Checkpoint::new(&old.reader().db())
        .and_then(|c| c.create_checkpoint(generation_dir(&fresh, 0)))
        .map_err(storage("copy the state"))?;
    let replayed = entries.len() as u64;
    if !entries.is_empty() {
        let mut copy = RocksStateMachine::open(&fresh).map_err(storage("open the copy"))?;
        copy.apply(entries).await.map_err(storage("apply the committed entries"))?;
    }
    drop(old);
    drop(log);

    let old_log = aside.join(log_dir.file_name().unwrap_or("raft-log".as_ref()));
    let old_state = aside.join(state_dir.file_name().unwrap_or("state".as_ref()));
    fs::rename(log_dir, &old_log).map_err(storage("move the old log aside"))?;
    fs::rename(state_dir, &old_state).map_err(storage("move the old state aside"))?;
    fs::rename(&fresh, state_dir).map_err(storage("put the new state in place"))?;
    let seeded = seed(log_dir, state_dir, member)?;
    Ok(Recovered { seeded, replayed, dropped, aside: aside.to_path_buf() })
}

/// Turns the copy in `state_dir` (generation 0) into a one-member cluster's state and starts
/// its log in `log_dir`.
fn seed(log_dir: &Path, state_dir: &Path, member: &NewMember) -> Result<Seeded, SeedError> {
    let db = Arc::new(open_db(&generation_dir(state_dir, 0)).map_err(storage("open the copy"))?);
    let (last, old_membership) = applied(&db).map_err(storage("read the copy's applied index"))?;
    let last = last.ok_or(SeedError::Empty)?;
    let old_voters = old_membership.membership().voter_ids().collect();

    let view = StateView::new(db.clone());
    let map = cluster_map(&view).map_err(storage("read the cluster map"))?;
    let removed: Vec<NodeId> = map.nodes.iter().map(|n| n.spec.id).filter(|&n| n != member.id).collect();
    let membership = StoredMembership::new(
        Some(last),
        Membership::new(
            vec![BTreeSet::from([member.id])],
            BTreeMap::from([(member.id, member.addr.clone())]),
        ),
    );
    {
        let mut txn = Txn::new(&view);
        for &node in &removed {
            let request = Request {
                id: seed_request_id(node, last.index),
                time_ms: member.now_ms,
                command: Command::RemoveNode { node },
            };
            model::apply(&mut txn, &request).map_err(storage("remove an old node from the map"))?;
        }
        txn.put(Space::Meta, MEMBERSHIP, &membership);
        write_all(&db, txn.into_writes()).map_err(storage("write the new membership"))?;
    }
    let shards = shard_loss(&view, member.id)?;
    drop(view);

    // The snapshot a joining node is sent: the log before `last` does not exist here.
    let snapshots = SnapshotDir::open(state_dir).map_err(storage("open the snapshot folder"))?;
    let checkpoint = snapshots.scratch("build");
    rocksdb::checkpoint::Checkpoint::new(&db)
        .and_then(|c| c.create_checkpoint(&checkpoint))
        .map_err(storage("checkpoint the seeded state"))?;
    let meta = Meta {
        last_log_id: Some(last),
        last_membership: membership,
        snapshot_id: format!("{}-{}-{}-seed", last.leader_id.term, last.leader_id.node_id, last.index),
    };
    let stored = snapshots.store_checkpoint(&checkpoint, &meta);
    let _ = fs::remove_dir_all(&checkpoint);
    stored.map_err(storage("store the seeded snapshot"))?;
    drop(db);

    fs::create_dir_all(log_dir).map_err(storage("create the log folder"))?;
    let log = RocksLogStore::open(log_dir).map_err(storage("open the new log"))?;
    // A term above the copy's: the first election here then outranks every entry it holds.
    let vote = Vote::new(last.leader_id.term + 1, member.id);
    log.start_after(last, vote).map_err(storage("start the new log"))?;
    Ok(Seeded { last_applied: last, old_voters, removed, shards })
}

/// A request id for removing `node` while seeding at `index`: fixed, so the dedupe record it
/// leaves can never match a client's request.
fn seed_request_id(node: NodeId, index: u64) -> RequestId {
    let hash = blake3::hash(format!("cairn seed: remove node {node} at {index}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    RequestId(u128::from_be_bytes(bytes))
}

/// Counts the shards every block lost: all but those on `survivor` that are not damaged.
fn shard_loss(state: &impl StateRead, survivor: NodeId) -> Result<ShardLoss, SeedError> {
    const PAGE: usize = 1_000;
    let mut loss = ShardLoss::default();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page =
            state.scan(Space::Blocks, &[], after.as_deref(), PAGE).map_err(storage("read the blocks"))?;
        let Some((last_key, _)) = page.last() else { break };
        after = Some(last_key.clone());
        for (_, value) in &page {
            let record: BlockRecord =
                model::txn_decode(Space::Blocks, value).map_err(storage("read a block record"))?;
            loss.blocks += 1;
            let kept = record
                .placement
                .iter()
                .enumerate()
                .filter(|&(i, &node)| node == survivor && !record.damaged.contains(&(i as u8)))
                .count();
            let lost = record.placement.len() - kept;
            if lost > 0 {
                *loss.by_lost.entry(lost).or_default() += 1;
            }
            if kept < usize::from(record.data_shards) {
                loss.unrecoverable += 1;
            }
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok(loss)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use openraft::{CommittedLeaderId, Entry, EntryPayload, RaftSnapshotBuilder as _};

    use super::*;
    use crate::model::cluster::{NodeRole, NodeSpec};
    use crate::model::{Answer, Query, answer};
    use crate::{Proposal, TypeConfig};

    fn log_id(term: u64, node: NodeId, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, node), index)
    }

    fn addr(id: NodeId) -> NodeAddr {
        NodeAddr {
            raft_addr: format!("127.0.0.1:{}", 7000 + id),
            api_addr: format!("127.0.0.1:{}", 8000 + id),
        }
    }

    fn request(n: u128, command: Command) -> Request {
        Request { id: RequestId(n), time_ms: 1_000, command }
    }

    fn user(n: u128, name: &str) -> Entry<TypeConfig> {
        let proposal = Proposal(vec![request(n, Command::CreateUser { name: name.into() })]);
        Entry { log_id: log_id(3, 2, n as u64), payload: EntryPayload::Normal(proposal) }
    }

    /// Entries 1 and 2 of an old three-node cluster: its membership, then its cluster map.
    fn old_cluster() -> Vec<Entry<TypeConfig>> {
        let voters = BTreeSet::from([1, 2, 3]);
        let nodes: BTreeMap<NodeId, NodeAddr> = voters.iter().map(|&id| (id, addr(id))).collect();
        let specs: Vec<Request> = voters
            .iter()
            .map(|&id| {
                let spec = NodeSpec {
                    id,
                    quic_addr: addr(id).raft_addr,
                    api_addr: addr(id).api_addr,
                    zone: format!("zone-{id}"),
                    role: NodeRole::Voter,
                    capacity_bytes: 1 << 30,
                };
                request(u128::from(id) << 32, Command::SetNode(spec))
            })
            .collect();
        vec![
            Entry {
                log_id: log_id(3, 2, 1),
                payload: EntryPayload::Membership(Membership::new(vec![voters], nodes)),
            },
            Entry { log_id: log_id(3, 2, 2), payload: EntryPayload::Normal(Proposal(specs)) },
        ]
    }

    fn member() -> NewMember {
        NewMember { id: 1, addr: addr(1), now_ms: 5_000 }
    }

    fn has_user(sm: &RocksStateMachine, name: &str) -> bool {
        matches!(answer(&sm.reader().view(), &Query::UserByName(name.into())).unwrap(), Answer::User(Some(_)))
    }

    /// What every seeded node must look like: a log purged and committed up to `last`, a vote
    /// above its term, the copy's state with this node as the only voter and map entry, and a
    /// snapshot to send to joining nodes.
    async fn assert_seeded(log_dir: &Path, state_dir: &Path, last: LogId<NodeId>) -> RocksStateMachine {
        let mut log = RocksLogStore::open(log_dir).unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!((state.last_purged_log_id, state.last_log_id), (Some(last), Some(last)));
        assert_eq!(log.read_committed().await.unwrap(), Some(last));
        assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(last.leader_id.term + 1, 1)));
        let mut sm = RocksStateMachine::open(state_dir).unwrap();
        let (applied, membership) = sm.applied_state().await.unwrap();
        assert_eq!(applied, Some(last));
        assert_eq!(membership.membership().voter_ids().collect::<Vec<_>>(), vec![1]);
        let map = cluster_map(&sm.reader().view()).unwrap();
        assert_eq!(map.nodes.iter().map(|n| n.spec.id).collect::<Vec<_>>(), vec![1]);
        let snapshot = sm.get_current_snapshot().await.unwrap().expect("a seeded snapshot");
        assert_eq!(snapshot.meta.last_log_id, Some(last));
        assert_eq!(snapshot.meta.last_membership.membership().voter_ids().collect::<Vec<_>>(), vec![1]);
        sm
    }

    #[tokio::test]
    async fn a_packed_backup_seeds_a_one_member_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = RocksStateMachine::open(&dir.path().join("old")).unwrap();
        let mut entries = old_cluster();
        entries.push(user(3, "ada"));
        old.apply(entries).await.unwrap();
        // Building a snapshot meanwhile leaves the backup alone, and vice versa.
        old.get_snapshot_builder().await.build_snapshot().await.unwrap();
        let packed = old.reader().pack_backup("00ab").unwrap();
        assert_eq!(packed.last_applied, log_id(3, 2, 3));

        let (log_dir, state_dir) = (dir.path().join("new/raft-log"), dir.path().join("new/state"));
        let tar = fs::File::open(&packed.path).unwrap();
        let seeded = restore(tar, &log_dir, &state_dir, &member()).unwrap();
        assert_eq!(seeded.last_applied, log_id(3, 2, 3));
        assert_eq!(seeded.old_voters, BTreeSet::from([1, 2, 3]));
        assert_eq!(seeded.removed, vec![2, 3]);
        assert_eq!(seeded.shards, ShardLoss::default());
        let sm = assert_seeded(&log_dir, &state_dir, log_id(3, 2, 3)).await;
        assert!(has_user(&sm, "ada"));
        drop(sm);

        // Never over a node's state, and never from something that is not a packed state.
        let tar = fs::File::open(&packed.path).unwrap();
        assert!(matches!(restore(tar, &log_dir, &state_dir, &member()), Err(SeedError::NotEmpty(_))));
        let (log_dir, state_dir) = (dir.path().join("other/raft-log"), dir.path().join("other/state"));
        let garbage: &[u8] = b"not a tar file at all, just some bytes that go on for a while....";
        assert!(restore(garbage, &log_dir, &state_dir, &member()).is_err());
        assert!(!state_dir.exists() && !log_dir.exists(), "a failed restore left a half-seeded node");
        old.reader().remove_backup("00ab").unwrap();
    }

    #[tokio::test]
    async fn recover_applies_what_was_committed_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (log_dir, state_dir) = (dir.path().join("raft-log"), dir.path().join("state"));
        let aside = dir.path().join("before-recover");
        let mut entries = old_cluster();
        entries.extend([user(3, "ada"), user(4, "bob"), user(5, "eve")]);
        {
            let mut log = RocksLogStore::open(&log_dir).unwrap();
            log.append_for_test(&entries);
            log.save_vote(&Vote::new_committed(3, 2)).await.unwrap();
            // Entry 4 is known committed but not applied; entry 5 was never known committed.
            log.save_committed(Some(log_id(3, 2, 4))).await.unwrap();
            let mut sm = RocksStateMachine::open(&state_dir).unwrap();
            sm.apply(entries[..3].to_vec()).await.unwrap();
            // A running node holds its stores: recover refuses and changes nothing.
            let refused = recover(&log_dir, &state_dir, &aside, &member()).await;
            assert!(matches!(refused, Err(SeedError::InUse { .. })), "{refused:?}");
            assert!(!aside.exists());
        }

        let recovered = recover(&log_dir, &state_dir, &aside, &member()).await.unwrap();
        assert_eq!((recovered.replayed, recovered.dropped), (1, 1));
        assert_eq!(recovered.seeded.removed, vec![2, 3]);
        let sm = assert_seeded(&log_dir, &state_dir, log_id(3, 2, 4)).await;
        assert!(has_user(&sm, "ada") && has_user(&sm, "bob"));
        assert!(!has_user(&sm, "eve"), "an entry never known committed was applied");
        // The old state is kept as it was.
        assert!(aside.join("raft-log").is_dir() && aside.join("state").is_dir());
        let old = RocksStateMachine::open(&aside.join("state")).unwrap();
        assert!(has_user(&old, "ada") && !has_user(&old, "bob"));
        // Once is enough: the folder for the old state exists now.
        drop(sm);
        assert!(matches!(
            recover(&log_dir, &state_dir, &aside, &member()).await,
            Err(SeedError::NotEmpty(_))
        ));
    }
}
