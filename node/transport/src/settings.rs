//! The transport's tunables: frame limit, flow-control windows, stream cap, liveness timers.

use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, VarInt};

use super::error::TransportError;
use super::frame::DEFAULT_MAX_FRAME_LEN;

const MIB: u32 = 1024 * 1024;

/// How a node's QUIC transport behaves. [`Default`] suits shard transfers between nodes in
/// one region; the checks in [`TransportSettings::quinn_transport_config`] say what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSettings {
    /// The largest frame payload accepted or sent, in bytes. Both peers check it: a request
    /// over the limit is refused before it is sent, and a peer with a smaller limit refuses it
    /// when its header arrives.
    pub max_frame_len: u32,
    /// How many bytes one stream may have in flight unread. quinn's default (about 1.25 MB)
    /// makes a multi-MiB shard wait for window updates every round trip.
    pub stream_receive_window: u32,
    /// How many bytes all streams of one connection together may have in flight unread. This
    /// bounds the memory one peer can make this node buffer.
    pub connection_receive_window: u32,
    /// How many bytes this node may have sent on one connection and not yet had acknowledged.
    pub send_window: u64,
    /// How many requests one peer may have open to this node at once; the peer's further
    /// requests wait for a free stream. This is the per-peer cap on concurrent shard streams.
    pub max_concurrent_streams_per_peer: u32,
    /// How often an idle connection is pinged, so it stays open (and NAT bindings stay warm)
    /// between requests. Must be shorter than `idle_timeout`.
    pub keep_alive_interval: Duration,
    /// How long a connection may go without hearing from the peer before it is considered
    /// broken. With keep-alives on, this is how fast a dead peer is noticed.
    pub idle_timeout: Duration,
    /// How long one dial (the QUIC and TLS handshake) may take before it is abandoned and the
    /// next request dials afresh. Short, because a dial to a peer that is down retransmits with
    /// growing gaps: a fresh dial reaches a restarted peer sooner than an old one would.
    pub dial_timeout: Duration,
    /// Most bytes of requests from callers that are not cluster nodes (operators, tools) this
    /// node holds at once, from reading a request until its answer is sent. Further requests
    /// wait unread, and QUIC's flow control makes their senders wait in turn: many clients
    /// sending large blocks at once cannot grow the node's memory without limit. Node-to-node
    /// calls (Raft, shards) do not wait on it, so a full budget can never stall the cluster.
    pub max_client_inbound_bytes: u64,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            stream_receive_window: 16 * MIB,
            connection_receive_window: 128 * MIB,
            send_window: 128 * u64::from(MIB),
            max_concurrent_streams_per_peer: 64,
            keep_alive_interval: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
            dial_timeout: Duration::from_secs(2),
            max_client_inbound_bytes: 256 * u64::from(MIB),
        }
    }
}

impl TransportSettings {
    /// Checks the settings and turns them into quinn's transport configuration, shared by the
    /// connections this node accepts and the ones it dials.
    pub fn quinn_transport_config(&self) -> Result<Arc<quinn::TransportConfig>, TransportError> {
        if self.stream_receive_window == 0 || self.connection_receive_window < self.stream_receive_window {
            return Err(TransportError::InvalidSettings(
                "stream_receive_window must be positive and at most connection_receive_window",
            ));
        }
        if self.send_window == 0 {
            return Err(TransportError::InvalidSettings("send_window must be positive"));
        }
        if self.max_concurrent_streams_per_peer == 0 {
            return Err(TransportError::InvalidSettings("max_concurrent_streams_per_peer must be positive"));
        }
        if self.keep_alive_interval.is_zero() || self.keep_alive_interval >= self.idle_timeout {
            return Err(TransportError::InvalidSettings(
                "keep_alive_interval must be positive and shorter than idle_timeout",
            ));
        }
        if self.dial_timeout.is_zero() {
            return Err(TransportError::InvalidSettings("dial_timeout must be positive"));
        }
        let idle_timeout = IdleTimeout::try_from(self.idle_timeout)
            .map_err(|_| TransportError::InvalidSettings("idle_timeout is too long"))?;

        let mut config = quinn::TransportConfig::default();
        config
            .stream_receive_window(VarInt::from_u32(self.stream_receive_window))
            .receive_window(VarInt::from_u32(self.connection_receive_window))
            .send_window(self.send_window)
            .max_concurrent_bidi_streams(VarInt::from_u32(self.max_concurrent_streams_per_peer))
            // Nodes talk request/response on bidirectional streams only.
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .keep_alive_interval(Some(self.keep_alive_interval))
            .max_idle_timeout(Some(idle_timeout));
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        TransportSettings::default().quinn_transport_config().unwrap();
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad = [
            TransportSettings { max_concurrent_streams_per_peer: 0, ..Default::default() },
            TransportSettings { stream_receive_window: 0, ..Default::default() },
            TransportSettings {
                connection_receive_window: MIB,
                stream_receive_window: 2 * MIB,
                ..Default::default()
            },
            TransportSettings { send_window: 0, ..Default::default() },
            TransportSettings { keep_alive_interval: Duration::from_secs(30), ..Default::default() },
            TransportSettings { keep_alive_interval: Duration::ZERO, ..Default::default() },
        ];
        for settings in bad {
            assert!(
                matches!(settings.quinn_transport_config(), Err(TransportError::InvalidSettings(_))),
                "{settings:?} should be refused"
            );
        }
    }
}
