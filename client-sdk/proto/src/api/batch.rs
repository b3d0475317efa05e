//! Many files in one request (`POST /v1/batch`): each file either with its content (small
//! files: sealed by the node, kept in metadata when they fit) or with the block list of blocks
//! the account already has, all committed in one Raft entry. Each file succeeds or fails on
//! its own, and the answer lists the outcomes in the order sent.

use serde::{Deserialize, Deserializer, Serialize};

use super::blocks::BlockEntry;
use super::content::Uploaded;
use super::error::ErrorBody;

/// The most files one batch takes.
pub const MAX_BATCH_FILES: usize = 1000;

/// The largest body of a batch: its content travels as base64 inside JSON.
pub const MAX_BATCH_BODY: usize = 16 * 1024 * 1024;

/// The body of `POST /v1/batch`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// A namespace other than the caller's drive, for every file of the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// The files, at most [`MAX_BATCH_FILES`], each path once.
    pub files: Vec<BatchFile>,
}

/// One file of a batch: `content`, or `blocks` with `size` and `hash`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// The file's path.
    pub path: String,
    /// What the change is based on: absent for whatever the head is now (an unconditional
    /// upload), `null` for a new file only, a version number for that head only.
    #[serde(default, skip_serializing_if = "Base::is_head", deserialize_with = "base")]
    pub base: Base,
    /// The whole content, base64 (standard alphabet, padded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Or the content as blocks the account has (see `POST /v1/commit`)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<BlockEntry>>,
    /// …with the total size…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// …and blake3 of the whole content, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Modification time on the device (ms since the epoch); default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ms: Option<u64>,
}

/// What a file of a batch is committed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Base {
    /// Whatever the head is when the batch is read (`base` absent).
    #[default]
    Head,
    /// No file there yet (`"base": null`).
    New,
    /// This head version (`"base": 3`).
    Version(u64),
}

impl Base {
    fn is_head(&self) -> bool {
        *self == Base::Head
    }
}

impl Serialize for Base {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Skipped by the field; were it not, the head is "no precondition".
            Base::Head | Base::New => serializer.serialize_none(),
            Base::Version(v) => serializer.serialize_some(v),
        }
    }
}

/// A present `base` field: `null` is [`Base::New`], a number that version (an absent field is
/// the default, [`Base::Head`]).
fn base<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Base, D::Error> {
    Ok(Option::<u64>::deserialize(deserializer)?.map_or(Base::New, Base::Version))
}

/// The answer to a batch: one outcome per file, in the order sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchDone {
    /// The outcomes.
    pub files: Vec<BatchOutcome>,
}

/// What became of one file of a batch: `uploaded` or `error`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// The path as sent.
    pub path: String,
    /// The HTTP status the file would have had alone: 201 for a first version, 200 for a later
    /// one, else the error's.
    pub status: u16,
    /// The version committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<Uploaded>,
    /// Or why not, as a failed call would have said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_is_absent_null_or_a_version() {
        let file = |json: &str| serde_json::from_str::<BatchFile>(json).unwrap().base;
        assert_eq!(file(r#"{"path":"/a"}"#), Base::Head);
        assert_eq!(file(r#"{"path":"/a","base":null}"#), Base::New);
        assert_eq!(file(r#"{"path":"/a","base":7}"#), Base::Version(7));
        for base in [Base::Head, Base::New, Base::Version(7)] {
            let sent = BatchFile { path: "/a".into(), base, ..Default::default() };
            let back: BatchFile = serde_json::from_str(&serde_json::to_string(&sent).unwrap()).unwrap();
            assert_eq!(back.base, base);
        }
    }
}
