//! The transport's wire format stays readable: today's bytes of a frame (version, kind, length,
//! payload), of a frame header alone, and of the codes a node resets a stream with are committed
//! under `tests/golden/`, and each build must decode them to the same values and encode those
//! values to the same bytes (see `cairn_proto::golden`; `CAIRN_BLESS=1` records a new kind).
//! Nodes of two releases talk during a rolling upgrade: the frame changes by a new version, which
//! the header says first, never in place.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::path::Path;

use cairn_proto::golden::Golden;
use cairn_transport::Refusal;
use cairn_transport::frame::{self, DEFAULT_MAX_FRAME_LEN, FrameHeader, PROTOCOL_VERSION};
use quinn::VarInt;

/// Checks a frame of `kind` and `payload` as the transport encodes and decodes one.
fn framed(g: &mut Golden, name: &str, kind: u8, payload: &[u8]) {
    g.check_with(
        name,
        &(kind, payload.to_vec()),
        |(kind, payload)| frame::encode(*kind, payload, DEFAULT_MAX_FRAME_LEN).unwrap(),
        |bytes| {
            let (kind, payload, used) =
                frame::decode(bytes, DEFAULT_MAX_FRAME_LEN).map_err(|e| e.to_string())?;
            if used != bytes.len() {
                return Err(format!("the frame takes {used} of its {} bytes", bytes.len()));
            }
            Ok((kind, payload.to_vec()))
        },
    );
}

#[test]
fn frames_and_refusals_stay_readable() {
    let mut g = Golden::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/frames.txt"),
        "the node-to-node frame and the codes a stream is refused with",
    );
    framed(&mut g, "frame", 13, b"a payload: postcard, or a header and a shard");
    framed(&mut g, "frame/empty", 25, b"");
    let header = FrameHeader { version: PROTOCOL_VERSION, kind: 0xab, len: 0x0102_0304 };
    g.check_with(
        "header",
        &header,
        |h| frame::encode_header(h.kind, h.len as usize, u32::MAX).unwrap().to_vec(),
        |bytes| frame::decode_header(bytes, u32::MAX).map_err(|e| e.to_string()),
    );
    // The application error code a node resets or stops a stream with, as a big-endian u64.
    for (name, refusal) in [
        ("refusal/FrameTooLarge", Refusal::FrameTooLarge),
        ("refusal/UnsupportedVersion", Refusal::UnsupportedVersion),
        ("refusal/HandlerFailed", Refusal::HandlerFailed),
    ] {
        g.check_with(
            name,
            &refusal,
            |r| r.code().into_inner().to_be_bytes().to_vec(),
            |bytes| {
                let code: [u8; 8] = bytes.try_into().map_err(|_| format!("{} bytes, not 8", bytes.len()))?;
                let code = VarInt::from_u64(u64::from_be_bytes(code)).map_err(|e| e.to_string())?;
                Ok(Refusal::from_code(code))
            },
        );
    }
    g.finish();
}
