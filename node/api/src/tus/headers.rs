//! The tus request headers that carry data, parsed without I/O: `Upload-Metadata` (base64
//! key/value pairs), `Upload-Checksum` (an algorithm and a base64 digest) and the HTTP-date of
//! `Upload-Expires`. Kept apart from the handlers so the parsing is tested with plain strings.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Digest;

/// A malformed tus header; the handlers answer it with 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    /// `Upload-Metadata` is not `key base64,key base64,…`.
    #[error("Upload-Metadata: {0}")]
    Metadata(String),
    /// `Upload-Checksum` is not `<algorithm> <base64 digest>`.
    #[error(
        "Upload-Checksum must be `<algorithm> <base64 digest>`, e.g. `sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=`"
    )]
    ChecksumForm,
    /// An algorithm this server does not compute.
    #[error("Upload-Checksum algorithm {0:?} is not supported; use one of {ALGORITHMS}")]
    ChecksumAlgorithm(String),
    /// The digest has the wrong length for its algorithm.
    #[error("Upload-Checksum: a {algorithm} digest has {expected} bytes, not {given}")]
    DigestLength {
        /// The algorithm.
        algorithm: &'static str,
        /// Its digest's length.
        expected: usize,
        /// The decoded length given.
        given: usize,
    },
}

/// The metadata of a creation request: each key's value (absent for a key given alone).
pub type Metadata = BTreeMap<String, Option<Vec<u8>>>;

/// Parses `Upload-Metadata`: comma-separated pairs of a key and its base64 value, or a key
/// alone; keys are unique and hold no spaces or commas.
pub fn parse_metadata(header: &str) -> Result<Metadata, HeaderError> {
    let mut out = Metadata::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((key, value)) => {
                let value = STANDARD
                    .decode(value.trim())
                    .map_err(|_| HeaderError::Metadata(format!("the value of {key:?} is not base64")))?;
                (key, Some(value))
            }
            None => (pair, None),
        };
        if out.insert(key.to_owned(), value).is_some() {
            return Err(HeaderError::Metadata(format!("key {key:?} is given twice")));
        }
    }
    Ok(out)
}

/// The checksum algorithms of `Tus-Checksum-Algorithm`, as the header lists them.
pub const ALGORITHMS: &str = "sha1,sha256,sha512,md5";

/// A checksum algorithm a client may name in `Upload-Checksum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-1: what tuspy sends.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
    /// MD5, which tusd and some clients use.
    Md5,
}

impl Algorithm {
    fn named(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            "md5" => Some(Self::Md5),
            _ => None,
        }
    }

    /// Its name in the header.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Md5 => "md5",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
            Self::Md5 => 16,
        }
    }

    /// The digest of `data`. The SHA family comes from ring, which the node links already.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let ring = |algorithm| ring::digest::digest(algorithm, data).as_ref().to_vec();
        match self {
            Self::Sha1 => ring(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY),
            Self::Sha256 => ring(&ring::digest::SHA256),
            Self::Sha512 => ring(&ring::digest::SHA512),
            Self::Md5 => md5::Md5::digest(data).to_vec(),
        }
    }
}

/// An `Upload-Checksum`: the digest the client computed over the whole PATCH body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The digest, decoded.
    pub digest: Vec<u8>,
}

impl Checksum {
    /// Whether `data` has this digest.
    pub fn matches(&self, data: &[u8]) -> bool {
        self.algorithm.digest(data) == self.digest
    }
}

/// Parses `Upload-Checksum: <algorithm> <base64 digest>`.
pub fn parse_checksum(header: &str) -> Result<Checksum, HeaderError> {
    let (name, digest) = header.trim().split_once(' ').ok_or(HeaderError::ChecksumForm)?;
    let algorithm = Algorithm::named(name).ok_or_else(|| HeaderError::ChecksumAlgorithm(name.to_owned()))?;
    let digest = STANDARD.decode(digest.trim()).map_err(|_| HeaderError::ChecksumForm)?;
    if digest.len() != algorithm.digest_len() {
        return Err(HeaderError::DigestLength {
            algorithm: algorithm.name(),
            expected: algorithm.digest_len(),
            given: digest.len(),
        });
    }
    Ok(Checksum { algorithm, digest })
}

/// The byte count of an `Upload-Offset` or `Upload-Length` header: decimal digits only (tus
/// says a non-negative integer; `+5`, which Rust's integer parsing takes, is refused), with
/// surrounding spaces allowed; `None` for anything else or a count past 64 bits.
pub fn parse_byte_count(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // All ASCII digits, so UTF-8; only overflow is left to fail.
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `ms` since the epoch as an HTTP-date, the form of `Upload-Expires`.
pub fn http_date(ms: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_base64_pairs_and_bare_keys() {
        let parsed = parse_metadata("path L2EvYi50eHQ=, is_confidential,mtime_ms MTIz").unwrap();
        assert_eq!(parsed["path"].as_deref(), Some(&b"/a/b.txt"[..]));
        assert_eq!(parsed["is_confidential"], None);
        assert_eq!(parsed["mtime_ms"].as_deref(), Some(&b"123"[..]));
        assert!(parse_metadata("").unwrap().is_empty());
        assert_eq!(
            parse_metadata("path !!!"),
            Err(HeaderError::Metadata("the value of \"path\" is not base64".into()))
        );
        assert!(parse_metadata("a MQ==,a Mg==").unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn checksums_name_an_algorithm_and_a_digest_of_its_length() {
        // sha1("hello"), as tuspy sends it.
        let sum = parse_checksum("sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=").unwrap();
        assert_eq!(sum.algorithm, Algorithm::Sha1);
        assert!(sum.matches(b"hello"));
        assert!(!sum.matches(b"hellO"));
        let md5 = parse_checksum("md5 XUFAKrxLKna5cZ2REBfFkg==").unwrap();
        assert!(md5.matches(b"hello"));
        let sha256 = parse_checksum("sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=").unwrap();
        assert!(sha256.matches(b"hello"));
        assert_eq!(parse_checksum("crc32 AAAAAA=="), Err(HeaderError::ChecksumAlgorithm("crc32".into())));
        assert_eq!(parse_checksum("sha1"), Err(HeaderError::ChecksumForm));
        assert_eq!(parse_checksum("sha1 %%%"), Err(HeaderError::ChecksumForm));
        assert_eq!(
            parse_checksum("sha1 AAAA"),
            Err(HeaderError::DigestLength { algorithm: "sha1", expected: 20, given: 3 })
        );
        for name in ALGORITHMS.split(',') {
            assert_eq!(Algorithm::named(name).map(Algorithm::name), Some(name));
        }
    }

    #[test]
    fn byte_counts_are_plain_decimal_digits() {
        assert_eq!(parse_byte_count(b"0"), Some(0));
        assert_eq!(parse_byte_count(b" 1048576 "), Some(1_048_576));
        assert_eq!(parse_byte_count(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b""[..], b" ", b"+5", b"-1", b"18446744073709551616", b"1e3", b"0x10", b"\xff1"] {
            assert_eq!(parse_byte_count(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn expiry_dates_are_imf_fixdates() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
