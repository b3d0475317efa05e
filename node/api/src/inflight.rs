//! Memory the API holds for requests, counted before it is held: a block `PUT`'s body, a
//! checksummed tus `PATCH` (kept whole until its digest is checked), the chunker's buffer of a
//! streaming upload, and a download's blocks read ahead of the client. Each is reserved from
//! one budget before the bytes are read, and released when they are dropped — for a download,
//! when the connection has written the last byte of a block, however slowly the client reads.
//!
//! The budget is a pool of its own, as large as the block layer's (`storage.max_inflight_bytes`,
//! which bounds the sealed copies and shards of the blocks being stored or read). A request
//! reserves here first and the block layer reserves from its own pool after, never the other
//! way round, so one pool's holders never wait on the other's and the two cannot deadlock.
//! A node's buffers thus stay under twice `storage.max_inflight_bytes`, whatever its clients do.
//!
//! A request that cannot get its memory within [`WAIT`] is answered 503 `unavailable`, to retry:
//! clients that hold memory by reading slowly delay others, but cannot grow the node.
//!
//! Here too: the tus uploads that have a `PATCH` running on this node, one at a time each.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::ids::UploadId;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Memory is reserved in units of this many bytes, so the semaphore's permits cover gigabytes.
const UNIT: u64 = 64 * 1024;

/// How long a request waits for memory before it is refused.
pub const WAIT: Duration = Duration::from_secs(30);

/// The API's budget of request buffers, and the uploads being patched. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Inflight {
    memory: Arc<Semaphore>,
    units: u32,
    patching: Arc<Mutex<HashSet<UploadId>>>,
}

/// Bytes reserved from the budget, until dropped.
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
}

impl Inflight {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        let units = u32::try_from(bytes / UNIT).unwrap_or(u32::MAX).clamp(1, Semaphore::MAX_PERMITS as u32);
        Self { memory: Arc::new(Semaphore::new(units as usize)), units, patching: Arc::default() }
    }

    /// Reserves `bytes` (all of the budget at most, so a large request waits for everything
    /// rather than forever), waiting up to [`WAIT`].
    pub async fn reserve(&self, bytes: u64) -> Result<Reservation, ApiError> {
        let units = bytes.div_ceil(UNIT).clamp(1, u64::from(self.units));
        let units = u32::try_from(units).unwrap_or(self.units);
        match tokio::time::timeout(WAIT, self.memory.clone().acquire_many_owned(units)).await {
            Ok(Ok(permit)) => Ok(Reservation { _permit: permit }),
            Ok(Err(_)) => Err(busy("the node is shutting down")),
            Err(_) => Err(busy("the node's memory for requests is all in use; try again shortly")),
        }
    }

    /// Bytes of the budget free now.
    pub fn available(&self) -> u64 {
        self.memory.available_permits() as u64 * UNIT
    }

    /// Marks `upload` as being patched until the guard drops; 423 if it already is.
    pub fn patching(&self, upload: UploadId) -> Result<Patching, ApiError> {
        if !self.patching.lock().insert(upload) {
            return Err(ApiError::new(
                StatusCode::LOCKED,
                ErrorCode::Conflict,
                format!("upload {upload} has a PATCH running; send the next one when it has answered"),
            ));
        }
        Ok(Patching { set: self.patching.clone(), upload })
    }
}

/// An upload being patched, until dropped.
#[derive(Debug)]
pub struct Patching {
    set: Arc<Mutex<HashSet<UploadId>>>,
    upload: UploadId,
}

impl Drop for Patching {
    fn drop(&mut self) {
        self.set.lock().remove(&self.upload);
    }
}

/// `data` as `Bytes` that hold `reservation` until the last of them is dropped: the budget
/// counts a block until the connection has written it.
pub fn held(data: Vec<u8>, reservation: Reservation) -> Bytes {
    Bytes::from_owner(Held { data, _reservation: reservation })
}

struct Held {
    data: Vec<u8>,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

fn busy(message: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_are_counted_until_the_last_copy_drops() {
        let inflight = Inflight::new(4 * UNIT);
        let a = inflight.reserve(UNIT).await.unwrap();
        let bytes = held(vec![7; 10], inflight.reserve(2 * UNIT + 1).await.unwrap());
        assert_eq!(inflight.available(), 0);
        let slice = bytes.slice(2..4);
        drop(bytes);
        assert_eq!(inflight.available(), 0, "a slice still holds the block");
        drop(slice);
        assert_eq!(inflight.available(), 3 * UNIT);
        drop(a);
        // More than the whole budget waits for all of it.
        let all = inflight.reserve(100 * UNIT).await.unwrap();
        assert_eq!(inflight.available(), 0);
        drop(all);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_cannot_get_memory_is_refused_after_a_while() {
        let inflight = Inflight::new(UNIT);
        let _all = inflight.reserve(UNIT).await.unwrap();
        let refused = inflight.reserve(1).await.unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable));
    }

    #[test]
    fn one_patch_at_a_time_per_upload() {
        let inflight = Inflight::new(UNIT);
        let first = inflight.patching(UploadId(1)).unwrap();
        assert_eq!(inflight.patching(UploadId(1)).unwrap_err().status, StatusCode::LOCKED);
        let _other = inflight.patching(UploadId(2)).unwrap();
        drop(first);
        assert!(inflight.patching(UploadId(1)).is_ok());
    }
}
