//! The simple upload's size limit (`network.api_max_upload_bytes`): `PUT /v1/content/...`
//! streams its body into blocks, so without a limit one request could fill the drive.
//!
//! A declared `Content-Length` over the limit is refused before a byte is read; a body without
//! one (chunked) is counted as it streams and refused as soon as it passes the limit, nothing
//! more read. Either way the answer is 413 `body_too_large` and no version is committed; blocks
//! already stored for it are referenced by nothing, and garbage collection drops them. Larger
//! files go through the block-level upload, which has no such limit.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use cairn_proto::ProtoError;
use cairn_proto::api::ErrorCode;
use futures_util::{Stream, StreamExt};

use super::error::ApiError;
use super::inflight::{Inflight, Reservation};

/// The error the counted body stream fails with once it passes the limit; found again inside
/// the chunker's read error by [`read_error`].
#[derive(Debug, thiserror::Error)]
#[error("the body is larger than {0} bytes")]
struct BodyTooLarge(u64);

/// 413 `body_too_large` for an upload over `limit` bytes.
pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
        format!(
            "a simple upload takes at most {limit} bytes (network.api_max_upload_bytes); send larger \
             files with the block-level upload (POST /v1/blocks/missing, PUT /v1/blocks/{{id}}, \
             POST /v1/commit)"
        ),
    )
}

/// The request's declared `Content-Length`, if it has a valid one.
pub fn declared(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
}

/// Refuses a request whose declared `Content-Length` is over `limit`.
pub fn check_declared(headers: &HeaderMap, limit: u64) -> Result<(), ApiError> {
    match declared(headers) {
        Some(length) if length > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// `body`'s bytes, failing with [`BodyTooLarge`] once more than `limit` have come.
pub fn limited(body: Body, limit: u64) -> impl Stream<Item = std::io::Result<Bytes>> {
    let mut seen = 0u64;
    body.into_data_stream().map(move |frame| {
        let bytes = frame.map_err(std::io::Error::other)?;
        seen = seen.saturating_add(bytes.len() as u64);
        if seen > limit {
            return Err(std::io::Error::other(BodyTooLarge(limit)));
        }
        Ok(bytes)
    })
}

/// The API error for a failed read of an upload: 413 when it passed the limit, else 400.
pub fn read_error(error: ProtoError) -> ApiError {
    if let ProtoError::Read(io) = &error
        && let Some(BodyTooLarge(limit)) = io.get_ref().and_then(|inner| inner.downcast_ref::<BodyTooLarge>())
    {
        return too_large(*limit);
    }
    ApiError::bad_request(format!("reading the upload: {error}"))
}

/// Reads a body that is held whole (a block, a batch), at most `limit` bytes, answering
/// `too_large` when it declares or turns out to be more. The node's in-flight memory for
/// `copies` copies of it is reserved before a byte is read: of the declared length, or of
/// `limit` when none is declared.
pub async fn read_whole(
    inflight: &Inflight,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    copies: u64,
    too_large: impl Fn() -> ApiError,
) -> Result<(Bytes, Reservation), ApiError> {
    let declared = declared(headers);
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let memory = inflight.reserve(declared.unwrap_or(limit as u64).saturating_mul(copies)).await?;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    Ok((bytes, memory))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use futures_util::TryStreamExt;

    #[test]
    fn a_declared_length_over_the_limit_is_refused() {
        let mut headers = HeaderMap::new();
        assert!(check_declared(&headers, 10).is_ok());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert!(check_declared(&headers, 10).is_ok());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        let error = check_declared(&headers, 10).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (413, ErrorCode::BodyTooLarge));
        assert!(error.message.contains("at most 10 bytes"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_streamed_body_fails_once_it_passes_the_limit() {
        let body = |parts: Vec<&'static [u8]>| {
            Body::from_stream(futures_util::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>)))
        };
        let fits: Vec<Bytes> = limited(body(vec![b"12345", b"67890"]), 10).try_collect().await.unwrap();
        assert_eq!(fits.concat(), b"1234567890");
        let error = limited(body(vec![b"12345", b"678901"]), 10).try_collect::<Vec<_>>().await.unwrap_err();
        let error = read_error(ProtoError::Read(error));
        assert_eq!((error.status.as_u16(), error.code), (413, ErrorCode::BodyTooLarge));
        let other = read_error(ProtoError::Read(std::io::Error::other("reset")));
        assert_eq!(other.code, ErrorCode::BadRequest);
    }
}
