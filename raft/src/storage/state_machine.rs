//! `RocksStateMachine`: the metadata state in RocksDB column families, one per keyspace.
//!
//! The state lives on disk, not in memory, so metadata can outgrow RAM. Each batch of entries is
//! applied by the pure [`model::apply`](crate::model::apply) and committed as one RocksDB write
//! batch together with the last applied log id, so after a crash the state and the applied index
//! always agree (openraft re-applies what came after, from the synced log). That write needs no
//! sync of its own for the same reason.
//!
//! The database lives in `sm-<generation>/`; installing a snapshot unpacks it into the next
//! generation and switches to it, so readers holding the old database are never disturbed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, StoredMembership};
use parking_lot::RwLock;
use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Options, WriteBatch};

use super::db::{StorageResult, blocking, failed, kind, on_this_thread};
use super::format;
use super::snapshot::{Meta, SnapshotDir, write_atomically};
use crate::model::{self, Pairs, Response, Space, StateError, StateRead, Txn};
use crate::{NodeAddr, NodeId, TypeConfig};

const LAST_APPLIED: &[u8] = b"last_applied";
pub(crate) const MEMBERSHIP: &[u8] = b"membership";
const GENERATION_FILE: &str = "sm-current";

pub(crate) type Membership = StoredMembership<NodeId, NodeAddr>;

/// A read-only handle on the state, for queries. Follows snapshot installs.
#[derive(Clone)]
pub struct StateReader {
    db: Arc<RwLock<Arc<DB>>>,
    /// The state machine's base folder, where backups are packed (see [`super::backup`]).
    base: PathBuf,
}

impl StateReader {
    /// The live database, for a checkpoint.
    pub(crate) fn db(&self) -> Arc<DB> {
        self.db.read().clone()
    }

    /// The state machine's base folder.
    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    /// A consistent-enough view for one query: the database as of now. Linearizability comes
    /// from the caller waiting for the read index before reading.
    pub fn view(&self) -> StateView {
        StateView(self.db.read().clone())
    }
}

/// The state as one database handle sees it.
pub struct StateView(Arc<DB>);

impl StateView {
    /// A view of `db`: the live database or a copy being seeded.
    pub(crate) fn new(db: Arc<DB>) -> Self {
        Self(db)
    }
}

/// The column family of `space` in `db`.
fn cf(db: &DB, space: Space) -> Result<&rocksdb::ColumnFamily, StateError> {
    db.cf_handle(space.name())
        .ok_or_else(|| StateError::Storage(format!("no column family {}", space.name())))
}

/// A typed read, for any database handle: the live one or a checkpoint opened for reading.
fn read<T: serde::de::DeserializeOwned>(db: &DB, space: Space, key: &[u8]) -> Result<Option<T>, StateError> {
    match db.get_cf(cf(db, space)?, key).map_err(|e| StateError::Storage(e.into_string()))? {
        Some(bytes) => Ok(Some(model::txn_decode(space, &bytes)?)),
        None => Ok(None),
    }
}

impl StateRead for StateView {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0.get_cf(cf(&self.0, space)?, key).map_err(|e| StateError::Storage(e.into_string()))
    }

    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, StateError> {
        let start = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let mut out = Vec::new();
        let iter = self.0.iterator_cf(
            cf(&self.0, space)?,
            rocksdb::IteratorMode::From(start, rocksdb::Direction::Forward),
        );
        for item in iter {
            if out.len() == limit {
                break;
            }
            let (key, value) = item.map_err(|e| StateError::Storage(e.into_string()))?;
            if !key.starts_with(prefix) {
                break;
            }
            if after.is_some_and(|a| key.as_ref() <= a) {
                continue;
            }
            out.push((key.into_vec(), value.into_vec()));
        }
        Ok(out)
    }
}

/// Writes a transaction's changes to `db` as one write batch.
pub(crate) fn write_all(db: &DB, writes: impl Iterator<Item = model::WriteOp>) -> StorageResult<()> {
    let mut batch = WriteBatch::default();
    for ((space, key), value) in writes {
        let cf = db
            .cf_handle(space.name())
            .ok_or_else(|| failed(kind::write_state)(std::io::Error::other("missing column family")))?;
        match value {
            Some(value) => batch.put_cf(cf, key, value),
            None => batch.delete_cf(cf, key),
        }
    }
    db.write(batch).map_err(failed(kind::write_state))
}

/// The Raft state machine.
pub struct RocksStateMachine {
    base: PathBuf,
    generation: u64,
    db: Arc<RwLock<Arc<DB>>>,
    snapshots: SnapshotDir,
}

impl std::fmt::Debug for RocksStateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStateMachine")
            .field("base", &self.base)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Opens (or creates) a state database: the live one, a snapshot being installed, or a backup
/// being restored. Each is checked to hold a format this release reads (see [`super::format`]).
pub(crate) fn open_db(path: &Path) -> StorageResult<DB> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    // Memtables are given back only when they flush, and each of the ~30 keyspaces has its
    // own: uncapped, an idle node kept what a busy hour wrote (up to 64 MiB a keyspace) in
    // memory. One cap for all of them; past it the largest flushes.
    options.set_db_write_buffer_size(32 << 20);
    let keyspace = keyspace_options();
    let cfs = Space::ALL.iter().map(|s| ColumnFamilyDescriptor::new(s.name(), keyspace.clone()));
    let db = DB::open_cf_descriptors(&options, path, cfs).map_err(failed(kind::read_state))?;
    let meta = cf(&db, Space::Meta).map_err(failed(kind::read_state))?;
    format::check_and_stamp(&db, meta, format::STATE_FORMAT, "metadata state")
        .map_err(failed(kind::read_state))?;
    index_blocks(db)
}

/// The most requests an `apply` runs on the calling task (see [`on_this_thread`]); more go to
/// the blocking pool. A thousand-file batch takes tens of milliseconds to apply, all of it on
/// the node's only async thread, which then serves nothing else: HTTPS, QUIC and Raft's
/// heartbeats wait behind it.
const APPLY_HERE_UP_TO: usize = 64;

/// Applies `entries` to the state in one write batch and returns each entry's responses.
fn apply_entries(db: &Arc<DB>, entries: &[Entry<TypeConfig>]) -> StorageResult<Vec<Vec<Response>>> {
    let view = StateView(db.clone());
    let mut txn = Txn::new(&view);
    let mut responses = Vec::with_capacity(entries.len());
    let mut last = None;
    for entry in entries {
        last = Some(entry.log_id);
        let response = match &entry.payload {
            EntryPayload::Blank => Vec::new(),
            EntryPayload::Normal(proposal) => proposal
                .0
                .iter()
                .map(|request| model::apply(&mut txn, request))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| openraft::StorageError::IO {
                    source: openraft::StorageIOError::apply(entry.log_id, openraft::AnyError::new(&e)),
                })?,
            EntryPayload::Membership(membership) => {
                txn.put(Space::Meta, MEMBERSHIP, &Membership::new(Some(entry.log_id), membership.clone()));
                Vec::new()
            }
        };
        responses.push(response);
    }
    if last.is_some() {
        txn.put(Space::Meta, LAST_APPLIED, &last);
    }
    write_all(db, txn.into_writes())?;
    Ok(responses)
}

/// The table options every keyspace shares.
///
/// - One block cache for all of them: left to itself RocksDB gives each of the ~30 keyspaces
///   its own 32 MiB cache.
/// - Bloom filters: most reads while applying are of keys that do not exist yet (a new path,
///   a new block); with ten million files spread over many table files, each such read
///   otherwise searched every level's index and data blocks.
/// - Compaction of table files that are mostly deletions: the expiry index is a queue, read
///   from its oldest end on every request; without it that read stepped over every tombstone
///   of what was already pruned.
fn keyspace_options() -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&Cache::new_lru_cache(32 << 20));
    table.set_bloom_filter(10.0, false);
    let mut options = Options::default();
    options.set_block_based_table_factory(&table);
    options.add_compact_on_deletion_collector_factory(1024, 512, 0.5);
    options
}

/// Builds the block indexes of a state written before they existed (see
/// [`model::block_index`]); a state that has them is returned as it is.
fn index_blocks(db: DB) -> StorageResult<DB> {
    let db = Arc::new(db);
    let view = StateView::new(db.clone());
    if !model::block_index::is_built(&view).map_err(failed(kind::read_state))? {
        let started = std::time::Instant::now();
        let records = model::block_index::build(&view, 10_000, |txn| {
            write_all(&db, txn.into_writes()).map_err(|e| model::StateError::Storage(e.to_string()))
        })
        .map_err(failed(kind::write_state))?;
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(records, ms, "built the block indexes");
    }
    drop(view);
    Arc::try_unwrap(db)
        .map_err(|_| failed(kind::read_state)(std::io::Error::other("the state is still shared")))
}

pub(crate) fn generation_dir(base: &Path, generation: u64) -> PathBuf {
    base.join(format!("sm-{generation}"))
}

/// Last applied log id and membership, as stored in `db`.
pub(crate) fn applied(db: &DB) -> StorageResult<(Option<LogId<NodeId>>, Membership)> {
    let last = read(db, Space::Meta, LAST_APPLIED).map_err(failed(kind::read_state))?.unwrap_or(None);
    let membership = read(db, Space::Meta, MEMBERSHIP).map_err(failed(kind::read_state))?.unwrap_or_default();
    Ok((last, membership))
}

impl RocksStateMachine {
    /// Opens (or creates) the state machine under `base`.
    pub fn open(base: &Path) -> StorageResult<Self> {
        std::fs::create_dir_all(base).map_err(failed(kind::write_state))?;
        let generation = match std::fs::read_to_string(base.join(GENERATION_FILE)) {
            Ok(text) => text.trim().parse().map_err(failed(kind::read_state))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(failed(kind::read_state)(e)),
        };
        // Generations other than the current one are leftovers of an install that crashed, or
        // that was still being read from when it finished.
        if let Ok(entries) = std::fs::read_dir(base) {
            let current = format!("sm-{generation}");
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("sm-")
                    && name != current
                    && name != GENERATION_FILE
                    && entry.path().is_dir()
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let db = open_db(&generation_dir(base, generation))?;
        Ok(Self {
            base: base.to_path_buf(),
            generation,
            db: Arc::new(RwLock::new(Arc::new(db))),
            snapshots: SnapshotDir::open(base)?,
        })
    }

    /// A handle for queries.
    pub fn reader(&self) -> StateReader {
        StateReader { db: self.db.clone(), base: self.base.clone() }
    }

    fn current(&self) -> Arc<DB> {
        self.db.read().clone()
    }
}

/// Builds snapshots from a checkpoint of the live database, concurrently with `apply`.
pub struct SnapshotBuilder {
    db: Arc<DB>,
    snapshots: SnapshotDir,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let db = self.db.clone();
        let snapshots = self.snapshots.clone();
        let started = std::time::Instant::now();
        let (meta, tar_path) = blocking(move || {
            let checkpoint_dir = snapshots.scratch("build");
            rocksdb::checkpoint::Checkpoint::new(&db)
                .and_then(|c| c.create_checkpoint(&checkpoint_dir))
                .map_err(failed(kind::write_snapshot))?;
            // The snapshot's metadata must be read from the checkpoint itself: the live database
            // may have applied more entries since.
            let (last_log_id, last_membership) = {
                let names = Space::ALL.iter().map(|s| s.name());
                let frozen = DB::open_cf_for_read_only(&Options::default(), &checkpoint_dir, names, false)
                    .map_err(failed(kind::read_snapshot))?;
                applied(&frozen)?
            };
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let snapshot_id = match last_log_id {
                Some(id) => format!("{}-{}-{}-{nanos}", id.leader_id.term, id.leader_id.node_id, id.index),
                None => format!("empty-{nanos}"),
            };
            let meta = Meta { last_log_id, last_membership, snapshot_id };
            let stored = snapshots.store_checkpoint(&checkpoint_dir, &meta);
            let _ = std::fs::remove_dir_all(&checkpoint_dir);
            Ok((meta, stored?))
        })
        .await?;
        let file = tokio::fs::File::open(&tar_path).await.map_err(failed(kind::read_snapshot))?;
        let bytes = file.metadata().await.map(|m| m.len()).unwrap_or_default();
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(id = %meta.snapshot_id, bytes, ms, "built snapshot");
        Ok(Snapshot { meta, snapshot: Box::new(file) })
    }
}

impl RaftStateMachine<TypeConfig> for RocksStateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<NodeId>>, Membership)> {
        let db = self.current();
        on_this_thread(move || applied(&db)).await
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Vec<Response>>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let db = self.current();
        let requests: usize = entries
            .iter()
            .map(|e| match &e.payload {
                EntryPayload::Normal(proposal) => proposal.0.len(),
                _ => 0,
            })
            .sum();
        if requests <= APPLY_HERE_UP_TO {
            on_this_thread(move || apply_entries(&db, &entries)).await
        } else {
            blocking(move || apply_entries(&db, &entries)).await
        }
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { db: self.current(), snapshots: self.snapshots.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<tokio::fs::File>> {
        let path = self.snapshots.scratch("incoming");
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(failed(kind::write_snapshot))?;
        // The file stays reachable through the handle; its name is only needed by a crash clean-up.
        let _ = tokio::fs::remove_file(&path).await;
        Ok(Box::new(file))
    }

    async fn install_snapshot(&mut self, meta: &Meta, snapshot: Box<tokio::fs::File>) -> StorageResult<()> {
        let started = std::time::Instant::now();
        let mut received = snapshot.into_std().await;
        let bytes = received.metadata().map(|m| m.len()).unwrap_or_default();
        let id = meta.snapshot_id.clone();
        let snapshots = self.snapshots.clone();
        let base = self.base.clone();
        let next = self.generation + 1;
        let meta = meta.clone();
        let db = blocking(move || {
            use std::io::{Seek, SeekFrom};
            let tar_path = snapshots.tar_path(&meta.snapshot_id);
            let partial = tar_path.with_extension("partial");
            received.seek(SeekFrom::Start(0)).map_err(failed(kind::read_snapshot))?;
            let mut out = std::fs::File::create(&partial).map_err(failed(kind::write_snapshot))?;
            std::io::copy(&mut received, &mut out).map_err(failed(kind::write_snapshot))?;
            out.sync_all().map_err(failed(kind::write_snapshot))?;
            std::fs::rename(&partial, &tar_path).map_err(failed(kind::write_snapshot))?;

            let target = generation_dir(&base, next);
            if target.exists() {
                std::fs::remove_dir_all(&target).map_err(failed(kind::write_snapshot))?;
            }
            SnapshotDir::unpack(&tar_path, &target)?;
            let db = open_db(&target)?;
            let (last, _) = applied(&db)?;
            if last != meta.last_log_id {
                return Err(failed(kind::read_snapshot)(std::io::Error::other(format!(
                    "snapshot {} holds state up to {last:?}, its metadata says {:?}",
                    meta.snapshot_id, meta.last_log_id
                ))));
            }
            write_atomically(&base.join(GENERATION_FILE), next.to_string().as_bytes())?;
            snapshots.adopt(&meta)?;
            Ok(db)
        })
        .await?;

        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(%id, bytes, ms, "installed snapshot");
        let old = std::mem::replace(&mut *self.db.write(), Arc::new(db));
        let old_dir = generation_dir(&self.base, self.generation);
        self.generation = next;
        // Readers may still hold the old database; if so its directory is removed at next start.
        if let Ok(old) = Arc::try_unwrap(old) {
            drop(old);
            let _ = std::fs::remove_dir_all(old_dir);
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        let Some((meta, tar_path)) = self.snapshots.current()? else { return Ok(None) };
        let file = tokio::fs::File::open(&tar_path).await.map_err(failed(kind::read_snapshot))?;
        Ok(Some(Snapshot { meta, snapshot: Box::new(file) }))
    }
}
