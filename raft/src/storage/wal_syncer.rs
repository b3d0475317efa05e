//! [`WalSyncer`]: the fsync of Raft log appends, off the node's async thread and shared.
//!
//! openraft's storage contract lets an append return once its entries are readable and report
//! durability later through a callback. So `append` writes its batch without syncing — the
//! entries are in the memtable and the write-ahead log's OS buffer, readable at once — and hands
//! the callback here. A thread of its own syncs the write-ahead log and completes every callback
//! that was waiting when the sync began: one fsync for all appends queued meanwhile (group
//! commit), and the node's single async thread, which also serves HTTPS and QUIC, never waits
//! on the disk. Before, each append's fsync (about 5 ms on the development disk) stalled
//! everything else on that thread.
//!
//! A crash can lose only appends whose callback had not completed, which openraft has not
//! counted as durable; the write-ahead log is sequential, so what is lost is a suffix of the
//! log, never a hole.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use openraft::storage::LogFlushed;
use rocksdb::DB;

use crate::TypeConfig;

/// The sending side: cheap to clone. When the last clone goes, the thread is stopped and
/// joined, so the database it holds is closed by the time the store is gone (a store reopened
/// at once must find RocksDB's lock free).
#[derive(Clone)]
pub(crate) struct WalSyncer {
    inner: Arc<Syncing>,
}

struct Syncing {
    queue: Option<Sender<LogFlushed<TypeConfig>>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Syncing {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has synced what is queued.
        self.queue.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the Raft log's sync thread panicked");
        }
    }
}

impl WalSyncer {
    /// Starts the syncing thread for `db`.
    pub(crate) fn start(db: Arc<DB>) -> std::io::Result<Self> {
        let (queue, waiting) = channel();
        let thread =
            std::thread::Builder::new().name("raft-wal-sync".into()).spawn(move || run(&db, &waiting))?;
        Ok(Self { inner: Arc::new(Syncing { queue: Some(queue), thread: Some(thread) }) })
    }

    /// Completes `flushed` once everything written to the database before this call is synced.
    pub(crate) fn after_sync(&self, flushed: LogFlushed<TypeConfig>) {
        let Some(queue) = &self.inner.queue else {
            return flushed.log_io_completed(Err(std::io::Error::other("the Raft log store is closing")));
        };
        if let Err(unsent) = queue.send(flushed) {
            // The thread is gone (it only ends with its senders, so this is a panic there).
            unsent.0.log_io_completed(Err(std::io::Error::other("the Raft log's sync thread has stopped")));
        }
    }
}

fn run(db: &DB, waiting: &Receiver<LogFlushed<TypeConfig>>) {
    while let Ok(first) = waiting.recv() {
        let mut batch = vec![first];
        batch.extend(waiting.try_iter());
        let synced = db.flush_wal(true);
        for flushed in batch {
            flushed.log_io_completed(synced.clone().map_err(|e| std::io::Error::other(e.into_string())));
        }
    }
}
