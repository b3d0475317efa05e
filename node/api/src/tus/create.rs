//! `POST /v1/uploads`, the tus creation extension: opens a session for `Upload-Length` bytes
//! going to the drive path named in `Upload-Metadata`, and answers its URL in `Location`.
//!
//! Metadata keys (values base64, as tus has them): `path` (required; `filename` is taken for a
//! file in the drive's root when `path` is absent, as browser clients send it), `ns` (a
//! namespace shared with the caller), `base` (the version the upload replaces, or `none` to
//! create only; absent: whatever the head is now, checked again at the finish) and `mtime_ms`.
//! Other keys (`filetype`, …) are accepted and ignored.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use cairn_proto::api::ErrorCode;
use cairn_raft::model::drive::FileStatus;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::uploads::NewUpload;
use cairn_raft::model::{Answer, Command, Query, Response};

use super::headers::{self, Metadata};
use super::session::{
    MAX_SIZE, SESSION_TTL_MS, UPLOAD_EXPIRES, UPLOAD_LENGTH, UPLOAD_METADATA, refusal, set,
};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::paths::{self, InNamespace, Place};
use crate::state::ApiState;

/// Which version an upload replaces.
enum Base {
    /// The head when the session begins.
    Head,
    /// Nothing: the file must not exist.
    Absent,
    /// This version.
    Version(u64),
}

/// `POST /v1/uploads`.
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: HeaderMap,
) -> Result<HttpResponse, ApiError> {
    if request.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request(
            "Upload-Defer-Length is not supported: send Upload-Length with the file's size",
        ));
    }
    let size = request
        .get(&UPLOAD_LENGTH)
        .and_then(|v| headers::parse_byte_count(v.as_bytes()))
        .ok_or_else(|| ApiError::bad_request("Upload-Length must give the file's size in bytes"))?;
    if size > MAX_SIZE {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("Upload-Length {size} is more than this server's Tus-Max-Size of {MAX_SIZE}"),
        ));
    }
    let metadata = request.get(&UPLOAD_METADATA).map_or(Ok(Metadata::new()), |v| {
        let text = v.to_str().map_err(|_| ApiError::bad_request("Upload-Metadata must be ASCII"))?;
        headers::parse_metadata(text).map_err(|e| ApiError::bad_request(e.to_string()))
    })?;
    let raw_path = match (text(&metadata, "path")?, text(&metadata, "filename")?) {
        (Some(path), _) => path,
        (None, Some(name)) => format!("/{name}"),
        (None, None) => {
            return Err(ApiError::bad_request(
                "Upload-Metadata must name the file's drive path: `path <base64 of /folder/name>`",
            ));
        }
    };
    let path = paths::parse(&raw_path)?;
    if path.is_root() {
        return Err(ApiError::bad_request("the root is a folder"));
    }
    let ns = number(&metadata, "ns")?;
    let base = match text(&metadata, "base")?.as_deref() {
        None => Base::Head,
        Some("none") => Base::Absent,
        Some(v) => Base::Version(v.parse().map_err(|_| {
            ApiError::bad_request("metadata `base` must be a version number, or `none` to create only")
        })?),
    };
    let mtime_ms = number(&metadata, "mtime_ms")?;

    let place = paths::place(&state, &caller, &InNamespace { ns }, path, true).await?;
    let base = match base {
        Base::Head => head(&state, &place).await?,
        Base::Absent => None,
        Base::Version(v) => Some(v),
    };
    let now = state.clock.now_ms();
    let new = NewUpload {
        upload: UploadId(rand::random()),
        namespace: place.namespace,
        path: place.path,
        base,
        size,
        mtime_ms: mtime_ms.unwrap_or(now),
        device: None,
        author: caller.user.id,
        expires_ms: now + SESSION_TTL_MS,
    };
    let (id, expires_ms) = (new.upload, new.expires_ms);
    let mut out = HeaderMap::new();
    if size == 0 {
        // A client sends no PATCH for an empty file, so the creation is also the finish.
        let (file, version) = begin_and_finish_empty(&state, new).await?;
        set(&mut out, header::HeaderName::from_static("x-cairn-file"), file.to_string());
        set(&mut out, header::HeaderName::from_static("x-cairn-version"), version.to_string());
    } else {
        match state.propose_step(Command::BeginUpload(new)).await? {
            Response::UploadBegun => {}
            Response::Rejected(why) => return Err(refusal(why)),
            other => return Err(ApiError::internal(format!("unexpected answer to an upload: {other:?}"))),
        }
        set(&mut out, UPLOAD_EXPIRES, headers::http_date(expires_ms));
    }
    set(&mut out, header::LOCATION, format!("/v1/uploads/{id}"));
    tracing::debug!(upload = %id, size, "tus upload created");
    Ok((StatusCode::CREATED, out).into_response())
}

/// Begins and finishes an empty upload in one Raft entry; returns the file and its version.
async fn begin_and_finish_empty(state: &ApiState, new: NewUpload) -> Result<(u64, u64), ApiError> {
    let (upload, user) = (new.upload, new.author);
    let hash = *blake3::hash(b"").as_bytes();
    let commands =
        vec![Command::BeginUpload(new), Command::FinishUpload { upload, user, hash, verified: true }];
    let mut answers = state.propose_together(commands).await?.into_iter();
    match (answers.next(), answers.next()) {
        (Some(Response::Rejected(why)), _) | (_, Some(Response::Rejected(why))) => Err(refusal(why)),
        (Some(Response::UploadBegun), Some(Response::Committed { file, version, .. })) => {
            Ok((file.0, version))
        }
        other => Err(ApiError::internal(format!("unexpected answer to an empty upload: {other:?}"))),
    }
}

/// The head version of the file at `place`, if there is a file (and it is not in the trash,
/// where the commit does not see it either).
async fn head(state: &ApiState, place: &Place) -> Result<Option<u64>, ApiError> {
    match state.query(Query::Stat { namespace: place.namespace, path: place.path.clone() }).await? {
        Answer::Stat(Some((_, Some(file)))) if file.status != FileStatus::Trashed => Ok(Some(file.head)),
        Answer::Stat(Some((_, Some(_)))) => Ok(None),
        Answer::Stat(Some((_, None))) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::WrongKind,
            format!("{} is a folder", place.path),
        )),
        Answer::Stat(None) => Ok(None),
        other => Err(ApiError::internal(format!("unexpected answer to a stat: {other:?}"))),
    }
}

/// The UTF-8 value of metadata `key`, if given.
fn text(metadata: &Metadata, key: &str) -> Result<Option<String>, ApiError> {
    match metadata.get(key) {
        None => Ok(None),
        Some(None) => Err(ApiError::bad_request(format!("metadata `{key}` needs a value"))),
        Some(Some(bytes)) => String::from_utf8(bytes.clone())
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("metadata `{key}` must be UTF-8"))),
    }
}

/// The numeric value of metadata `key`, if given.
fn number(metadata: &Metadata, key: &str) -> Result<Option<u64>, ApiError> {
    text(metadata, key)?
        .map(|v| {
            v.trim().parse().map_err(|_| ApiError::bad_request(format!("metadata `{key}` must be a number")))
        })
        .transpose()
}
