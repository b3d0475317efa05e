//! The block-level upload the SDK uses — delta sync and dedup in three steps:
//! `POST /v1/blocks/missing` (which of these block ids does the drive's account lack?),
//! `PUT /v1/blocks/{id}` (send one, as the client's zstd-or-raw `EncodedBlock`), and
//! `POST /v1/commit` (the new version: path, base version, block list, size, hash). A commit
//! whose base is not the head gets 409 `conflict`; one naming a block the account does not
//! have gets 409 `missing_blocks` with their ids, to send and commit again.
//!
//! Blocks are stored in the namespace owner's account, so an editor of a shared folder writes
//! into the owner's. Dedup must not become a way for the editor to ask what else the owner
//! has: to anyone but the owner, `missing` answers relative only to the blocks of the file the
//! caller is writing (which it can read), and a block `PUT` is read whole and checked against
//! its id before any answer, which is then `written: true` whether or not the owner had it, and
//! records the sender as holding the block. A non-owner's commit may name only blocks of the
//! file's current version and blocks it sent; any other is answered `missing_blocks`, as if the
//! account lacked it (see [`check_held`]).
//!
//! For downloads, `GET /v1/manifest/{path}` lists a version's blocks with their lengths, so a
//! client can fetch the file block by block (as byte ranges of `GET /v1/content`, from any node),
//! check each block against its id, and resume or fail over per block.

use std::collections::HashSet;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use cairn_proto::api::ErrorCode;
use cairn_proto::api::{
    BlockEntry, BlockTarget, Committed, DownloadOptions, Ids, Manifest, Missing, NewCommit, Stored,
};
use cairn_proto::{BlockId, DrivePath, EncodedBlock, MAX_BLOCK_SIZE};
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::drive::{FileStatus, NewVersion, VersionContent};
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::{Answer, Command, Query, Rejection, Response};

use super::auth::Caller;
use super::content::owner_account;
use super::error::ApiError;
use super::extract::{Json as ApiJson, Params};
use super::paths::{self, InNamespace, Place};
use super::upload_limit;
use crate::state::ApiState;

/// Room for an encoded block's header on top of the largest block.
const WIRE_OVERHEAD: usize = 64;

/// The block routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/blocks/missing", post(missing))
        .route("/blocks/{id}", put(put_block))
        .route("/commit", post(commit))
        .route("/manifest/{*path}", get(manifest))
}

pub(crate) fn parse_id(hex: &str) -> Result<BlockId, ApiError> {
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
            ErrorCode::TooLarge,
            format!("at most {MAX_PAGE} ids per call"),
        ));
    }
    let parsed = ids.ids.iter().map(|h| parse_id(h)).collect::<Result<Vec<_>, _>>()?;
    let target = BlockTarget { ns: ids.ns, path: ids.path };
    let place = writable_target(&state, &caller, &target).await?;
    let account = owner_account(&state, place.namespace).await?;
    if !owns(&caller, account) {
        let known = blocks_of_file(&state, place.namespace, &place.path).await?;
        let missing = parsed.iter().filter(|id| !known.contains(id)).map(|id| id.to_hex()).collect();
        return Ok(Json(Missing { missing }));
    }
    // One read barrier, then local reads: as current as a linearizable read of each.
    state.barrier().await?;
    let mut missing = Vec::new();
    for id in parsed {
        match state.meta.local(&Query::Block { account, block: id })? {
            Answer::Block(Some(_)) => {}
            _ => missing.push(id.to_hex()),
        }
    }
    Ok(Json(Missing { missing }))
}

/// Whether `caller` owns `account` (an account is its owner's user id).
fn owns(caller: &Caller, account: cairn_proto::AccountId) -> bool {
    caller.user.id.0 == account.0
}

/// The blocks of the head version of the file at `path`, if there is one: what a caller who
/// can read it may learn the owner's account has.
async fn blocks_of_file(
    state: &ApiState,
    namespace: NamespaceId,
    path: &DrivePath,
) -> Result<HashSet<BlockId>, ApiError> {
    let file = match state.query(Query::Stat { namespace, path: path.clone() }).await? {
        Answer::Stat(Some((_, Some(file)))) if file.status != FileStatus::Trashed => file,
        _ => return Ok(HashSet::new()),
    };
    let version = paths::version_of(state, &file, path, file.head).await?;
    Ok(version.content.blocks.iter().map(|b| b.id).collect())
}

/// Refuses a non-owner's commit of the file at `path` in `namespace` that names a block the
/// caller has not shown it may know of: one neither in the file's current version nor sent by
/// the caller. The refusal is `missing_blocks` with those ids, the answer a commit naming blocks
/// the account lacks gets, so it says nothing about what the account has; a client sends the
/// blocks and commits again. The owner's commits are not checked, and a commit into the
/// caller's own drive costs no read at all.
pub(crate) async fn check_held(
    state: &ApiState,
    caller: &Caller,
    (namespace, path): (NamespaceId, &DrivePath),
    blocks: &[BlockRef],
) -> Result<(), ApiError> {
    if blocks.is_empty() || namespace == caller.user.drive {
        return Ok(());
    }
    let account = owner_account(state, namespace).await?;
    if owns(caller, account) {
        return Ok(());
    }
    let readable = blocks_of_file(state, namespace, path).await?;
    let named: Vec<BlockId> = blocks.iter().map(|b| b.id).filter(|id| !readable.contains(id)).collect();
    if named.is_empty() {
        return Ok(());
    }
    match state.query(Query::Unheld { account, user: caller.user.id, blocks: named }).await? {
        Answer::Unheld(unheld) if unheld.is_empty() => Ok(()),
        Answer::Unheld(unheld) => Err(Rejection::MissingBlocks(unheld).into()),
        other => Err(ApiError::internal(format!("unexpected answer to an unheld query: {other:?}"))),
    }
}

/// Checks that the caller may write where the blocks are going: a block is stored in the
/// namespace owner's account, so an editor of one shared folder may store blocks only for files
/// inside it.
async fn writable_target(state: &ApiState, caller: &Caller, target: &BlockTarget) -> Result<Place, ApiError> {
    let path = match &target.path {
        Some(raw) => paths::parse(raw)?,
        None => cairn_proto::DrivePath::root(),
    };
    paths::place(state, caller, &InNamespace { ns: target.ns }, path, true).await
}

/// `PUT /v1/blocks/{id}`: the body is the block as `EncodedBlock` bytes.
pub async fn put_block(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(target): Params<BlockTarget>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    let id = parse_id(&id)?;
    let place = writable_target(&state, &caller, &target).await?;
    let account = owner_account(&state, place.namespace).await?;
    let limit = MAX_BLOCK_SIZE + WIRE_OVERHEAD;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("a block is at most {MAX_BLOCK_SIZE} bytes"),
        )
    };
    // The body is held whole until the block layer has checked and stored it.
    let (wire, _memory) =
        upload_limit::read_whole(&state.inflight, &headers, body, limit, 1, too_large).await?;
    if !owns(&caller, account) {
        // Checked here, before the block layer looks for the block, so the answer to a
        // non-owner is the same whether or not the owner's account has it.
        let checked = wire.clone();
        tokio::task::spawn_blocking(move || EncodedBlock::from_bytes(&checked)?.verify(&id))
            .await
            .map_err(|e| ApiError::internal(format!("verification task failed: {e}")))?
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidBlock, e.to_string()))?;
        state.blocks.put(account, id, wire).await?;
        state.propose(Command::HoldBlock { account, block: id, user: caller.user.id }).await?;
        return Ok((StatusCode::CREATED, Json(Stored { written: true })));
    }
    let stored = state.blocks.put(account, id, wire).await?;
    let status = if stored.written { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(Stored { written: stored.written })))
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
    check_held(&state, &caller, (place.namespace, &place.path), &blocks).await?;
    let version = NewVersion {
        namespace: place.namespace,
        path: place.path,
        base: new.base,
        content: VersionContent {
            blocks,
            size: new.size,
            hash,
            mtime_ms: new.mtime_ms.unwrap_or_else(|| state.clock.now_ms()),
            device: None,
            // The blocks' lengths are checked against their records; the hash is the client's
            // word, not read back (that would make a commit cost a read of the whole file).
            hash_verified: false,
        },
        author: caller.user.id,
        status: FileStatus::Complete,
    };
    match state.propose(Command::CommitVersion(version)).await? {
        Response::Committed { file, version, seq } => Ok(Json(Committed { file: file.0, version, seq })),
        other => Err(ApiError::internal(format!("unexpected answer to a commit: {other:?}"))),
    }
}

/// `GET /v1/manifest/{path}`: the blocks of the head version, or of `?version=`.
pub async fn manifest(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(options): Params<DownloadOptions>,
) -> Result<Json<Manifest>, ApiError> {
    let path = paths::parse(&raw)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: options.ns }, path, false).await?;
    let file = paths::file_at(&state, &place).await?;
    let version = paths::version_of(&state, &file, &place.path, options.version.unwrap_or(file.head)).await?;
    Ok(Json(Manifest {
        path: place.path.as_str().to_owned(),
        file: file.id.0,
        version: version.version,
        size: version.content.size,
        hash: hex::encode(version.content.hash),
        blocks: version.content.blocks.iter().map(|b| BlockEntry { id: b.id.to_hex(), len: b.len }).collect(),
        hash_verified: version.content.hash_verified,
    }))
}
