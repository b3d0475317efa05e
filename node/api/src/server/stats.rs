//! Counters of the API's connections for `/metrics`: how many are open, how many were turned
//! away by a cap, and how many each timeout closed. Process-wide, like the node's one API
//! listener; an operator compares them with the caps, and tests wait on them.

use std::sync::atomic::{AtomicU64, Ordering};

use super::activity::Verdict;

static OPEN: AtomicU64 = AtomicU64::new(0);
static REFUSED_NODE: AtomicU64 = AtomicU64::new(0);
static REFUSED_ADDRESS: AtomicU64 = AtomicU64::new(0);
static HANDSHAKE_FAILED: AtomicU64 = AtomicU64::new(0);
static CLOSED_HEADER: AtomicU64 = AtomicU64::new(0);
static CLOSED_IDLE: AtomicU64 = AtomicU64::new(0);
static CLOSED_WRITE: AtomicU64 = AtomicU64::new(0);
static BODY_STALLED: AtomicU64 = AtomicU64::new(0);

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A connection was admitted; [`closed`] when it ends.
pub(crate) fn opened() {
    add(&OPEN);
}

/// An admitted connection ended.
pub(crate) fn closed() {
    OPEN.fetch_sub(1, Ordering::Relaxed);
}

/// A connection was turned away by the node's cap.
pub(crate) fn refused_by_node() {
    add(&REFUSED_NODE);
}

/// A connection was turned away by its address's cap.
pub(crate) fn refused_by_address() {
    add(&REFUSED_ADDRESS);
}

/// A TLS handshake failed or ran out of time.
pub(crate) fn handshake_failed() {
    add(&HANDSHAKE_FAILED);
}

/// The watchdog closed a connection.
pub(crate) fn timed_out(verdict: Verdict) {
    add(match verdict {
        Verdict::Header => &CLOSED_HEADER,
        Verdict::Idle => &CLOSED_IDLE,
        Verdict::WriteStalled => &CLOSED_WRITE,
    });
}

/// A request body stalled past the body idle timeout.
pub(crate) fn body_stalled() {
    add(&BODY_STALLED);
}

/// `(name, help, value)` of each counter, in Prometheus' naming.
pub fn prometheus() -> Vec<(&'static str, &'static str, u64)> {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    vec![
        ("cairn_api_connections_open", "API connections open, TLS handshakes included.", get(&OPEN)),
        (
            "cairn_api_connections_refused_node_total",
            "API connections closed at once: the node held network.max_connections.",
            get(&REFUSED_NODE),
        ),
        (
            "cairn_api_connections_refused_address_total",
            "API connections closed at once: their address held network.max_connections_per_address.",
            get(&REFUSED_ADDRESS),
        ),
        (
            "cairn_api_tls_handshakes_failed_total",
            "TLS handshakes that failed or ran out of network.header_timeout_secs.",
            get(&HANDSHAKE_FAILED),
        ),
        (
            "cairn_api_connections_header_timeout_total",
            "API connections closed without a complete request head in network.header_timeout_secs.",
            get(&CLOSED_HEADER),
        ),
        (
            "cairn_api_connections_idle_timeout_total",
            "API connections closed after network.idle_timeout_secs without a request.",
            get(&CLOSED_IDLE),
        ),
        (
            "cairn_api_connections_write_timeout_total",
            "API connections closed after writes made no progress for network.write_timeout_secs.",
            get(&CLOSED_WRITE),
        ),
        (
            "cairn_api_request_bodies_stalled_total",
            "Request bodies failed after sending nothing for network.body_idle_timeout_secs.",
            get(&BODY_STALLED),
        ),
    ]
}
