//! What the tus handlers share: the limits, the header names, finding a caller's live session,
//! reading an upload id, and the tus view of the model's refusals.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use cairn_proto::api::ErrorCode;
use cairn_raft::model::ids::UploadId;
use cairn_raft::model::uploads::UploadRecord;
use cairn_raft::model::{Answer, Query, Rejection};

use super::headers;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ApiState;

/// The largest upload accepted (`Tus-Max-Size`): 1 TiB.
pub const MAX_SIZE: u64 = 1 << 40;

/// How long a session lives after its creation; past it, only `DELETE` works.
pub const SESSION_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The tus headers the handlers set and read.
pub(super) const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub(super) const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub(super) const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
pub(super) const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");

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
