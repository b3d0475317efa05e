//! The block-level upload and download the SDK uses: which blocks are missing, send one,
//! commit a version from blocks; and a version's manifest (its block list), to fetch and verify
//! block by block.

use serde::{Deserialize, Serialize};

/// `POST /v1/blocks/missing` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ids {
    /// Block ids, hex; at most 1 000.
    pub ids: Vec<String>,
    /// A namespace other than the caller's drive (its owner's account is asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// Where the blocks are going: the caller must be able to write there (an editor of a
    /// shared folder writes only inside it). Default: the namespace's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The query string of `PUT /v1/blocks/{id}`: where the block is going, as in [`Ids`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockTarget {
    /// A namespace other than the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// The file the block is for; default: the namespace's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The ids the account lacks, in the order asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Missing {
    /// Block ids, hex.
    pub missing: Vec<String>,
}

/// What storing a block answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// False when the account had it already.
    pub written: bool,
}

/// One block of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockEntry {
    /// The block id, hex.
    pub id: String,
    /// Its plaintext length.
    pub len: u32,
}

/// `POST /v1/commit` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCommit {
    /// The file's path.
    pub path: String,
    /// The head version this change is based on; absent or null for a new file.
    pub base: Option<u64>,
    /// The content, block by block.
    pub blocks: Vec<BlockEntry>,
    /// Total size.
    pub size: u64,
    /// blake3 of the whole content, hex.
    pub hash: String,
    /// Modification time on the device (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ms: Option<u64>,
    /// A namespace other than the caller's drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
}

/// What a commit answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Committed {
    /// The file's id.
    pub file: u64,
    /// The new version.
    pub version: u64,
    /// The caller's journal position of the change.
    pub seq: u64,
}

/// What `GET /v1/manifest/{path}` answers: one version's content, block by block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The file's path.
    pub path: String,
    /// The file's id.
    pub file: u64,
    /// The version described.
    pub version: u64,
    /// Its size.
    pub size: u64,
    /// blake3 of its whole content, hex.
    pub hash: String,
    /// Its blocks, in file order; each one's bytes hash (blake3) to its id.
    pub blocks: Vec<BlockEntry>,
    /// Whether a node computed `hash` from the content (a simple upload, a tus upload); a
    /// commit of a block list carries the client's word for it. Absent from older nodes.
    #[serde(default)]
    pub hash_verified: bool,
}

/// `POST /v1/uploads/{id}/commit` body: completes an upload session (begun with tus creation)
/// from blocks the client stored itself with the block-level upload, rather than by `PATCH`.
/// Until then the file shows as `uploading`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCommit {
    /// The blocks after those the session has (all of them, for a session fed only this way).
    pub blocks: Vec<BlockEntry>,
    /// blake3 of the whole content, hex.
    pub hash: String,
}
