//! A PATCH body as the chunker reads it. tus wants the server to keep every byte it received
//! even when the connection breaks mid-request, but a chunker whose reader fails drops what it
//! buffered. So the body is read through [`Guarded`], which turns a broken connection into a
//! clean end (noting that it broke), and the chunker hands out its buffered tail as the last,
//! short block. It also stops at the bytes the upload still lacks, noting an overflow, so an
//! over-long body cannot push the session past its length.

use cairn_proto::api::ErrorCode;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use parking_lot::Mutex;

use crate::error::ApiError;

/// How a body ended, known once [`Guarded`] has ended.
#[derive(Clone, Debug, Default)]
pub struct Ending {
    /// Why the body broke off before its end, if it did.
    pub broken: Option<String>,
    /// The body had more bytes than the upload lacks.
    pub overflow: bool,
    /// Bytes handed on.
    pub received: u64,
}

/// A body stream that never fails: it ends where the connection broke, or after `left` bytes.
pub struct Guarded<S> {
    inner: S,
    left: u64,
    ended: bool,
    ending: Arc<Mutex<Ending>>,
}

impl<S> Guarded<S> {
    /// Reads at most `left` bytes of `inner`; `ending` learns how it ended.
    pub fn new(inner: S, left: u64) -> (Self, Arc<Mutex<Ending>>) {
        let ending = Arc::new(Mutex::new(Ending::default()));
        (Self { inner, left, ended: false, ending: ending.clone() }, ending)
    }
}

impl<S: Stream<Item = Result<Bytes, axum::Error>> + Unpin> Stream for Guarded<S> {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match ready!(self.inner.poll_next_unpin(cx)) {
            None => {
                self.ended = true;
                Poll::Ready(None)
            }
            Some(Err(e)) => {
                self.ended = true;
                self.ending.lock().broken = Some(e.to_string());
                Poll::Ready(None)
            }
            Some(Ok(mut bytes)) => {
                if bytes.len() as u64 > self.left {
                    bytes.truncate(usize::try_from(self.left).unwrap_or(usize::MAX));
                    self.ended = true;
                    self.ending.lock().overflow = true;
                    if bytes.is_empty() {
                        return Poll::Ready(None);
                    }
                }
                self.left -= bytes.len() as u64;
                self.ending.lock().received += bytes.len() as u64;
                Poll::Ready(Some(Ok(bytes)))
            }
        }
    }
}

/// The whole of `stream` in memory (a body whose checksum must be checked before anything of
/// it is stored), or 413 past `limit` bytes.
pub async fn collect<S>(mut stream: S, limit: usize) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Unpin,
{
    let mut all = BytesMut::new();
    while let Some(Ok(bytes)) = stream.next().await {
        if all.len() + bytes.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!("a PATCH with Upload-Checksum carries at most {limit} bytes; send smaller chunks"),
            ));
        }
        all.extend_from_slice(&bytes);
    }
    Ok(all.freeze())
}

#[cfg(test)]
mod tests {
    use futures_util::stream;

    use super::*;

    fn frames(
        parts: Vec<Result<&'static [u8], &'static str>>,
    ) -> impl Stream<Item = Result<Bytes, axum::Error>> {
        stream::iter(parts.into_iter().map(|p| p.map(Bytes::from_static).map_err(axum::Error::new)))
    }

    async fn read_all(guarded: Guarded<impl Stream<Item = Result<Bytes, axum::Error>> + Unpin>) -> Vec<u8> {
        collect(guarded, 1 << 20).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn a_broken_body_ends_cleanly_with_what_arrived() {
        let (guarded, ending) =
            Guarded::new(frames(vec![Ok(b"abc"), Ok(b"de"), Err("reset"), Ok(b"zz")]), 100);
        assert_eq!(read_all(guarded).await, b"abcde");
        let ending = ending.lock().clone();
        assert_eq!((ending.broken.as_deref(), ending.overflow, ending.received), (Some("reset"), false, 5));
    }

    #[tokio::test]
    async fn a_body_stops_at_the_bytes_the_upload_lacks() {
        let (guarded, ending) = Guarded::new(frames(vec![Ok(b"abc"), Ok(b"defg")]), 5);
        assert_eq!(read_all(guarded).await, b"abcde");
        assert!(ending.lock().overflow);
        let (guarded, ending) = Guarded::new(frames(vec![Ok(b"abc"), Ok(b"de")]), 5);
        assert_eq!(read_all(guarded).await, b"abcde");
        assert!(!ending.lock().overflow && ending.lock().broken.is_none());
        let (guarded, ending) = Guarded::new(frames(vec![Ok(b"abc"), Ok(b"de"), Ok(b"f")]), 5);
        assert_eq!(read_all(guarded).await, b"abcde");
        assert!(ending.lock().overflow);
    }

    #[tokio::test]
    async fn collecting_refuses_more_than_the_limit() {
        let (guarded, _) = Guarded::new(frames(vec![Ok(b"abc"), Ok(b"def")]), 100);
        assert_eq!(collect(guarded, 5).await.unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
