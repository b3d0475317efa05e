//! `PATCH /v1/uploads/{id}`: bytes of the upload, from `Upload-Offset` on, as
//! `application/offset+octet-stream`; answered with the new `Upload-Offset`.
//!
//! A wrong offset is 409 before a byte is read. With `Upload-Checksum` the whole body is held
//! and checked before anything of it is stored (460 and nothing kept when it does not match);
//! without, the body streams through the chunker into blocks. When the body breaks off, what
//! arrived is kept and appended, so `HEAD` then reports the true offset. The PATCH that brings
//! the upload to its `Upload-Length` also commits the file as a new version.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use cairn_proto::api::ErrorCode;
use cairn_raft::model::Rejection;
use cairn_raft::model::UserId;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::uploads::UploadRecord;

use super::body::{Guarded, collect};
use super::headers::{self, Checksum};
use super::receiver::{Finished, Receiver};
use super::session::{UPLOAD_EXPIRES, UPLOAD_OFFSET, live_session, parse_id, refusal, set};
use crate::auth::Caller;
use crate::content::STREAMING_UPLOAD_BYTES;
use crate::error::ApiError;
use crate::state::ApiState;

/// The largest PATCH body with `Upload-Checksum`, which is held in memory until checked.
pub const MAX_CHECKSUMMED_PATCH: usize = 64 << 20;

/// The content type of every PATCH.
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// What a PATCH did.
struct Patched {
    /// The session's bytes now.
    offset: u64,
    /// When it expires.
    expires_ms: u64,
    /// The file's new version, when this PATCH finished the upload.
    finished: Option<Finished>,
}

/// `PATCH /v1/uploads/{id}`.
pub async fn patch(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    request: HeaderMap,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&raw)?;
    let content_type = request.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some(OFFSET_OCTET_STREAM) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!("a PATCH must have Content-Type: {OFFSET_OCTET_STREAM}"),
        ));
    }
    let offset = number(&request, &UPLOAD_OFFSET)?
        .ok_or_else(|| ApiError::bad_request("a PATCH must say where its bytes start: Upload-Offset"))?;
    let checksum = match request.get("upload-checksum") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::bad_request("Upload-Checksum must be ASCII"))
                .and_then(|v| headers::parse_checksum(v).map_err(|e| ApiError::bad_request(e.to_string())))?,
        ),
    };
    let record = live_session(&state, &caller, id).await?;
    if offset != record.received {
        return Err(refusal(Rejection::OffsetMismatch { expected: record.received, given: offset }));
    }
    let left = record.session.size - record.received;
    let declared = number(&request, &header::CONTENT_LENGTH)?;
    if let Some(length) = declared {
        if length > left {
            return Err(refusal(Rejection::UploadTooLarge {
                declared: record.session.size,
                reached: offset.saturating_add(length),
            }));
        }
        if checksum.is_some() && length > MAX_CHECKSUMMED_PATCH as u64 {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!("a PATCH with Upload-Checksum carries at most {MAX_CHECKSUMMED_PATCH} bytes"),
            ));
        }
    }
    // One PATCH at a time per upload on this node: two would race for the same offset, and
    // each would hold its buffers for nothing.
    let patching = state.inflight.patching(id)?;
    // The memory the body needs is reserved before a byte of it is read: the chunker's, and
    // with a checksum the whole body, held until its digest is checked.
    let whole = match checksum {
        Some(_) => declared.unwrap_or(MAX_CHECKSUMMED_PATCH as u64).min(MAX_CHECKSUMMED_PATCH as u64),
        None => 0,
    };
    let memory = state.inflight.reserve(STREAMING_UPLOAD_BYTES + whole).await?;
    // The work runs in a task of its own: a client whose connection breaks drops this handler,
    // and the bytes that did arrive must still be stored and appended (work bounded by those
    // bytes: the body ends where the connection broke, and nothing is read back). The upload
    // stays marked and the memory reserved until the task is done.
    let task = tokio::spawn(async move {
        let done = receive(state, caller.user.id, id, record, checksum, body).await;
        drop((patching, memory));
        done
    });
    let done = task.await.map_err(|e| ApiError::internal(format!("the upload task failed: {e}")))??;

    let mut out = HeaderMap::new();
    set(&mut out, UPLOAD_OFFSET, done.offset.to_string());
    match done.finished {
        Some(finished) => {
            set(&mut out, header::ETAG, format!("\"{}\"", hex::encode(finished.hash)));
            set(&mut out, HeaderName::from_static("x-cairn-version"), finished.version.to_string());
        }
        None => set(&mut out, UPLOAD_EXPIRES, headers::http_date(done.expires_ms)),
    }
    Ok((StatusCode::NO_CONTENT, out).into_response())
}

/// Stores the body's bytes and appends them to the session; finishes the upload when they
/// complete it.
async fn receive(
    state: ApiState,
    user: UserId,
    id: UploadId,
    record: UploadRecord,
    checksum: Option<Checksum>,
    body: Body,
) -> Result<Patched, ApiError> {
    let (size, start, expires_ms) = (record.session.size, record.received, record.session.expires_ms);
    let (stream, ending) = Guarded::new(body.into_data_stream(), size - start);
    let mut receiver = Receiver::new(state, user, record);
    let stored = match checksum {
        Some(checksum) => {
            let bytes = collect(stream, MAX_CHECKSUMMED_PATCH).await?;
            let ending = ending.lock().clone();
            if let Some(why) = ending.broken {
                return Err(ApiError::bad_request(format!(
                    "the body broke off after {} bytes ({why}); with Upload-Checksum none of it is kept",
                    ending.received
                )));
            }
            if ending.overflow {
                return Err(overflow(size, start));
            }
            let (matches, bytes) = tokio::task::spawn_blocking(move || (checksum.matches(&bytes), bytes))
                .await
                .map_err(|e| ApiError::internal(format!("checksum task failed: {e}")))?;
            if !matches {
                return Err(ApiError::new(
                    checksum_mismatch(),
                    ErrorCode::ChecksumMismatch,
                    "the body does not have the digest in Upload-Checksum; nothing of it was kept",
                ));
            }
            receiver.store(std::io::Cursor::new(bytes)).await
        }
        None => receiver.store(tokio_util::io::StreamReader::new(stream)).await,
    };
    let stored = match stored {
        Ok(()) => receiver.end().await,
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        receiver.keep().await;
        return Err(e);
    }
    let ending = ending.lock().clone();
    if ending.overflow {
        receiver.keep().await;
        return Err(overflow(size, start));
    }
    // A body that broke off after its last byte still finishes: every byte is here.
    if receiver.reached() == size {
        let finished = receiver.finish().await?;
        tracing::info!(upload = %id, size, version = finished.version, "tus upload finished");
        return Ok(Patched { offset: size, expires_ms, finished: Some(finished) });
    }
    receiver.flush().await?;
    if let Some(why) = ending.broken {
        tracing::info!(upload = %id, kept = ending.received, "a PATCH body broke off ({why}); kept what arrived");
    }
    Ok(Patched { offset: receiver.reached(), expires_ms, finished: None })
}

/// 460 Checksum Mismatch, the tus checksum extension's own status.
fn checksum_mismatch() -> StatusCode {
    StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST)
}

fn overflow(size: u64, start: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::TooLarge,
        format!("the body is longer than the {} bytes the upload of {size} still lacks", size - start),
    )
}

/// The number in header `name`, if present.
fn number(request: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, ApiError> {
    request
        .get(name)
        .map(|v| {
            headers::parse_byte_count(v.as_bytes())
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a number of bytes")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_mismatch_is_460() {
        assert_eq!(checksum_mismatch().as_u16(), 460);
    }

    #[test]
    fn offsets_are_plain_digits() {
        let mut request = HeaderMap::new();
        assert_eq!(number(&request, &UPLOAD_OFFSET).unwrap(), None);
        request.insert(&UPLOAD_OFFSET, " 42 ".parse().unwrap());
        assert_eq!(number(&request, &UPLOAD_OFFSET).unwrap(), Some(42));
        for bad in ["+5", "-1", "0x10", "1e3", "18446744073709551616"] {
            request.insert(&UPLOAD_OFFSET, bad.parse().unwrap());
            assert!(number(&request, &UPLOAD_OFFSET).is_err(), "{bad}");
        }
    }
}
