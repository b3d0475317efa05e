//! What the proxies did, counted: the numbers a run's report shows next to the faults it injected.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of the proxies' counters, summed over every proxy that shares one
/// [`Faults`](super::Faults) table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStats {
    /// UDP packets passed on (once each, however many copies and however late).
    pub forwarded: u64,
    /// UDP packets thrown away, by a block or by chance.
    pub dropped: u64,
    /// UDP packets and TCP chunks held back before being passed on.
    pub delayed: u64,
    /// UDP packets sent twice.
    pub duplicated: u64,
    /// Client connections accepted and relayed to a node.
    pub connections: u64,
    /// Client connections closed at once because the node was blocked for clients.
    pub refused: u64,
    /// Open client connections cut because the node became blocked for clients.
    pub cut: u64,
}

/// The live counters behind [`ProxyStats`]; relaxed atomics, since they are only ever summed.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) forwarded: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) delayed: AtomicU64,
    pub(crate) duplicated: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) cut: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter (each on its own: the snapshot is not atomic as a whole).
    pub(crate) fn snapshot(&self) -> ProxyStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProxyStats {
            forwarded: get(&self.forwarded),
            dropped: get(&self.dropped),
            delayed: get(&self.delayed),
            duplicated: get(&self.duplicated),
            connections: get(&self.connections),
            refused: get(&self.refused),
            cut: get(&self.cut),
        }
    }
}
