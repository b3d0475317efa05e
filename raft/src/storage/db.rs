//! Small helpers shared by the log store and the state machine.

use openraft::{AnyError, StorageError, StorageIOError};
use serde::de::DeserializeOwned;

use crate::NodeId;

/// The result type of every storage call openraft makes.
pub(crate) type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// Builds an openraft storage error from any error and the kind of access that failed.
pub(crate) fn failed<E: std::error::Error + 'static>(
    kind: fn(AnyError) -> StorageIOError<NodeId>,
) -> impl Fn(E) -> StorageError<NodeId> {
    move |e| StorageError::IO { source: kind(AnyError::new(&e)) }
}

/// The kinds of access, as plain functions for [`failed`].
pub(crate) mod kind {
    use super::*;
    pub fn read_logs(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::read_logs(e)
    }
    pub fn write_logs(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::write_logs(e)
    }
    pub fn read_vote(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::read_vote(e)
    }
    pub fn write_vote(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::write_vote(e)
    }
    pub fn read_state(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::read_state_machine(e)
    }
    pub fn write_state(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::write_state_machine(e)
    }
    pub fn read_snapshot(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::read_snapshot(None, e)
    }
    pub fn write_snapshot(e: AnyError) -> StorageIOError<NodeId> {
        StorageIOError::write_snapshot(None, e)
    }
}

/// Decodes a value stored by the Raft storage layer.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(bytes)
}

/// Runs one short storage call right on the calling task: an append and its fsync, a vote, a
/// range of log reads, the apply of a few requests. Each takes well under a few milliseconds,
/// which is less than what handing it to the blocking pool costs under load: two thread
/// wake-ups per call, on the leader's critical path for every entry, measured at a third of the
/// commit rate on a 2-core machine (see BENCHMARKS.md). Work on the whole state (building or
/// installing a snapshot) and an apply of many requests go through [`blocking`] instead.
pub(crate) async fn on_this_thread<T>(work: impl FnOnce() -> StorageResult<T>) -> StorageResult<T> {
    work()
}

/// Runs long storage work (snapshots: a checkpoint and a tar of the whole state; an apply of many
/// requests) on the blocking pool, so Raft's heartbeats and the node's other tasks go on
/// meanwhile.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StorageResult<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(failed(kind::write_state))?
}
