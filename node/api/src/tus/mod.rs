//! Resumable uploads with the tus 1.0 protocol (<https://tus.io/protocols/resumable-upload>) at
//! `/v1/uploads`: core (`HEAD`, `PATCH`, `OPTIONS`) and the creation, checksum, termination and
//! expiration extensions, so any tus client (tuspy, tus-js-client, Uppy) uploads into a drive.
//!
//! The session lives in Raft (`cairn_raft::model::uploads`), not on the node that took the
//! creation request: a client whose node died asks any other node for the offset and goes on
//! from there. The bytes of a `PATCH` are cut by the content-defined chunker into blocks, stored
//! like every other block, and appended to the session a few blocks at a time; the last append
//! and the commit of the finished file share one Raft entry, so a session never holds all its
//! bytes without being finished (a crash between the two would leave the client, which sees its
//! offset complete, with a file that never appears).
//!
//! - [`headers`]: parsing `Upload-Metadata` and `Upload-Checksum`, the HTTP-date of expiry.
//! - [`create`]: `POST /v1/uploads`, the creation extension.
//! - [`patch`]: `PATCH /v1/uploads/{id}`: checks, checksum, the task that receives the body.
//! - [`body`]: the body as the chunker reads it, ending cleanly where the connection broke.
//! - [`receiver`]: blocks stored and appended to the session; the finish.
//! - [`commit`]: `POST /v1/uploads/{id}/commit`, our extension: finishing a session from blocks
//!   the client stored itself.
//! - here: the routes, the version check, `OPTIONS`, `HEAD`, `DELETE`.
//!
//! Every error is the API's `{code, message}` body, with the tus headers on top.

pub mod body;
pub mod commit;
pub mod create;
pub mod headers;
pub mod patch;
pub mod receiver;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::uploads::UploadRecord;
use cairn_raft::model::{Answer, Command, Query, Rejection, Response};

use super::ApiState;
use super::auth::Caller;
use super::error::ApiError;

/// The protocol version this server speaks (`Tus-Resumable`, `Tus-Version`).
pub const TUS_VERSION: &str = "1.0.0";

/// The extensions this server implements (`Tus-Extension`).
pub const TUS_EXTENSIONS: &str = "creation,checksum,termination,expiration";

/// The largest upload accepted (`Tus-Max-Size`): 1 TiB.
pub const MAX_SIZE: u64 = 1 << 40;

/// How long a session lives after its creation; past it, only `DELETE` works.
pub const SESSION_TTL_MS: u64 = 24 * 60 * 60 * 1000;

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");

/// The tus routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/uploads", post(create::create).options(options))
        .route(
            "/uploads/{id}",
            axum::routing::head(status).patch(patch::patch).delete(terminate).options(options),
        )
        .layer(middleware::from_fn(tus_resumable))
        // Not tus: no `Tus-Resumable` needed.
        .route("/uploads/{id}/commit", axum::routing::post(commit::commit))
}

/// Refuses requests of another protocol version (or none) with 412, and puts `Tus-Resumable`
/// on every response. `OPTIONS` is exempt from the check: it is how a client learns the
/// versions.
async fn tus_resumable(request: Request, next: Next) -> HttpResponse {
    let mut values = request.headers().get_all(&TUS_RESUMABLE).iter();
    let given = values.next().cloned();
    let speaks_ours = given.as_ref().is_some_and(|v| v.as_bytes() == TUS_VERSION.as_bytes())
        && values.all(|v| v.as_bytes() == TUS_VERSION.as_bytes());
    let mut response = if request.method() == Method::OPTIONS || speaks_ours {
        next.run(request).await
    } else {
        let what = match given.as_ref().and_then(|v| v.to_str().ok()) {
            Some(version) => format!("Tus-Resumable: {version} is not supported"),
            None => "the Tus-Resumable header is missing".to_owned(),
        };
        let message = format!("{what}; this server speaks tus {TUS_VERSION} (Tus-Resumable: {TUS_VERSION})");
        let mut response =
            ApiError::new(StatusCode::PRECONDITION_FAILED, ErrorCode::UnsupportedVersion, message)
                .into_response();
        response
            .headers_mut()
            .insert(HeaderName::from_static("tus-version"), HeaderValue::from_static(TUS_VERSION));
        response
    };
    response.headers_mut().insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    response
}

/// `OPTIONS /v1/uploads[/{id}]`: what this server supports. No token needed: it says nothing
/// about anyone's data.
async fn options() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            ("tus-version", TUS_VERSION.to_owned()),
            ("tus-extension", TUS_EXTENSIONS.to_owned()),
            ("tus-max-size", MAX_SIZE.to_string()),
            ("tus-checksum-algorithm", headers::ALGORITHMS.to_owned()),
        ],
    )
}

/// `HEAD /v1/uploads/{id}`: how many bytes the session has, the offset to resume from.
async fn status(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&raw)?;
    let record = live_session(&state, &caller, id).await?;
    let mut out = HeaderMap::new();
    set(&mut out, UPLOAD_OFFSET, record.received.to_string());
    set(&mut out, UPLOAD_LENGTH, record.session.size.to_string());
    set(&mut out, UPLOAD_EXPIRES, headers::http_date(record.session.expires_ms));
    set(&mut out, UPLOAD_METADATA, metadata_of(&record));
    set(&mut out, header::CACHE_CONTROL, "no-store".to_owned());
    Ok((StatusCode::OK, out).into_response())
}

/// `DELETE /v1/uploads/{id}` (termination): ends the session; what it stored goes to GC.
async fn terminate(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&raw)?;
    match state.propose_step(Command::AbortUpload { upload: id, user: caller.user.id }).await? {
        Response::UploadAborted => Ok(StatusCode::NO_CONTENT),
        Response::Rejected(why) => Err(refusal(why)),
        other => Err(ApiError::internal(format!("unexpected answer to an abort: {other:?}"))),
    }
}

/// The session `id` as stored, if `caller` began it and it has not expired.
pub(super) async fn live_session(
    state: &ApiState,
    caller: &Caller,
    id: UploadId,
) -> Result<UploadRecord, ApiError> {
    let record = match state.query(Query::Upload(id)).await? {
        Answer::Upload(Some(record)) => record,
        Answer::Upload(None) => return Err(refusal(Rejection::NoSuchUpload(id))),
        other => return Err(ApiError::internal(format!("unexpected answer to an upload query: {other:?}"))),
    };
    if record.session.author != caller.user.id {
        return Err(ApiError::forbidden(format!("upload {id} belongs to another user")));
    }
    if record.session.expires_ms <= state.clock.now_ms() {
        let expired_ms = record.session.expires_ms;
        return Err(refusal(Rejection::UploadExpired { upload: id, expired_ms }));
    }
    Ok(record)
}

/// The tus view of the model's refusals of upload commands; the rest map as everywhere.
pub(super) fn refusal(why: Rejection) -> ApiError {
    match why {
        Rejection::OffsetMismatch { expected, given } => ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::OffsetMismatch,
            format!(
                "the upload has {expected} bytes, so a PATCH must say Upload-Offset: {expected}, not {given}"
            ),
        ),
        Rejection::UploadTooLarge { declared, reached } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("the upload would reach {reached} bytes, more than its Upload-Length of {declared}"),
        ),
        Rejection::NoSuchUpload(id) => ApiError::not_found(format!(
            "no upload {id}: it never began, or it finished, was terminated, or expired"
        )),
        Rejection::UploadExpired { upload, expired_ms } => ApiError::new(
            StatusCode::GONE,
            ErrorCode::Expired,
            format!("upload {upload} expired at {}; start a new one", headers::http_date(expired_ms)),
        ),
        other => other.into(),
    }
}

/// An upload id from the URL: the 32 hex digits of a random 128-bit number.
pub(super) fn parse_id(raw: &str) -> Result<UploadId, ApiError> {
    let valid = raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit());
    valid
        .then(|| u128::from_str_radix(raw, 16).ok())
        .flatten()
        .map(UploadId)
        .ok_or_else(|| ApiError::not_found(format!("{raw:?} is not an upload id (32 hex digits)")))
}

/// `Upload-Metadata` for `HEAD`: the session's path, the one key this server keeps verbatim.
fn metadata_of(record: &UploadRecord) -> String {
    use base64::Engine;
    let path = base64::engine::general_purpose::STANDARD.encode(record.session.path.to_string());
    format!("path {path}")
}

/// Sets header `name` to `value` when it is a valid header value (every value set here is).
pub(super) fn set(headers: &mut HeaderMap, name: HeaderName, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_32_hex_digits() {
        let id = UploadId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(parse_id(&id.to_string()), Ok(id));
        assert_eq!(parse_id("0123456789ABCDEF0011223344556677"), Ok(id));
        for bad in ["", "123", "+123456789abcdef0011223344556677", "0123456789abcdef00112233445566zz"] {
            assert_eq!(parse_id(bad).map_err(|e| e.status), Err(StatusCode::NOT_FOUND), "{bad}");
        }
    }

    #[test]
    fn offset_mismatches_say_where_to_resume() {
        let e = refusal(Rejection::OffsetMismatch { expected: 10, given: 4 });
        assert_eq!((e.status, e.code), (StatusCode::CONFLICT, ErrorCode::OffsetMismatch));
        assert!(e.message.contains("Upload-Offset: 10"), "{}", e.message);
        let e = refusal(Rejection::UploadTooLarge { declared: 5, reached: 9 });
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refusal(Rejection::Forbidden).status, StatusCode::FORBIDDEN);
    }
}
