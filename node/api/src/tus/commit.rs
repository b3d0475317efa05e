//! `POST /v1/uploads/{id}/commit`: a cairn extension to tus for clients that do their own
//! chunking (the SDK). The client opens a session with tus creation — from then on the file
//! shows as `uploading` to everyone who sees the path — stores only the blocks the cluster lacks
//! with the block-level upload, and finishes the session here with the block list and the
//! whole content's hash. The remaining blocks and the finish go into one Raft entry, through the
//! same conditional commit as every version, so a stale base still ends in 409 `conflict`.
//!
//! The blocks must bring the session to exactly its length: a finish is tried once, and a
//! refused one ends the session (see `cairn_raft::model::uploads`), so no session is ever left
//! holding blocks that no node received, to be gone over again. The hash is the client's word:
//! the version records it as not verified. A non-owner may name only blocks it may know of
//! (see [`check_held`]); a refusal for that leaves the session open, for the blocks to be sent.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_proto::api::ErrorCode;
use cairn_proto::api::{Committed, SessionCommit};
use cairn_raft::model::blocks::BlockRef;
use cairn_raft::model::{Command, Response};

use super::session::{live_session, parse_id, refusal};
use crate::auth::Caller;
use crate::blocks::{check_held, parse_id as parse_block_id};
use crate::error::ApiError;
use crate::extract::Json as ApiJson;
use crate::state::ApiState;

/// `POST /v1/uploads/{id}/commit`.
pub async fn commit(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SessionCommit>,
) -> Result<Json<Committed>, ApiError> {
    let upload = parse_id(&raw)?;
    let blocks = body
        .blocks
        .iter()
        .map(|b| Ok(BlockRef { id: parse_block_id(&b.id)?, len: b.len }))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let hash: [u8; 32] = hex::decode(&body.hash)
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("hash must be 64 hex digits (blake3)"))?;
    let record = live_session(&state, &caller, upload).await?;
    let reached = blocks.iter().try_fold(record.received, |sum, b| sum.checked_add(u64::from(b.len)));
    if reached != Some(record.session.size) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::Invalid,
            format!(
                "the session has {} of its {} bytes; the blocks must bring it to exactly {} (they bring \
                 it to {})",
                record.received,
                record.session.size,
                record.session.size,
                reached.map_or("more than 2^64".to_owned(), |r| r.to_string())
            ),
        ));
    }
    let target = (record.session.namespace, &record.session.path);
    check_held(&state, &caller, target, &blocks).await?;
    let user = caller.user.id;
    let mut commands = Vec::new();
    if !blocks.is_empty() {
        commands.push(Command::UploadBlocks {
            upload,
            user,
            offset: record.received,
            blocks,
            progress: None,
        });
    }
    commands.push(Command::FinishUpload { upload, user, hash, verified: false });
    let mut answers = state.propose_together(commands).await?.into_iter();
    if let Some(Response::Rejected(why)) = answers.next() {
        return Err(refusal(why));
    }
    match answers.last() {
        Some(Response::Committed { file, version, seq }) => {
            Ok(Json(Committed { file: file.0, version, seq }))
        }
        Some(Response::Rejected(why)) => Err(refusal(why)),
        other => Err(ApiError::internal(format!("unexpected answer to an upload finish: {other:?}"))),
    }
}
