//! Serving the API's connections, plain HTTP/1.1 or TLS (HTTP/1.1 and HTTP/2), so that no
//! client can hold a connection, a buffer or a task without bound:
//!
//! - a cap on open connections per node and per client address ([`cap`]), counted from the
//!   moment a connection is accepted, TLS handshakes included; a connection over a cap is
//!   accepted and closed at once (see [`listener`] for why not a 503);
//! - a TLS handshake deadline and a cap on handshakes at once ([`crate::https`]);
//! - header, idle and write timeouts, watched per connection ([`activity`], [`io`]);
//! - a body idle timeout on request bodies ([`body`]);
//! - for HTTP/2, a cap on concurrent streams per connection (hyper's, advertised in SETTINGS).
//!
//! Counters of all of it are on `/metrics` ([`stats`]). Every request carries the client's
//! address as axum's `ConnectInfo<SocketAddr>`, for limits kept per address.

mod activity;
mod body;
pub mod cap;
mod connection;
mod io;
mod listener;
pub mod stats;

use std::time::Duration;

pub use body::BodyStalled;
pub use listener::serve;

/// The limits of the API's connections (the node's `[network]` section). The defaults are
/// the node's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A TLS handshake, and then a request head, must be complete within this; on a kept-alive
    /// connection, the head counts from its first byte. Default 10 s: a head is one packet or
    /// a few, and this leaves room for retransmits on a bad mobile link.
    pub header_timeout: Duration,
    /// A connection with no request in flight and no byte of a new one is closed after this.
    /// Default 60 s: a client between calls keeps its connection (and TLS session) warm, an
    /// abandoned one is gone within a minute.
    pub idle_timeout: Duration,
    /// A request body that sends nothing for this while its handler waits fails, and closes
    /// its connection. Default 30 s.
    pub body_idle_timeout: Duration,
    /// A connection whose writes make no progress for this is closed: a client that stops
    /// reading a download holds neither the connection nor its buffers. Default 30 s.
    pub write_timeout: Duration,
    /// Connections open at once on this node. Default 4096.
    pub max_connections: usize,
    /// Connections open at once from one client address. Default 256: many people behind one
    /// NAT or proxy are many browsers; raise it for a reverse proxy in front of the node.
    pub max_connections_per_address: usize,
    /// Streams at once on one HTTP/2 connection. Default 100, the least RFC 9113 advises.
    pub http2_max_streams: u32,
}

impl ConnectionLimits {
    /// The node's defaults, as documented on each field.
    pub const DEFAULT: Self = Self {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        body_idle_timeout: Duration::from_secs(30),
        write_timeout: Duration::from_secs(30),
        max_connections: 4096,
        max_connections_per_address: 256,
        http2_max_streams: 100,
    };

    fn timeouts(&self) -> activity::Timeouts {
        activity::Timeouts { header: self.header_timeout, idle: self.idle_timeout, write: self.write_timeout }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
