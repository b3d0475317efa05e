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

/// Runs blocking storage work (RocksDB calls, fsyncs) off the async runtime's workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StorageResult<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(failed(kind::write_state))?
}
