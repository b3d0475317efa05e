//! Byte and request counters of a client: what a transfer cost on the wire, for progress
//! reports and for tests that assert on what delta sync saved.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by every clone of a client.
#[derive(Debug, Default)]
pub struct Counters {
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    blocks_sent: AtomicU64,
    blocks_skipped: AtomicU64,
    blocks_received: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CountersSnapshot {
    /// Request body bytes sent (blocks, JSON).
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Blocks uploaded.
    pub blocks_sent: u64,
    /// Blocks not uploaded because the cluster had them already.
    pub blocks_skipped: u64,
    /// Blocks downloaded and verified.
    pub blocks_received: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Attempts repeated after a failure, on the same node or another.
    pub retries: u64,
}

impl CountersSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &CountersSnapshot) -> CountersSnapshot {
        CountersSnapshot {
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            bytes_received: self.bytes_received - earlier.bytes_received,
            blocks_sent: self.blocks_sent - earlier.blocks_sent,
            blocks_skipped: self.blocks_skipped - earlier.blocks_skipped,
            blocks_received: self.blocks_received - earlier.blocks_received,
            requests: self.requests - earlier.requests,
            retries: self.retries - earlier.retries,
        }
    }
}

impl Counters {
    /// The counters now.
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            bytes_sent: get(&self.bytes_sent),
            bytes_received: get(&self.bytes_received),
            blocks_sent: get(&self.blocks_sent),
            blocks_skipped: get(&self.blocks_skipped),
            blocks_received: get(&self.blocks_received),
            requests: get(&self.requests),
            retries: get(&self.retries),
        }
    }

    pub(crate) fn sent(&self, bytes: u64) {
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, bytes: u64) {
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn block_sent(&self) {
        self.blocks_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn blocks_skipped(&self, n: u64) {
        self.blocks_skipped.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn block_received(&self) {
        self.blocks_received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
}
