//! The metadata backup file: a small header, then the packed state machine (a tar file).
//!
//! ```text
//! "CAIRN-METADATA-BACKUP\n"   the marker, 22 bytes
//! header length               u32, big-endian
//! header                      JSON (BackupHeader)
//! blake3(header)              32 bytes
//! body                        the packed state machine (tar), `body_len` bytes
//! ```
//!
//! The magic line says what the file is to a person running `head` on it and to `restore`
//! before it trusts anything else. The header is JSON so an operator can read it, and it carries
//! its own hash: a flipped byte in the header (say, in the index) is refused, not believed. The
//! header names the body's length and hash, so a truncated or corrupt body is refused before a
//! single byte of it is installed. The format version is the header's first field; a reader
//! refuses a version newer than its own with a message that says so.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use cairn_raft::NodeId;
use serde::{Deserialize, Serialize};

/// The first bytes of every backup file.
pub const MAGIC: &[u8] = b"CAIRN-METADATA-BACKUP\n";

/// The format this build writes and the newest it reads.
pub const FORMAT: u32 = 1;

/// The longest header accepted: a header is a few hundred bytes; more means a corrupt length.
const MAX_HEADER_LEN: u32 = 64 * 1024;

/// What a backup says of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// The file format version ([`FORMAT`] when written by this build).
    pub format: u32,
    /// The SHA-256 fingerprint of the cluster CA's certificate, `aa:bb:…`: which cluster this is
    /// a backup of, and whose secrets a restore needs.
    pub cluster_ca: Option<String>,
    /// The index of the last Raft log entry the backup holds.
    pub index: u64,
    /// The term of that entry.
    pub term: u64,
    /// The node that took it.
    pub node: NodeId,
    /// When it was taken, in ms since the Unix epoch.
    pub taken_ms: u64,
    /// The same, for people.
    pub taken: String,
    /// The body's length in bytes.
    pub body_len: u64,
    /// The body's blake3 hash, hex.
    pub body_blake3: String,
}

/// Why a file is not a usable backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not start like a backup.
    #[error("{0} is not a cairn metadata backup (it does not start with the backup marker)")]
    NotABackup(PathBuf),
    /// The file ends early.
    #[error("{path} is truncated: {what}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// The header does not match its hash, or does not parse.
    #[error("{path}: the backup's header is corrupt ({why})")]
    HeaderCorrupt {
        /// The file.
        path: PathBuf,
        /// What was found wrong.
        why: String,
    },
    /// Written by a newer cairn.
    #[error(
        "{path} is a backup of format {found}; this cairn-node reads format {FORMAT} and older: use a newer cairn-node"
    )]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u32,
    },
    /// The body does not match the hash in the header.
    #[error("{path}: the backup's content is corrupt (blake3 {found}, the header says {expected})")]
    BodyCorrupt {
        /// The file.
        path: PathBuf,
        /// The hash the header names.
        expected: String,
        /// The hash of what is there.
        found: String,
    },
    /// More bytes than the header accounts for.
    #[error("{path} has {extra} bytes after the backup's end: it was appended to, or is not one file")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// How many.
        extra: u64,
    },
}

/// A backup whose header and body were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Its header.
    pub header: BackupHeader,
    /// Where its body starts in the file.
    pub body_offset: u64,
}

/// The bytes that precede the body: the marker, the header's length, the header, its hash.
pub fn encode_prefix(header: &BackupHeader) -> Vec<u8> {
    // A struct of strings and integers always serialises.
    let json = serde_json::to_vec_pretty(header).unwrap_or_default();
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(blake3::hash(&json).as_bytes());
    out
}

/// Reads and checks the prefix from `reader`; returns the header and the prefix's length.
pub fn read_prefix(reader: &mut impl Read, path: &Path) -> Result<(BackupHeader, u64), BackupFileError> {
    let truncated = |what: &str| BackupFileError::Truncated { path: path.to_owned(), what: what.to_owned() };
    let mut magic = vec![0u8; MAGIC.len()];
    let got = read_up_to(reader, &mut magic, path)?;
    if magic[..got] != MAGIC[..got] {
        return Err(BackupFileError::NotABackup(path.to_owned()));
    }
    if got < MAGIC.len() {
        return Err(truncated("it ends inside the backup marker"));
    }
    let mut len = [0u8; 4];
    if read_up_to(reader, &mut len, path)? < len.len() {
        return Err(truncated("it ends before the header's length"));
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_HEADER_LEN {
        return Err(BackupFileError::HeaderCorrupt {
            path: path.to_owned(),
            why: format!("a header of {len} bytes, more than the {MAX_HEADER_LEN} allowed"),
        });
    }
    let mut json = vec![0u8; len as usize];
    if read_up_to(reader, &mut json, path)? < json.len() {
        return Err(truncated("it ends inside the header"));
    }
    let mut hash = [0u8; 32];
    if read_up_to(reader, &mut hash, path)? < hash.len() {
        return Err(truncated("it ends inside the header's hash"));
    }
    if blake3::hash(&json).as_bytes() != &hash {
        return Err(BackupFileError::HeaderCorrupt {
            path: path.to_owned(),
            why: "it does not match its hash".into(),
        });
    }
    // The version first, alone: a newer header may not parse as this build's struct.
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format = serde_json::from_slice(&json)
        .map_err(|e| BackupFileError::HeaderCorrupt { path: path.to_owned(), why: e.to_string() })?;
    if format.format > FORMAT {
        return Err(BackupFileError::NewerFormat { path: path.to_owned(), found: format.format });
    }
    let header: BackupHeader = serde_json::from_slice(&json)
        .map_err(|e| BackupFileError::HeaderCorrupt { path: path.to_owned(), why: e.to_string() })?;
    Ok((header, (MAGIC.len() + 4 + json.len() + 32) as u64))
}

/// Checks the backup at `path` whole: its header, its length, and its body's hash.
pub fn verify(path: &Path) -> Result<Verified, BackupFileError> {
    let io = |source| BackupFileError::Io { path: path.to_owned(), source };
    let file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (header, body_offset) = read_prefix(&mut reader, path)?;
    let have = file_len - body_offset;
    if have < header.body_len {
        return Err(BackupFileError::Truncated {
            path: path.to_owned(),
            what: format!("{have} of the {} bytes of content are there", header.body_len),
        });
    }
    if have > header.body_len {
        return Err(BackupFileError::TrailingBytes { path: path.to_owned(), extra: have - header.body_len });
    }
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut (&mut reader).take(header.body_len), &mut hasher).map_err(io)?;
    let found = hasher.finalize().to_hex().to_string();
    if found != header.body_blake3 {
        return Err(BackupFileError::BodyCorrupt {
            path: path.to_owned(),
            expected: header.body_blake3.clone(),
            found,
        });
    }
    Ok(Verified { header, body_offset })
}

/// The body of a verified backup, for unpacking.
pub fn open_body(path: &Path, verified: &Verified) -> Result<impl Read + use<>, BackupFileError> {
    let io = |source| BackupFileError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(verified.body_offset)).map_err(io)?;
    Ok(BufReader::with_capacity(1 << 20, file).take(verified.header.body_len))
}

/// Fills as much of `buf` as the reader has; returns how much.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<usize, BackupFileError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(BackupFileError::Io { path: path.to_owned(), source }),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(body: &[u8]) -> BackupHeader {
        BackupHeader {
            format: FORMAT,
            cluster_ca: Some("ab:cd".into()),
            index: 1234,
            term: 5,
            node: 2,
            taken_ms: 1_767_225_600_000,
            taken: "Thu, 01 Jan 2026 00:00:00 GMT".into(),
            body_len: body.len() as u64,
            body_blake3: blake3::hash(body).to_hex().to_string(),
        }
    }

    fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join("backup");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn file(body: &[u8]) -> Vec<u8> {
        let mut bytes = encode_prefix(&header(body));
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn a_written_backup_verifies_and_its_body_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"the packed state".repeat(1000);
        let path = write(dir.path(), &file(&body));
        let verified = verify(&path).unwrap();
        assert_eq!(verified.header, header(&body));
        let mut read = Vec::new();
        open_body(&path, &verified).unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, body);
    }

    #[test]
    fn every_truncation_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = file(b"the packed state");
        for cut in 1..bytes.len() {
            let path = write(dir.path(), &bytes[..cut]);
            match verify(&path) {
                Err(BackupFileError::Truncated { .. }) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let path = write(dir.path(), b"");
        assert!(matches!(verify(&path), Err(BackupFileError::Truncated { .. })));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = file(b"the packed state");
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            let path = write(dir.path(), &bad);
            assert!(verify(&path).is_err(), "a flipped byte at {at} passed");
        }
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let path = write(dir.path(), &bad);
        assert!(matches!(verify(&path), Err(BackupFileError::BodyCorrupt { .. })));
    }

    #[test]
    fn other_files_newer_formats_and_appended_bytes_are_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), b"PK\x03\x04 a zip file, say");
        assert!(matches!(verify(&path), Err(BackupFileError::NotABackup(_))));

        let body = b"state";
        let mut newer = encode_prefix(&BackupHeader { format: FORMAT + 1, ..header(body) });
        newer.extend_from_slice(body);
        let path = write(dir.path(), &newer);
        let error = verify(&path).unwrap_err();
        assert!(matches!(error, BackupFileError::NewerFormat { found, .. } if found == FORMAT + 1));
        assert!(error.to_string().contains("use a newer cairn-node"), "{error}");

        let mut appended = file(body);
        appended.extend_from_slice(b"more");
        let path = write(dir.path(), &appended);
        assert!(matches!(verify(&path), Err(BackupFileError::TrailingBytes { extra: 4, .. })));
    }
}
