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
//! - [`running_hash`]: blake3 of the session's bytes as they arrive, resumed by any node.
//! - [`commit`]: `POST /v1/uploads/{id}/commit`, our extension: finishing a session from blocks
//!   the client stored itself.
//! - [`session`]: what they share: limits, header names, the live session, refusals.
//! - here: the routes, the version check, `OPTIONS`, `HEAD`, `DELETE`.
//!
//! Every error is the API's `{code, message}` body, with the tus headers on top.

pub mod body;
pub mod commit;
pub mod create;
pub mod headers;
pub mod patch;
pub mod receiver;
pub mod running_hash;
pub mod session;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::uploads::UploadRecord;
use cairn_raft::model::{Command, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ApiState;
use session::{
    MAX_SIZE, UPLOAD_EXPIRES, UPLOAD_LENGTH, UPLOAD_METADATA, UPLOAD_OFFSET, live_session, parse_id, refusal,
    set,
};

/// The protocol version this server speaks (`Tus-Resumable`, `Tus-Version`).
pub const TUS_VERSION: &str = "1.0.0";

/// The extensions this server implements (`Tus-Extension`).
pub const TUS_EXTENSIONS: &str = "creation,checksum,termination,expiration";

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
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

/// `Upload-Metadata` for `HEAD`: the session's path, the one key this server keeps verbatim.
fn metadata_of(record: &UploadRecord) -> String {
    use base64::Engine;
    let path = base64::engine::general_purpose::STANDARD.encode(record.session.path.to_string());
    format!("path {path}")
}
