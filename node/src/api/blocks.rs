//! The block-level upload the SDK uses — delta sync and dedup in three steps:
//! `POST /v1/blocks/missing` (which of these block ids does the drive's account lack?),
//! `PUT /v1/blocks/{id}` (send one, as the client's zstd-or-raw `EncodedBlock`), and
//! `POST /v1/commit` (the new version: path, base version, block list, size, hash). A commit
//! whose base is not the head gets 409 `conflict`; one naming a block the account does not
//! have gets 409 `missing_blocks` with their ids, to send and commit again.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use bytes::Bytes;
use cairn_proto::{BlockId, MAX_BLOCK_SIZE};
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::drive::{FileStatus, NewVersion};
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::{Answer, Command, Query, Response};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::content::owner_account;
use super::error::ApiError;
use super::extract::{Json as ApiJson, Params};
use super::paths::{self, InNamespace};

/// Room for an encoded block's header on top of the largest block.
const WIRE_OVERHEAD: usize = 64;

/// The block routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/blocks/missing", post(missing))
        .route("/blocks/{id}", put(put_block))
        .route("/commit", post(commit))
}

/// `POST /v1/blocks/missing` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ids {
    /// Block ids, hex; at most 1 000.
    pub ids: Vec<String>,
    /// A namespace other than the caller's drive (its owner's account is asked).
    pub ns: Option<u64>,
}

/// The ids the account lacks, in the order asked.
#[derive(Debug, Serialize, Deserialize)]
pub struct Missing {
    /// Block ids, hex.
    pub missing: Vec<String>,
}

fn parse_id(hex: &str) -> Result<BlockId, ApiError> {
    let bytes =
        hex::decode(hex).map_err(|_| ApiError::bad_request(format!("{hex:?} is not a hex block id")))?;
    BlockId::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("{hex:?}: {e}")))
}

/// `POST /v1/blocks/missing`.
pub async fn missing(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(ids): ApiJson<Ids>,
) -> Result<Json<Missing>, ApiError> {
    if ids.ids.len() > MAX_PAGE {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("at most {MAX_PAGE} ids per call"),
        ));
    }
    let parsed = ids.ids.iter().map(|h| parse_id(h)).collect::<Result<Vec<_>, _>>()?;
    let place =
        paths::place(&state, &caller, &InNamespace { ns: ids.ns }, cairn_proto::DrivePath::root(), true)
            .await?;
    let account = owner_account(&state, place.namespace).await?;
    // One read barrier, then local reads: as current as a linearizable read of each.
    state.meta.read_barrier().await?;
    let mut missing = Vec::new();
    for id in parsed {
        match state.meta.local(&Query::Block { account, block: id })? {
            Answer::Block(Some(_)) => {}
            _ => missing.push(id.to_hex()),
        }
    }
    Ok(Json(Missing { missing }))
}

/// What storing a block answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stored {
    /// False when the account had it already.
    pub written: bool,
}

/// `PUT /v1/blocks/{id}`: the body is the block as `EncodedBlock` bytes.
pub async fn put_block(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(ns): Params<InNamespace>,
    body: Body,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    let id = parse_id(&id)?;
    let place = paths::place(&state, &caller, &ns, cairn_proto::DrivePath::root(), true).await?;
    let account = owner_account(&state, place.namespace).await?;
    let wire: Bytes = axum::body::to_bytes(body, MAX_BLOCK_SIZE + WIRE_OVERHEAD).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a block is at most {MAX_BLOCK_SIZE} bytes"),
        )
    })?;
    let stored = state.blocks.put(account, id, wire).await?;
    let status = if stored.written { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(Stored { written: stored.written })))
}

/// One block of a commit.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockEntry {
    /// The block id, hex.
    pub id: String,
    /// Its plaintext length.
    pub len: u32,
}

/// `POST /v1/commit` body.
#[derive(Debug, Deserialize)]
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
    pub mtime_ms: Option<u64>,
    /// A namespace other than the caller's drive.
    pub ns: Option<u64>,
}

/// What a commit answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Committed {
    /// The file's id.
    pub file: u64,
    /// The new version.
    pub version: u64,
    /// The caller's journal position of the change.
    pub seq: u64,
}

/// `POST /v1/commit`.
pub async fn commit(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewCommit>,
) -> Result<Json<Committed>, ApiError> {
    let path = paths::parse(&new.path)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: new.ns }, path, true).await?;
    let blocks = new
        .blocks
        .iter()
        .map(|b| Ok(BlockRef { id: parse_id(&b.id)?, len: b.len }))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let hash: [u8; 32] = hex::decode(&new.hash)
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("hash must be 64 hex digits (blake3)"))?;
    let version = NewVersion {
        namespace: place.namespace,
        path: place.path,
        base: new.base,
        blocks,
        size: new.size,
        hash,
        mtime_ms: new.mtime_ms.unwrap_or_else(crate::block_service::repair::now_ms),
        device: None,
        author: caller.user.id,
        status: FileStatus::Complete,
    };
    match state.propose(Command::CommitVersion(version)).await? {
        Response::Committed { file, version, seq } => Ok(Json(Committed { file: file.0, version, seq })),
        other => Err(ApiError::internal(format!("unexpected answer to a commit: {other:?}"))),
    }
}
