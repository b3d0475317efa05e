//! The transport's errors, which tell a caller whether trying again can help, and the QUIC
//! error codes nodes exchange to say why they refused a stream or closed a connection.

use std::net::SocketAddr;
use std::time::Duration;

use quinn::{ConnectError, ConnectionError, VarInt};

use super::frame::{FrameError, FrameIoError};
use super::identity::IdentityError;

/// Application error codes a node closes a connection with.
pub(crate) mod close_code {
    /// The node is shutting down; its peers may redial later.
    pub const SHUTDOWN: u32 = 1;
    /// The peer's certificate carries no usable node name.
    pub const UNAUTHENTICATED: u32 = 2;
}

/// Application error codes a node resets or stops a stream with; see [`Refusal`].
pub(crate) mod stream_code {
    /// The frame was larger than the node accepts.
    pub const FRAME_TOO_LARGE: u32 = 1;
    /// The frame was of a protocol version the node does not speak.
    pub const UNSUPPORTED_VERSION: u32 = 2;
    /// The request handler failed (panicked) before it produced a response.
    pub const HANDLER_FAILED: u32 = 3;
}

/// The TLS alert a peer sends when it has no ALPN protocol in common with us.
const ALERT_NO_APPLICATION_PROTOCOL: u8 = 120;

/// Why a peer refused a request it received: the code it reset the stream with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request was larger than the peer accepts.
    FrameTooLarge,
    /// The request frame was of a version the peer does not speak.
    UnsupportedVersion,
    /// The peer's handler failed before answering.
    HandlerFailed,
    /// A code this node does not know.
    Other(u64),
}

impl Refusal {
    /// The refusal a stream error code stands for.
    pub fn from_code(code: VarInt) -> Self {
        match u32::try_from(code.into_inner()) {
            Ok(stream_code::FRAME_TOO_LARGE) => Self::FrameTooLarge,
            Ok(stream_code::UNSUPPORTED_VERSION) => Self::UnsupportedVersion,
            Ok(stream_code::HANDLER_FAILED) => Self::HandlerFailed,
            _ => Self::Other(code.into_inner()),
        }
    }

    /// The stream error code for this refusal.
    pub fn code(self) -> VarInt {
        match self {
            Self::FrameTooLarge => VarInt::from_u32(stream_code::FRAME_TOO_LARGE),
            Self::UnsupportedVersion => VarInt::from_u32(stream_code::UNSUPPORTED_VERSION),
            Self::HandlerFailed => VarInt::from_u32(stream_code::HANDLER_FAILED),
            Self::Other(code) => VarInt::from_u64(code).unwrap_or(VarInt::MAX),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FrameTooLarge => f.write_str("a frame was larger than the peer accepts"),
            Self::UnsupportedVersion => f.write_str("the peer does not speak this frame version"),
            Self::HandlerFailed => f.write_str("the peer's handler failed"),
            Self::Other(code) => write!(f, "stream reset with unknown code {code}"),
        }
    }
}

/// What can go wrong between nodes. [`TransportError::is_retryable`] says whether sending the
/// same request again (to the same peer, after a pause) can succeed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The UDP socket could not be bound.
    #[error("bind QUIC endpoint on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// The node's identity could not be turned into a TLS configuration.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The transport settings are out of range.
    #[error("invalid transport settings: {0}")]
    InvalidSettings(&'static str),
    /// The request did not complete within its deadline. Retryable.
    #[error("request to {peer} missed its deadline of {deadline:?}")]
    Timeout {
        /// The peer's address.
        peer: SocketAddr,
        /// The deadline the request had.
        deadline: Duration,
    },
    /// The connection to the peer broke or could not be established. Retryable: the next
    /// request redials.
    #[error("connection to {peer} lost: {reason}")]
    ConnectionLost {
        /// The peer's address.
        peer: SocketAddr,
        /// What quinn reported.
        reason: String,
    },
    /// quinn refused to start a connection to the peer.
    #[error("cannot dial {peer}: {source}")]
    Dial {
        /// The peer's address.
        peer: SocketAddr,
        /// quinn's reason.
        source: ConnectError,
    },
    /// The TLS handshake failed: one side's certificate is not from the cluster CA, or is not
    /// for the node name that was dialled, or carries no node name. Fatal.
    #[error("{peer} is not an authenticated cluster node: {reason}")]
    NotAuthenticated {
        /// The peer's address.
        peer: SocketAddr,
        /// Why, as TLS or the peer put it.
        reason: String,
    },
    /// A frame exceeds the size limit: a request refused before it was sent, or a response
    /// refused when its header arrived. Fatal.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's payload length.
        len: u64,
        /// The limit in force.
        max: u32,
    },
    /// The peer speaks another version of the protocol. Fatal.
    #[error("protocol version mismatch with {peer}: {detail}")]
    VersionMismatch {
        /// The peer's address.
        peer: SocketAddr,
        /// Which versions, where known.
        detail: String,
    },
    /// The peer refused the request. Fatal: the peer's verdict will not change on a retry.
    #[error("{peer} refused the request: {reason}")]
    Refused {
        /// The peer's address.
        peer: SocketAddr,
        /// The reason it gave.
        reason: Refusal,
    },
    /// The peer's response was not a valid frame, or the stream ended in the middle of it.
    /// Fatal: a peer running this protocol does not do that.
    #[error("malformed response from {peer}: {detail}")]
    Malformed {
        /// The peer's address.
        peer: SocketAddr,
        /// What was wrong.
        detail: String,
    },
    /// This node's transport has been shut down.
    #[error("the transport is shut down")]
    ShutDown,
}

impl TransportError {
    /// Whether the same request may succeed if sent again: it timed out, or the connection
    /// broke (the next request redials). Everything else is a verdict that a retry repeats.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::ConnectionLost { .. } => true,
            Self::Dial { source, .. } => matches!(source, ConnectError::CidsExhausted),
            Self::Bind { .. }
            | Self::Identity(_)
            | Self::InvalidSettings(_)
            | Self::NotAuthenticated { .. }
            | Self::FrameTooLarge { .. }
            | Self::VersionMismatch { .. }
            | Self::Refused { .. }
            | Self::Malformed { .. }
            | Self::ShutDown => false,
        }
    }

    /// Classifies a dial failure.
    pub(crate) fn from_connect_error(peer: SocketAddr, error: ConnectError) -> Self {
        match error {
            ConnectError::EndpointStopping => Self::ShutDown,
            source => Self::Dial { peer, source },
        }
    }

    /// Classifies the failure of a connection, at the handshake or later.
    pub(crate) fn from_connection_error(peer: SocketAddr, error: ConnectionError) -> Self {
        let alert = |code: quinn::TransportErrorCode| {
            // QUIC carries a TLS alert as error code 0x100 + alert (RFC 9001, section 4.8).
            u64::from(code).checked_sub(0x100).and_then(|alert| u8::try_from(alert).ok())
        };
        let tls_failure = |alert: u8| {
            if alert == ALERT_NO_APPLICATION_PROTOCOL {
                Self::VersionMismatch {
                    peer,
                    detail: format!(
                        "no ALPN protocol in common (this node speaks {})",
                        String::from_utf8_lossy(super::tls::ALPN)
                    ),
                }
            } else {
                Self::NotAuthenticated { peer, reason: error.to_string() }
            }
        };
        match &error {
            // Our own TLS stack refused the peer (e.g. its certificate is not from our CA).
            ConnectionError::TransportError(e) => match alert(e.code) {
                Some(alert) => tls_failure(alert),
                None => Self::ConnectionLost { peer, reason: error.to_string() },
            },
            // The peer's TLS stack refused us (e.g. our certificate is not from its CA).
            ConnectionError::ConnectionClosed(close) => match alert(close.error_code) {
                Some(alert) => tls_failure(alert),
                None => Self::ConnectionLost { peer, reason: error.to_string() },
            },
            ConnectionError::ApplicationClosed(close)
                if close.error_code == VarInt::from_u32(close_code::UNAUTHENTICATED) =>
            {
                Self::NotAuthenticated { peer, reason: error.to_string() }
            }
            ConnectionError::VersionMismatch => {
                Self::VersionMismatch { peer, detail: "no QUIC version in common".to_owned() }
            }
            ConnectionError::LocallyClosed => Self::ShutDown,
            ConnectionError::ApplicationClosed(_)
            | ConnectionError::Reset
            | ConnectionError::TimedOut
            | ConnectionError::CidsExhausted => Self::ConnectionLost { peer, reason: error.to_string() },
        }
    }

    /// Classifies the failure to carry a frame over a request's stream.
    pub(crate) fn from_frame_io(peer: SocketAddr, error: FrameIoError) -> Self {
        use quinn::{ReadError, WriteError};
        match error {
            FrameIoError::Frame(FrameError::TooLarge { len, max }) => Self::FrameTooLarge { len, max },
            FrameIoError::Frame(FrameError::UnsupportedVersion { got }) => Self::VersionMismatch {
                peer,
                detail: format!(
                    "the peer answered in frame version {got}, this node speaks {}",
                    super::frame::PROTOCOL_VERSION
                ),
            },
            FrameIoError::Frame(e @ FrameError::Truncated { .. }) => {
                Self::Malformed { peer, detail: e.to_string() }
            }
            FrameIoError::Read(ReadError::Reset(code)) | FrameIoError::Write(WriteError::Stopped(code)) => {
                Self::Refused { peer, reason: Refusal::from_code(code) }
            }
            FrameIoError::Read(ReadError::ConnectionLost(e))
            | FrameIoError::Write(WriteError::ConnectionLost(e)) => Self::from_connection_error(peer, e),
            // Streams this node closed itself, or 0-RTT data, which nodes never send.
            e @ (FrameIoError::Read(_) | FrameIoError::Write(_)) => {
                Self::ConnectionLost { peer, reason: e.to_string() }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 7000);

    #[test]
    fn refusal_codes_round_trip() {
        for refusal in
            [Refusal::FrameTooLarge, Refusal::UnsupportedVersion, Refusal::HandlerFailed, Refusal::Other(99)]
        {
            assert_eq!(Refusal::from_code(refusal.code()), refusal);
        }
        // Code 0 is what quinn sends when a stream is dropped unread: not one of ours.
        assert_eq!(Refusal::from_code(VarInt::from_u32(0)), Refusal::Other(0));
    }

    #[test]
    fn tls_alerts_are_authentication_failures_and_not_retryable() {
        let unknown_ca = quinn_proto_transport_error(quinn::TransportErrorCode::crypto(48));
        let err = TransportError::from_connection_error(PEER, unknown_ca);
        assert!(matches!(err, TransportError::NotAuthenticated { .. }), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn missing_alpn_is_a_version_mismatch() {
        let no_alpn =
            quinn_proto_transport_error(quinn::TransportErrorCode::crypto(ALERT_NO_APPLICATION_PROTOCOL));
        let err = TransportError::from_connection_error(PEER, no_alpn);
        assert!(matches!(err, TransportError::VersionMismatch { .. }), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn lost_connections_are_retryable() {
        for error in [ConnectionError::Reset, ConnectionError::TimedOut] {
            let err = TransportError::from_connection_error(PEER, error);
            assert!(matches!(err, TransportError::ConnectionLost { .. }), "{err}");
            assert!(err.is_retryable());
        }
        let shutdown = ConnectionError::ApplicationClosed(quinn::ApplicationClose {
            error_code: VarInt::from_u32(close_code::SHUTDOWN),
            reason: bytes::Bytes::from_static(b"shutting down"),
        });
        assert!(TransportError::from_connection_error(PEER, shutdown).is_retryable());
    }

    #[test]
    fn refusals_and_oversized_frames_are_fatal() {
        let refused = TransportError::from_frame_io(
            PEER,
            FrameIoError::Read(quinn::ReadError::Reset(Refusal::FrameTooLarge.code())),
        );
        assert!(
            matches!(refused, TransportError::Refused { reason: Refusal::FrameTooLarge, .. }),
            "{refused}"
        );
        assert!(!refused.is_retryable());
        let too_large = TransportError::from_frame_io(PEER, FrameError::TooLarge { len: 10, max: 5 }.into());
        assert!(matches!(too_large, TransportError::FrameTooLarge { len: 10, max: 5 }));
        assert!(!too_large.is_retryable());
        let version = TransportError::from_frame_io(PEER, FrameError::UnsupportedVersion { got: 9 }.into());
        assert!(matches!(version, TransportError::VersionMismatch { .. }));
        assert!(!version.is_retryable());
    }

    fn quinn_proto_transport_error(code: quinn::TransportErrorCode) -> ConnectionError {
        ConnectionError::ConnectionClosed(quinn::ConnectionClose {
            error_code: code,
            frame_type: None,
            reason: bytes::Bytes::new(),
        })
    }
}
