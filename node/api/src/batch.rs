//! `POST /v1/batch`: many files in one request and one Raft entry — what makes a folder of
//! small files fast. Each file comes with its content (cut and sealed here like a simple
//! upload's, kept in metadata when it is one small block) or with a block list of blocks the
//! account has (checked like `POST /v1/commit`'s). Every file is checked and prepared on its
//! own; what passes is proposed together, and each file's answer is its own: one conflict or
//! bad path does not fail the rest.

use std::collections::HashSet;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_proto::AccountId;
use cairn_proto::api::{
    Base, Batch, BatchDone, BatchFile, BatchOutcome, ErrorCode, MAX_BATCH_BODY, MAX_BATCH_FILES, Uploaded,
};
use cairn_raft::model::Command;
use cairn_raft::model::blocks::BlockRef;

use super::auth::Caller;
use super::blocks::{check_held, parse_id};
use super::content::{Sealed, head, owner_account, seal};
use super::error::ApiError;
use super::paths::{self, InNamespace};
use super::upload_limit;
use crate::state::ApiState;

/// `POST /v1/batch`.
pub async fn upload(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<BatchDone>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("a batch is at most {MAX_BATCH_BODY} bytes of JSON"),
        )
    };
    // The body, its decoded content and the sealed copies are held together: three times it.
    let (bytes, _memory) =
        upload_limit::read_whole(&state.inflight, &headers, body, MAX_BATCH_BODY, 3, too_large).await?;
    let axum::Json(batch) = axum::Json::<Batch>::from_bytes(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the batch: {}", e.body_text())))?;
    if batch.files.len() > MAX_BATCH_FILES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("at most {MAX_BATCH_FILES} files per batch, not {}", batch.files.len()),
        ));
    }

    let mut preparing = Preparing { ns: InNamespace { ns: batch.ns }, account: None, seen: HashSet::new() };
    let mut prepared = Vec::with_capacity(batch.files.len());
    let mut commands = Vec::new();
    for file in &batch.files {
        let ready = preparing.prepare(&state, &caller, file).await.map(|(sealed, mut more)| {
            let count = more.len();
            commands.append(&mut more);
            (sealed, count)
        });
        prepared.push(ready);
    }
    let mut responses = state.propose_together(commands).await?.into_iter();
    let files = batch
        .files
        .iter()
        .zip(prepared)
        .map(|(file, ready)| {
            let outcome: Result<Uploaded, ApiError> = ready.and_then(|(sealed, count)| {
                sealed.uploaded(&state, responses.by_ref().take(count).collect())
            });
            let path = file.path.clone();
            match outcome {
                Ok(uploaded) => {
                    // Read off the commit alone, so a retry replaying it answers the same.
                    let status = if uploaded.version == 1 { StatusCode::CREATED } else { StatusCode::OK };
                    BatchOutcome { path, status: status.as_u16(), uploaded: Some(uploaded), error: None }
                }
                Err(e) => BatchOutcome {
                    path,
                    status: e.status.as_u16(),
                    uploaded: None,
                    error: Some(e.into_body()),
                },
            }
        })
        .collect();
    Ok(axum::Json(BatchDone { files }))
}

/// What the files of one batch share while each is prepared.
struct Preparing {
    ns: InNamespace,
    /// The namespace owner's account, once a file has shown the caller may write there.
    account: Option<AccountId>,
    /// Paths seen so far: each may come once.
    seen: HashSet<String>,
}

impl Preparing {
    /// Checks one file and readies its content: the sealed content and the commands that
    /// commit it.
    async fn prepare(
        &mut self,
        state: &ApiState,
        caller: &Caller,
        file: &BatchFile,
    ) -> Result<(Sealed, Vec<Command>), ApiError> {
        let path = paths::parse(&file.path)?;
        if path.is_root() {
            return Err(ApiError::bad_request("the root is a folder"));
        }
        if !self.seen.insert(path.as_str().to_owned()) {
            return Err(ApiError::bad_request(format!("{path} comes more than once in the batch")));
        }
        let place = paths::place(state, caller, &self.ns, path, true).await?;
        let account = match self.account {
            Some(account) => account,
            None => *self.account.insert(owner_account(state, place.namespace).await?),
        };
        let sealed = match (&file.content, &file.blocks) {
            (Some(content), None) if file.size.is_none() && file.hash.is_none() => {
                let content = BASE64.decode(content).map_err(|e| {
                    ApiError::bad_request(format!("{}: content is not base64: {e}", place.path))
                })?;
                seal(state, account, std::io::Cursor::new(content)).await?
            }
            (None, Some(entries)) => {
                let blocks = entries
                    .iter()
                    .map(|b| Ok(BlockRef { id: parse_id(&b.id)?, len: b.len }))
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let (Some(size), Some(hash)) = (file.size, &file.hash) else {
                    return Err(ApiError::bad_request(format!(
                        "{}: a block list needs size and hash",
                        place.path
                    )));
                };
                let hash: [u8; 32] = hex::decode(hash)
                    .ok()
                    .and_then(|h| h.try_into().ok())
                    .ok_or_else(|| ApiError::bad_request("hash must be 64 hex digits (blake3)"))?;
                check_held(state, caller, (place.namespace, &place.path), &blocks).await?;
                // As for `POST /v1/commit`: block lengths are checked against their records;
                // the hash is the client's word.
                Sealed { blocks, size, hash, hash_verified: false, inline: None, blocks_written: 0 }
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{}: send content, or blocks with size and hash, not both",
                    place.path
                )));
            }
        };
        let base = match file.base {
            Base::Version(version) => Some(version),
            Base::New => None,
            Base::Head => head(state, &place).await?,
        };
        let mtime_ms = file.mtime_ms.unwrap_or_else(|| state.clock.now_ms());
        let commands = sealed.commands(&place, base, mtime_ms, caller.user.id);
        Ok((sealed, commands))
    }
}
