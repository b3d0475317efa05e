//! What must hold for every input of the parsers that face the network or the disk, one check
//! per fuzz target. The cargo-fuzz targets in `fuzz/` call these, and so does the replay of
//! their corpora in the test suite (`tests/corpora_replay.rs`), so the checks live in one place
//! and every input a fuzzer ever kept is a regression test that runs without a nightly compiler.
//!
//! Each check takes arbitrary bytes, must not panic for any of them except where an invariant
//! is broken, and asserts what the parser promises: a codec that also encodes must give back the
//! bytes it parsed (or an equal value), a parser that normalises must be idempotent, and a
//! parser that bounds a value must keep it in bounds.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_api::range::parse_range;
use cairn_api::tus::headers::{parse_byte_count, parse_checksum, parse_metadata};
use cairn_node::NodeConfig;
use cairn_proto::DrivePath;
use cairn_proto::drive_path::MAX_PATH_LEN;
use cairn_proto::encoded_block::{EncodedBlock, MAX_BLOCK_SIZE};
use cairn_transport::frame::{self, HEADER_LEN};

/// A fuzz target: its name (a folder under `fuzz/corpus/`) and its check.
pub struct Target {
    /// The target's name, as `cargo fuzz run` and the corpus folder spell it.
    pub name: &'static str,
    /// What must hold for one input.
    pub check: fn(&[u8]),
}

/// Every target, for the replay.
pub const TARGETS: &[Target] = &[
    Target { name: "frame", check: frame },
    Target { name: "encoded_block", check: encoded_block },
    Target { name: "tus_headers", check: tus_headers },
    Target { name: "range", check: range },
    Target { name: "drive_path", check: drive_path },
    Target { name: "node_config", check: node_config },
];

/// The node-to-node frame decoder: a decoded frame lies inside the input, and encoding its kind
/// and payload gives back exactly the bytes it took. The first byte picks the length limit (a
/// small one makes `TooLarge` reachable), the rest is the stream.
pub fn frame(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let max_len = match pick % 3 {
        0 => frame::DEFAULT_MAX_FRAME_LEN,
        1 => 16,
        _ => 0,
    };
    let header = frame::decode_header(bytes, max_len);
    match frame::decode(bytes, max_len) {
        Ok((kind, payload, used)) => {
            assert!(used <= bytes.len() && used == HEADER_LEN + payload.len(), "frame took {used} bytes");
            assert!(payload.len() as u64 <= u64::from(max_len), "payload over the limit");
            let header = header.unwrap_or_else(|e| panic!("decode took a frame whose header fails: {e}"));
            assert_eq!((header.kind, header.len as usize), (kind, payload.len()));
            let again = frame::encode(kind, payload, max_len).unwrap_or_else(|e| panic!("re-encode: {e}"));
            assert_eq!(again, &bytes[..used], "a frame does not encode back to its bytes");
        }
        // A header that decodes, with a payload that does not, can only lack bytes.
        Err(frame::FrameError::Truncated { needed, available }) if header.is_ok() => {
            assert!(needed > available && available == bytes.len(), "truncated {needed}/{available}");
        }
        Err(e) => assert!(header.is_err(), "the header decodes but the frame fails: {e}"),
    }
}

/// A stored or received block: what parses serialises back to the same bytes, and a payload
/// that decompresses has exactly the plain length its header declares. The input is also taken
/// as a block's plaintext: encoded, serialised and parsed back, it decompresses to itself.
pub fn encoded_block(data: &[u8]) {
    if data.len() <= MAX_BLOCK_SIZE {
        let encoded =
            EncodedBlock::compress(data, 1).unwrap_or_else(|e| panic!("encode {} bytes: {e}", data.len()));
        let parsed = EncodedBlock::from_bytes(&encoded.to_bytes())
            .unwrap_or_else(|e| panic!("parse an encoded block: {e}"));
        assert_eq!(
            parsed.decompress().ok().as_deref(),
            Some(data),
            "a block does not decode to its plaintext"
        );
    }
    let Ok(block) = EncodedBlock::from_bytes(data) else { return };
    assert_eq!(block.to_bytes(), data, "a block does not serialise back to its bytes");
    if let Ok(plain) = block.decompress() {
        assert_eq!(
            plain.len() as u64,
            u64::from(block.plain_len),
            "decompressed length differs from the header"
        );
    }
}

/// The tus headers: `Upload-Metadata` and `Upload-Checksum` (each input tried as both) parse
/// to values that encode back to an equal parse, and `Upload-Offset`/`Upload-Length` byte
/// counts are exactly the plain decimal numbers.
pub fn tus_headers(data: &[u8]) {
    if let Some(count) = parse_byte_count(data) {
        assert_eq!(String::from_utf8_lossy(data).trim().parse::<u64>().ok(), Some(count), "byte count");
        assert!(
            data.trim_ascii().iter().all(u8::is_ascii_digit),
            "a byte count with a sign or a space inside"
        );
    }
    // Header values reach the parsers as text (`HeaderValue::to_str`).
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(metadata) = parse_metadata(text) {
        let encoded: Vec<String> = metadata
            .iter()
            .map(|(key, value)| match value {
                Some(value) => format!("{key} {}", STANDARD.encode(value)),
                None => key.clone(),
            })
            .collect();
        let again = parse_metadata(&encoded.join(","))
            .unwrap_or_else(|e| panic!("metadata does not parse once re-encoded: {e}"));
        assert_eq!(again, metadata, "metadata changes when re-encoded");
    }
    if let Ok(checksum) = parse_checksum(text) {
        let again =
            parse_checksum(&format!("{} {}", checksum.algorithm.name(), STANDARD.encode(&checksum.digest)))
                .unwrap_or_else(|e| panic!("a checksum does not parse once re-encoded: {e}"));
        assert_eq!(again, checksum);
        assert_eq!(checksum.algorithm.digest(b"").len(), checksum.digest.len(), "digest length");
    }
}

/// The `Range` header: the first 8 bytes are the file's size, the rest the header. A range that
/// parses holds at least one byte, all of them inside the file.
pub fn range(data: &[u8]) {
    let Some((size, header)) = data.split_first_chunk::<8>() else { return };
    let size = u64::from_le_bytes(*size);
    let Ok(header) = std::str::from_utf8(header) else { return };
    if let Ok(r) = parse_range(header, size) {
        assert!(r.start < r.end && r.end <= size, "range {r:?} of a {size}-byte file");
        assert_eq!(r.len(), r.end - r.start);
    }
}

/// Drive paths: a parsed path is within bounds, has no leading or trailing slash, and is a fixed
/// point (parsing it again, as new or as stored, gives it back); a stored path is never rejected
/// for what parsing as new would accept.
pub fn drive_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(path) = DrivePath::parse(text) {
        let s = path.as_str();
        assert!(s.len() <= MAX_PATH_LEN, "{} bytes", s.len());
        assert!(!s.starts_with('/') && !s.ends_with('/'), "{s:?}");
        assert_eq!(DrivePath::parse(s).ok().as_ref(), Some(&path), "parsing is not idempotent");
        assert_eq!(
            DrivePath::from_stored(s).ok().as_ref(),
            Some(&path),
            "a new path does not read as stored"
        );
        if let Some((parent, name)) = path.split_last() {
            assert!(!name.is_empty() && !name.contains('/'), "{name:?}");
            assert!(s.ends_with(name) && (parent.is_root() || s.starts_with(parent.as_str())));
        }
    }
    if let Ok(stored) = DrivePath::from_stored(text) {
        assert_eq!(DrivePath::from_stored(stored.as_str()).ok().as_ref(), Some(&stored));
    }
}

/// The node's TOML config: any text either parses into a config that validates, or is an
/// error; a config that parses parses the same way again from the same text.
pub fn node_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, base) = (Path::new("fuzz.toml"), Path::new("/fuzz"));
    if let Ok(config) = NodeConfig::parse(text, path, base) {
        assert!(config.id != 0, "a config with node id 0 passed validation");
        assert!(config.data_dir.starts_with(base) || config.data_dir.is_absolute(), "data_dir not resolved");
        let again = NodeConfig::parse(text, path, base).unwrap_or_else(|e| panic!("parses once only: {e}"));
        assert_eq!(again, config);
    }
}
