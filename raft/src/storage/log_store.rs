//! `RocksLogStore`: the Raft log and vote in RocksDB, synced before they are acknowledged.
//!
//! Raft's safety rests on a vote or an appended entry surviving a crash once it is acknowledged;
//! every such write here is WAL-synced before it is acknowledged: votes, truncations and purges
//! in the write itself, appends by the [`WalSyncer`] thread, many at a time. (The openraft
//! RocksDB example does not sync; that is fine for an example and wrong for a drive.)

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogReader, Vote};
use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::db::{StorageResult, decode, failed, kind, on_this_thread};
use super::format;
use super::wal_syncer::WalSyncer;
use crate::model::txn_encode as encode;
use crate::{NodeId, TypeConfig};

const LOGS: &str = "logs";
const STORE: &str = "store";
const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const LAST_PURGED: &[u8] = b"last_purged";

/// The Raft log store. Cheap to clone: clones share one database.
#[derive(Clone)]
pub struct RocksLogStore {
    db: Arc<DB>,
    /// Syncs appends off the async thread, many at a time.
    syncer: WalSyncer,
}

impl Debug for RocksLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksLogStore").field("path", &self.db.path()).finish()
    }
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

impl RocksLogStore {
    /// Opens (or creates) the log store in `dir`; refuses one a newer release wrote (see
    /// [`super::format`]).
    pub fn open(dir: &Path) -> StorageResult<Self> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Entries are read back soon after they are written, or purged: a small memtable cap
        // keeps an idle node from holding a busy hour's entries in memory.
        options.set_db_write_buffer_size(16 << 20);
        let cfs = [
            ColumnFamilyDescriptor::new(LOGS, Options::default()),
            ColumnFamilyDescriptor::new(STORE, Options::default()),
        ];
        let db = DB::open_cf_descriptors(&options, dir, cfs).map_err(failed(kind::read_logs))?;
        format::check_and_stamp(&db, cf(&db, STORE)?, format::LOG_FORMAT, "Raft log")
            .map_err(failed(kind::read_logs))?;
        let db = Arc::new(db);
        let syncer = WalSyncer::start(db.clone()).map_err(failed(kind::write_logs))?;
        Ok(Self { db, syncer })
    }

    /// Makes this empty store the log of a node whose state machine already holds everything up
    /// to `last` (a restored backup, or a survivor forced into a new cluster): the log reads as
    /// purged up to `last`, committed that far, and `vote` is the vote it starts from. Refuses a
    /// store that holds a vote or entries already: seeding never rewrites a node's history.
    pub fn start_after(&self, last: LogId<NodeId>, vote: Vote<NodeId>) -> StorageResult<()> {
        let db = &self.db;
        let holds_entries = db.iterator_cf(cf(db, LOGS)?, IteratorMode::Start).next().is_some();
        if holds_entries || Self::get_meta::<Vote<NodeId>>(db, VOTE)?.is_some() {
            return Err(failed(kind::write_logs)(std::io::Error::other(
                "the Raft log store already holds a vote or entries",
            )));
        }
        let mut batch = WriteBatch::default();
        let store = cf(db, STORE)?;
        batch.put_cf(store, LAST_PURGED, encode(&last));
        batch.put_cf(store, COMMITTED, encode(&Some(last)));
        batch.put_cf(store, VOTE, encode(&vote));
        db.write_opt(batch, &synced()).map_err(failed(kind::write_logs))
    }

    /// Writes `entries` as `append` does, without openraft's flush callback (which only
    /// openraft can make): for tests that need a log with entries in it.
    #[cfg(test)]
    pub(crate) fn append_for_test(&self, entries: &[Entry<TypeConfig>]) {
        let mut batch = WriteBatch::default();
        let logs = cf(&self.db, LOGS).expect("the logs column family");
        for entry in entries {
            batch.put_cf(logs, index_key(entry.log_id.index), encode(entry));
        }
        self.db.write_opt(batch, &synced()).expect("append");
    }

    fn get_meta<T: DeserializeOwned>(db: &DB, key: &[u8]) -> StorageResult<Option<T>> {
        let cf = cf(db, STORE)?;
        match db.get_cf(cf, key).map_err(failed(kind::read_vote))? {
            Some(bytes) => Ok(Some(decode(&bytes).map_err(failed(kind::read_vote))?)),
            None => Ok(None),
        }
    }

    async fn put_meta<T: Serialize>(&self, key: &'static [u8], value: &T, sync: bool) -> StorageResult<()> {
        let db = self.db.clone();
        let bytes = encode(value);
        on_this_thread(move || {
            let mut batch = WriteBatch::default();
            batch.put_cf(cf(&db, STORE)?, key, bytes);
            let options = if sync { synced() } else { WriteOptions::default() };
            db.write_opt(batch, &options).map_err(failed(kind::write_vote))
        })
        .await
    }
}

fn cf<'a>(db: &'a DB, name: &str) -> StorageResult<&'a rocksdb::ColumnFamily> {
    db.cf_handle(name).ok_or_else(|| {
        failed(kind::read_logs)(std::io::Error::other(format!("column family {name} is missing")))
    })
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The most entry bytes one AppendEntries carries (at least one entry, however large).
/// openraft gives the whole call one heartbeat interval — transfer, the follower's append and
/// its fsync — and retries the same range when it times out: a range of entries that each
/// carry a thousand files could never reach a follower that fell behind.
const PAYLOAD_BYTES: usize = 1 << 20;

impl RaftLogReader<TypeConfig> for RocksLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        self.read_entries(start, range.end_bound().cloned(), usize::MAX).await
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        self.read_entries(start, Bound::Excluded(end), PAYLOAD_BYTES).await
    }
}

impl RocksLogStore {
    /// The entries from `start` to `end`, stopping after the first entry that brings their
    /// encoded size to `max_bytes`.
    async fn read_entries(
        &self,
        start: u64,
        end: Bound<u64>,
        max_bytes: usize,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let within = move |index: u64| match end {
            Bound::Included(e) => index <= e,
            Bound::Excluded(e) => index < e,
            Bound::Unbounded => true,
        };
        let db = self.db.clone();
        on_this_thread(move || {
            let mut entries = Vec::new();
            let mut bytes = 0usize;
            let from = index_key(start);
            for item in db.iterator_cf(cf(&db, LOGS)?, IteratorMode::From(&from, Direction::Forward)) {
                let (key, value) = item.map_err(failed(kind::read_logs))?;
                let index = u64::from_be_bytes(
                    key.as_ref()
                        .try_into()
                        .map_err(|_| failed(kind::read_logs)(std::io::Error::other("malformed log key")))?,
                );
                if !within(index) || bytes >= max_bytes {
                    break;
                }
                bytes = bytes.saturating_add(value.len());
                entries.push(decode(&value).map_err(failed(kind::read_logs))?);
            }
            Ok(entries)
        })
        .await
    }
}

impl RaftLogStorage<TypeConfig> for RocksLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let db = self.db.clone();
        on_this_thread(move || {
            let last_purged_log_id: Option<LogId<NodeId>> = Self::get_meta(&db, LAST_PURGED)?;
            let last = match db.iterator_cf(cf(&db, LOGS)?, IteratorMode::End).next() {
                Some(item) => {
                    let (_, value) = item.map_err(failed(kind::read_logs))?;
                    let entry: Entry<TypeConfig> = decode(&value).map_err(failed(kind::read_logs))?;
                    Some(entry.log_id)
                }
                None => None,
            };
            Ok(LogState { last_purged_log_id, last_log_id: last.or(last_purged_log_id) })
        })
        .await
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StorageResult<()> {
        self.put_meta(VOTE, vote, true).await
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<NodeId>>> {
        let db = self.db.clone();
        on_this_thread(move || Self::get_meta(&db, VOTE)).await
    }

    // The committed index lets a restarted node re-apply what it had applied but not persisted.
    // Losing the latest value is harmless (openraft learns it again from the leader), so it is
    // written without a sync.
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StorageResult<()> {
        self.put_meta(COMMITTED, &committed, false).await
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<NodeId>>> {
        let db = self.db.clone();
        on_this_thread(move || Ok(Self::get_meta::<Option<LogId<NodeId>>>(&db, COMMITTED)?.flatten())).await
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded: Vec<([u8; 8], Vec<u8>)> =
            entries.into_iter().map(|e| (index_key(e.log_id.index), encode(&e))).collect();
        let db = self.db.clone();
        // Readable as soon as written; durable once the syncer has synced the write-ahead log,
        // which is when openraft hears of it.
        let result = on_this_thread(move || {
            let mut batch = WriteBatch::default();
            let logs = cf(&db, LOGS)?;
            for (key, value) in &encoded {
                batch.put_cf(logs, key, value);
            }
            db.write_opt(batch, &WriteOptions::default()).map_err(failed(kind::write_logs))
        })
        .await;
        match &result {
            Ok(()) => self.syncer.after_sync(callback),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        result
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let db = self.db.clone();
        on_this_thread(move || {
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(cf(&db, LOGS)?, index_key(log_id.index), index_key(u64::MAX));
            // delete_range excludes its end; u64::MAX is never a real index.
            db.write_opt(batch, &synced()).map_err(failed(kind::write_logs))
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let db = self.db.clone();
        let last_purged = encode(&log_id);
        on_this_thread(move || {
            // The purge mark and the deletion go in one batch: a crash cannot leave a log whose
            // first entry is older than its purge mark says.
            let mut batch = WriteBatch::default();
            batch.put_cf(cf(&db, STORE)?, LAST_PURGED, last_purged);
            batch.delete_range_cf(cf(&db, LOGS)?, index_key(0), index_key(log_id.index.saturating_add(1)));
            db.write_opt(batch, &synced()).map_err(failed(kind::write_logs))
        })
        .await
    }
}
