//! File content: simple upload (`PUT /v1/content/...`) and download (`GET`, with `Range`,
//! `ETag` and `?version=`).
//!
//! An upload streams the body (at most `network.api_max_upload_bytes`, see [`super::upload_limit`])
//! through the content-defined chunker, stores each chunk as a block
//! (compressed, sealed, erasure-coded; an account's existing blocks are not stored again) and
//! commits the version conditionally. A file of one block small enough to be kept in metadata
//! (`storage.inline_max_bytes`) is sealed and proposed with its commit, in one Raft entry: `If-Match: "<version>"` names the version the change is
//! based on and gets 409 when the head moved; `If-None-Match: *` creates only. A download reads
//! the version's block list linearizably and streams the blocks, each one verified by the block
//! layer, fetching the next block while the current one is sent.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use bytes::Bytes;
use cairn_proto::DrivePath;
use cairn_proto::api::ErrorCode;
use cairn_proto::api::{DownloadOptions, UploadOptions, Uploaded};
use cairn_proto::encoded_block::DEFAULT_ZSTD_LEVEL;
use cairn_proto::{AccountId, AsyncStreamChunker, EncodedBlock};
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::drive::{FileStatus, NewVersion, VersionContent};
use cairn_raft::model::ids::{NamespaceId, UserId};
use cairn_raft::model::{Answer, Command, Query, Response};
use futures_util::StreamExt;
use tokio::io::AsyncRead;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Params;
use super::inflight;
use super::paths::{self, InNamespace, Place};
use super::range::{RangeError, parse_range};
use super::upload_limit;
use crate::state::ApiState;

/// Blocks fetched ahead of the one being sent. Each is counted in the API's memory budget
/// ([`inflight`]) from before it is read until the connection has written it, so a slow
/// reader holds at most this many blocks and the one being written, and all slow readers
/// together no more than the budget.
const READ_AHEAD: usize = 2;

/// Memory a streaming upload holds while the chunker cuts it: the chunker's buffer of two
/// largest blocks, the block being stored and its compressed copy.
pub(crate) const STREAMING_UPLOAD_BYTES: u64 = 4 * cairn_proto::MAX_BLOCK_SIZE as u64;

/// `PUT /v1/content/{path}`: stores the body as a new version of the file.
pub async fn upload(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(options): Params<UploadOptions>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, HeaderMap, axum::Json<Uploaded>), ApiError> {
    let path = paths::parse(&raw)?;
    if path.is_root() {
        return Err(ApiError::bad_request("the root is a folder"));
    }
    let base = precondition(&headers)?;
    upload_limit::check_declared(&headers, state.max_upload_bytes)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: options.ns }, path, true).await?;
    let account = owner_account(&state, place.namespace).await?;

    // A body of declared length holds at most itself, cut, compressed and sealed: a small
    // file must not take a large file's share of the budget, or a few would queue the rest.
    let holds = upload_limit::declared(&headers)
        .map_or(STREAMING_UPLOAD_BYTES, |len| STREAMING_UPLOAD_BYTES.min(len.saturating_mul(3) + 4096));
    let _memory = state.inflight.reserve(holds).await?;
    let reader = tokio_util::io::StreamReader::new(upload_limit::limited(body, state.max_upload_bytes));
    let sealed = seal(&state, account, reader).await?;
    let base = match base {
        Precondition::Version(v) => Some(v),
        Precondition::Absent => None,
        // Unconditional: based on whatever is the head now; a commit racing it still loses
        // cleanly with 409 rather than overwriting silently.
        Precondition::None => head(&state, &place).await?,
    };
    let mtime_ms = options.mtime_ms.unwrap_or_else(|| state.clock.now_ms());
    let commands = sealed.commands(&place, base, mtime_ms, caller.user.id);
    let responses = state.propose_together(commands).await?;
    let uploaded = sealed.uploaded(&state, responses)?;
    let mut out = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&etag_of(&sealed.hash)) {
        out.insert(header::ETAG, etag);
    }
    let status = if base.is_none() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, out, axum::Json(uploaded)))
}

/// Content ready to commit: cut into blocks and stored, or (one small block) sealed to go into
/// metadata with its commit.
pub(crate) struct Sealed {
    pub(crate) blocks: Vec<BlockRef>,
    pub(crate) size: u64,
    pub(crate) hash: [u8; 32],
    /// Whether this node hashed the bytes itself (rather than taking a client's word).
    pub(crate) hash_verified: bool,
    /// For a file of one block small enough: the command that keeps the block in metadata,
    /// proposed in the commit's own entry.
    pub(crate) inline: Option<Command>,
    /// Blocks the account lacked, stored already.
    pub(crate) blocks_written: u64,
}

impl Sealed {
    /// The commands that commit this content at `place` on `base`, in the order they must
    /// apply: the inline block's registration first.
    pub(crate) fn commands(
        &self,
        place: &Place,
        base: Option<u64>,
        mtime_ms: u64,
        author: UserId,
    ) -> Vec<Command> {
        let new = NewVersion {
            namespace: place.namespace,
            path: place.path.clone(),
            base,
            content: VersionContent {
                blocks: self.blocks.clone(),
                size: self.size,
                hash: self.hash,
                mtime_ms,
                device: None,
                hash_verified: self.hash_verified,
            },
            author,
            status: FileStatus::Complete,
        };
        self.inline.iter().cloned().chain([Command::CommitVersion(new)]).collect()
    }

    /// What the answers to [`Self::commands`] say: the version committed, or the refusal.
    pub(crate) fn uploaded(&self, state: &ApiState, responses: Vec<Response>) -> Result<Uploaded, ApiError> {
        let mut blocks_written = self.blocks_written;
        let mut responses = responses.into_iter();
        if self.inline.is_some()
            && let Some(Response::BlockRegistered { fresh, .. }) = responses.next()
        {
            state.blocks.inline_registered(fresh, self.size as u32);
            blocks_written += u64::from(fresh);
        }
        match responses.next() {
            Some(Response::Committed { file, version, seq }) => Ok(Uploaded {
                file: file.0,
                version,
                size: self.size,
                hash: hex::encode(self.hash),
                seq,
                blocks_written,
            }),
            Some(Response::Rejected(why)) => Err(why.into()),
            other => Err(ApiError::internal(format!("unexpected answer to a commit: {other:?}"))),
        }
    }
}

/// Cuts everything `reader` yields into blocks and stores each in `account`, but a file of one
/// small block, which is sealed for metadata instead (see [`Sealed::inline`]).
pub(crate) async fn seal<R: AsyncRead + Unpin>(
    state: &ApiState,
    account: AccountId,
    reader: R,
) -> Result<Sealed, ApiError> {
    let mut chunker = AsyncStreamChunker::new(reader);
    let mut blocks = Vec::new();
    let mut size = 0u64;
    let mut hasher = blake3::Hasher::new();
    // Each block is stored once the next one is cut, so the last is still in hand when the
    // body ends: a file of one small block goes into the commit's own Raft entry instead.
    let mut last: Option<(cairn_proto::BlockId, Bytes)> = None;
    let mut blocks_written = 0u64;
    while let Some(chunk) = chunker.next_chunk().await.map_err(upload_limit::read_error)? {
        hasher.update(&chunk.data);
        let len = chunk.data.len();
        let (id, data) = (chunk.id, chunk.data);
        let wire = tokio::task::spawn_blocking(move || {
            EncodedBlock::raw(data).map(|b| b.into_compressed(DEFAULT_ZSTD_LEVEL).to_bytes())
        })
        .await
        .map_err(|e| ApiError::internal(format!("compression task failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("compress a block: {e}")))?;
        if let Some((id, wire)) = last.replace((id, Bytes::from(wire))) {
            blocks_written += u64::from(state.blocks.put(account, id, wire).await?.written);
        }
        blocks.push(BlockRef { id, len: len as u32 });
        size += len as u64;
    }
    let mut inline = None;
    if let Some((id, wire)) = last {
        if blocks.len() == 1 {
            inline = state.blocks.inline_command(account, id, size, wire.clone()).await?;
        }
        if inline.is_none() {
            blocks_written += u64::from(state.blocks.put(account, id, wire).await?.written);
        }
    }
    let hash = *hasher.finalize().as_bytes();
    // This node hashed the bytes as they came.
    Ok(Sealed { blocks, size, hash, hash_verified: true, inline, blocks_written })
}

enum Precondition {
    None,
    Version(u64),
    Absent,
}

fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    if let Some(value) = headers.get(header::IF_MATCH) {
        let text = value.to_str().unwrap_or_default().trim().trim_matches('"');
        return text
            .parse::<u64>()
            .map(Precondition::Version)
            .map_err(|_| ApiError::bad_request("If-Match must name a version: If-Match: \"3\""));
    }
    match headers.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) {
        Some(b"*") => Ok(Precondition::Absent),
        Some(_) => Err(ApiError::bad_request("an upload accepts only If-None-Match: *")),
        None => Ok(Precondition::None),
    }
}

pub(crate) async fn head(state: &ApiState, place: &Place) -> Result<Option<u64>, ApiError> {
    match state.query(Query::Stat { namespace: place.namespace, path: place.path.clone() }).await? {
        // A trashed file has no head to replace: the upload brings it back anew.
        Answer::Stat(Some((_, Some(file)))) if file.status == FileStatus::Trashed => Ok(None),
        Answer::Stat(Some((_, Some(file)))) => Ok(Some(file.head)),
        Answer::Stat(Some((_, None))) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::WrongKind,
            format!("{} is a folder", place.path),
        )),
        _ => Ok(None),
    }
}

/// The account a namespace's blocks are stored in: its owner's.
pub(crate) async fn owner_account(state: &ApiState, namespace: NamespaceId) -> Result<AccountId, ApiError> {
    match state.query(Query::Namespace(namespace)).await? {
        Answer::Namespace(Some(ns)) => Ok(AccountId(ns.owner.0)),
        _ => Err(ApiError::not_found(format!("no namespace {}", namespace.0))),
    }
}

fn etag_of(hash: &[u8; 32]) -> String {
    format!("\"{}\"", hex::encode(hash))
}

/// `GET /v1/content/{path}`: the file's content, whole or a byte range.
pub async fn download(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    Params(options): Params<DownloadOptions>,
    headers: HeaderMap,
) -> Result<HttpResponse, ApiError> {
    download_at(state, caller, paths::parse(&raw)?, options, headers).await
}

/// [`download`] for a path already checked: one that came in through [`paths::parse`], or one
/// the drive stored (a link's target), which must not be held to rules newer than itself.
pub async fn download_at(
    state: ApiState,
    caller: Caller,
    path: DrivePath,
    options: DownloadOptions,
    headers: HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let place = paths::place(&state, &caller, &InNamespace { ns: options.ns }, path, false).await?;
    let file = paths::file_at(&state, &place).await?;
    let version = paths::version_of(&state, &file, &place.path, options.version.unwrap_or(file.head)).await?;
    let wanted = version.version;
    let etag = etag_of(&version.content.hash);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(value) => match parse_range(value.to_str().unwrap_or_default(), version.content.size) {
            Ok(range) => Some((range.start, range.end)),
            Err(RangeError::Unsatisfiable) => {
                let mut response = ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    ErrorCode::BadRange,
                    format!("the file has {} bytes", version.content.size),
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{}", version.content.size)) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return Ok(response);
            }
            Err(why @ RangeError::Malformed) => {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRange, why.to_string()));
            }
        },
    };
    let (start, end) = range.unwrap_or((0, version.content.size));
    let account = owner_account(&state, place.namespace).await?;

    // The blocks overlapping [start, end), each with the part of it to send.
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    for block in &version.content.blocks {
        let (from, to) = (offset, offset + u64::from(block.len));
        if to > start && from < end {
            let skip = start.saturating_sub(from) as usize;
            let take = (end.min(to) - from.max(start)) as usize;
            pieces.push((*block, skip, take));
        }
        offset = to;
    }
    let (blocks, inflight) = (state.blocks.clone(), state.inflight.clone());
    let stream = futures_util::stream::iter(pieces)
        .map(move |(block, skip, take)| {
            let (blocks, inflight) = (blocks.clone(), inflight.clone());
            async move {
                let failed = |e: ApiError| std::io::Error::other(e.message);
                // Counted from before the read until the connection has written the block.
                let memory = inflight.reserve(u64::from(block.len)).await.map_err(failed)?;
                let plain = blocks.get(account, block.id).await.map_err(|e| failed(e.into()))?;
                if plain.len() != block.len as usize {
                    return Err(std::io::Error::other(format!("block {} has the wrong length", block.id)));
                }
                Ok::<_, std::io::Error>(inflight::held(plain, memory).slice(skip..skip + take))
            }
        })
        .buffered(READ_AHEAD);
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    };
    set(header::ETAG, etag);
    set(header::ACCEPT_RANGES, "bytes".into());
    set(header::CONTENT_LENGTH, (end - start).to_string());
    set(header::CONTENT_TYPE, "application/octet-stream".into());
    set(header::HeaderName::from_static("x-cairn-version"), wanted.to_string());
    if range.is_some() {
        set(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{}", end.saturating_sub(1), version.content.size),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}
