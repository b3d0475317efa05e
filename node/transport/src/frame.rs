//! The wire frame of node-to-node messages: a versioned, length-prefixed header and a payload.
//!
//! Every stream carries exactly one frame each way: the request from the caller, the response
//! from the peer. A frame is
//!
//! ```text
//! +---------+------+----------------+-----------------+
//! | version | kind | length (u32 BE)| payload ...     |
//! | 1 byte  | 1 B  | 4 bytes        | `length` bytes  |
//! +---------+------+----------------+-----------------+
//! ```
//!
//! The version comes first so that a peer speaking another version is recognised before the
//! rest of its header is trusted, and the length is checked against a limit before a single
//! payload byte is buffered, so a peer cannot make a node allocate more than the limit.
//!
//! The codec ([`encode_header`], [`decode_header`], [`encode`], [`decode`]) is pure and is
//! tested without sockets; [`write_frame`] and [`read_frame`] carry it over quinn streams.

use bytes::Bytes;
use quinn::{ReadError, ReadExactError, RecvStream, SendStream, WriteError};

/// The version of the frame format this build speaks. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u8 = 1;

/// Length of a frame header in bytes: version, kind, and a big-endian `u32` payload length.
pub const HEADER_LEN: usize = 6;

/// The default limit on a frame's payload: 64 MiB, above the largest shard a 4 MiB block makes
/// under any erasure profile, with room for the metadata that travels with it.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 64 * 1024 * 1024;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The frame format version; always [`PROTOCOL_VERSION`] once decoded.
    pub version: u8,
    /// What the payload is; the meaning belongs to the layer above the transport.
    pub kind: u8,
    /// Length of the payload that follows the header, in bytes.
    pub len: u32,
}

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The input ended before the frame did.
    #[error("frame truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the frame (or its header) needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// The header names a frame format version this node does not speak.
    #[error("unsupported frame version {got} (this node speaks version {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// The version byte that was received.
        got: u8,
    },
    /// The payload is longer than the configured limit.
    #[error("frame payload of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The payload length that was sent or announced.
        len: u64,
        /// The limit in force.
        max: u32,
    },
}

/// Encodes the header of a frame carrying `payload_len` bytes of `kind`.
///
/// Fails with [`FrameError::TooLarge`] when `payload_len` exceeds `max_len`.
pub fn encode_header(kind: u8, payload_len: usize, max_len: u32) -> Result<[u8; HEADER_LEN], FrameError> {
    let len = u32::try_from(payload_len)
        .ok()
        .filter(|&len| len <= max_len)
        .ok_or(FrameError::TooLarge { len: payload_len as u64, max: max_len })?;
    let mut header = [0u8; HEADER_LEN];
    header[0] = PROTOCOL_VERSION;
    header[1] = kind;
    header[2..].copy_from_slice(&len.to_be_bytes());
    Ok(header)
}

/// Decodes a frame header from the first [`HEADER_LEN`] bytes of `bytes`.
///
/// The version is checked before the length: a header of another version may not even have its
/// length where this one does.
pub fn decode_header(bytes: &[u8], max_len: u32) -> Result<FrameHeader, FrameError> {
    let header: &[u8; HEADER_LEN] = bytes
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(FrameError::Truncated { needed: HEADER_LEN, available: bytes.len() })?;
    let [version, kind, l0, l1, l2, l3] = *header;
    if version != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { got: version });
    }
    let len = u32::from_be_bytes([l0, l1, l2, l3]);
    if len > max_len {
        return Err(FrameError::TooLarge { len: u64::from(len), max: max_len });
    }
    Ok(FrameHeader { version, kind, len })
}

/// Encodes a whole frame into one buffer. Streams use [`write_frame`], which does not copy the
/// payload; this is for tests and small messages.
pub fn encode(kind: u8, payload: &[u8], max_len: u32) -> Result<Vec<u8>, FrameError> {
    let header = encode_header(kind, payload.len(), max_len)?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Decodes one frame from the start of `bytes`, returning its kind, its payload and how many
/// bytes of `bytes` it took.
pub fn decode(bytes: &[u8], max_len: u32) -> Result<(u8, &[u8], usize), FrameError> {
    let header = decode_header(bytes, max_len)?;
    // A `u32` always fits a `usize` on the 64-bit targets cairn supports; saturate elsewhere so
    // the bounds check below fails rather than wraps.
    let end = HEADER_LEN.saturating_add(usize::try_from(header.len).unwrap_or(usize::MAX));
    let payload =
        bytes.get(HEADER_LEN..end).ok_or(FrameError::Truncated { needed: end, available: bytes.len() })?;
    Ok((header.kind, payload, end))
}

/// Why a frame could not be carried over a stream.
#[derive(Debug, thiserror::Error)]
pub enum FrameIoError {
    /// The bytes were there but are not a valid frame, or the stream ended mid-frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The stream failed while the frame was being read.
    #[error("read frame: {0}")]
    Read(#[from] ReadError),
    /// The stream failed while the frame was being written.
    #[error("write frame: {0}")]
    Write(#[from] WriteError),
}

/// Writes one frame to `send`. The payload is handed to quinn as is, not copied.
///
/// The limit is checked before anything is written, so an oversized payload leaves the stream
/// untouched. Does not finish the stream.
pub async fn write_frame(
    send: &mut SendStream,
    kind: u8,
    payload: Bytes,
    max_len: u32,
) -> Result<(), FrameIoError> {
    let header = encode_header(kind, payload.len(), max_len)?;
    send.write_all_chunks(&mut [Bytes::copy_from_slice(&header), payload]).await?;
    Ok(())
}

/// Reads one frame from `recv`: its kind and payload.
///
/// The header is checked before the payload buffer is allocated, so at most `max_len` bytes are
/// ever buffered for one frame.
pub async fn read_frame(recv: &mut RecvStream, max_len: u32) -> Result<(u8, Vec<u8>), FrameIoError> {
    let header = read_frame_header(recv, max_len).await?;
    Ok((header.kind, read_frame_payload(recv, &header).await?))
}

/// Reads and checks a frame's header only, so a caller can decide (wait for memory, say)
/// before the payload is read.
pub async fn read_frame_header(recv: &mut RecvStream, max_len: u32) -> Result<FrameHeader, FrameIoError> {
    let mut header = [0u8; HEADER_LEN];
    read_exact(recv, &mut header).await?;
    Ok(decode_header(&header, max_len)?)
}

/// Reads the payload a [`read_frame_header`] announced.
pub async fn read_frame_payload(
    recv: &mut RecvStream,
    header: &FrameHeader,
) -> Result<Vec<u8>, FrameIoError> {
    let mut payload = vec![0u8; usize::try_from(header.len).unwrap_or(usize::MAX)];
    read_exact(recv, &mut payload).await?;
    Ok(payload)
}

/// `RecvStream::read_exact`, with an early end of stream reported as a truncated frame.
async fn read_exact(recv: &mut RecvStream, buf: &mut [u8]) -> Result<(), FrameIoError> {
    match recv.read_exact(buf).await {
        Ok(()) => Ok(()),
        Err(ReadExactError::FinishedEarly(available)) => {
            Err(FrameError::Truncated { needed: buf.len(), available }.into())
        }
        Err(ReadExactError::ReadError(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = 1024;

    #[test]
    fn frame_round_trips() {
        let frame = encode(7, b"hello", MAX).unwrap();
        assert_eq!(frame.len(), HEADER_LEN + 5);
        assert_eq!(decode(&frame, MAX).unwrap(), (7, &b"hello"[..], frame.len()));
    }

    #[test]
    fn empty_payload_round_trips() {
        let frame = encode(0, b"", MAX).unwrap();
        assert_eq!(frame, [PROTOCOL_VERSION, 0, 0, 0, 0, 0]);
        assert_eq!(decode(&frame, MAX).unwrap(), (0, &b""[..], HEADER_LEN));
    }

    #[test]
    fn header_layout_is_version_kind_big_endian_length() {
        let header = encode_header(0xAB, 0x304, MAX).unwrap();
        assert_eq!(header, [PROTOCOL_VERSION, 0xAB, 0x00, 0x00, 0x03, 0x04]);
        let decoded = decode_header(&header, MAX).unwrap();
        assert_eq!(decoded, FrameHeader { version: PROTOCOL_VERSION, kind: 0xAB, len: 0x304 });
    }

    #[test]
    fn decode_leaves_trailing_bytes_alone() {
        let mut bytes = encode(1, b"abc", MAX).unwrap();
        bytes.extend_from_slice(b"next frame");
        let (kind, payload, used) = decode(&bytes, MAX).unwrap();
        assert_eq!((kind, payload, used), (1, &b"abc"[..], HEADER_LEN + 3));
    }

    #[test]
    fn truncated_header_is_refused() {
        for cut in 0..HEADER_LEN {
            let frame = encode(1, b"abc", MAX).unwrap();
            assert_eq!(
                decode(&frame[..cut], MAX),
                Err(FrameError::Truncated { needed: HEADER_LEN, available: cut })
            );
        }
    }

    #[test]
    fn truncated_payload_is_refused() {
        let frame = encode(1, b"abcdef", MAX).unwrap();
        for cut in HEADER_LEN..frame.len() {
            assert_eq!(
                decode(&frame[..cut], MAX),
                Err(FrameError::Truncated { needed: frame.len(), available: cut })
            );
        }
    }

    #[test]
    fn oversized_payload_is_refused_when_encoding() {
        let payload = vec![0u8; MAX as usize + 1];
        assert_eq!(encode(1, &payload, MAX), Err(FrameError::TooLarge { len: u64::from(MAX) + 1, max: MAX }));
        assert!(encode(1, &payload[..MAX as usize], MAX).is_ok());
    }

    #[test]
    fn oversized_length_is_refused_before_the_payload_arrives() {
        // Only the header: the announced length alone must be enough to refuse the frame.
        let mut header = [PROTOCOL_VERSION, 1, 0, 0, 0, 0];
        header[2..].copy_from_slice(&(MAX + 1).to_be_bytes());
        assert_eq!(decode(&header, MAX), Err(FrameError::TooLarge { len: u64::from(MAX) + 1, max: MAX }));
        header[2..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            decode_header(&header, MAX),
            Err(FrameError::TooLarge { len: u64::from(u32::MAX), max: MAX })
        );
    }

    #[test]
    fn unknown_version_is_refused_before_the_length_is_read() {
        let mut frame = encode(1, b"abc", MAX).unwrap();
        frame[0] = PROTOCOL_VERSION + 1;
        assert_eq!(decode(&frame, MAX), Err(FrameError::UnsupportedVersion { got: PROTOCOL_VERSION + 1 }));
        // Even with a length that would be refused, the version is what gets reported.
        let header = [0, 1, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(decode_header(&header, MAX), Err(FrameError::UnsupportedVersion { got: 0 }));
    }

    #[test]
    fn limit_of_zero_allows_only_empty_payloads() {
        assert!(encode(1, b"", 0).is_ok());
        assert_eq!(encode(1, b"x", 0), Err(FrameError::TooLarge { len: 1, max: 0 }));
    }
}
