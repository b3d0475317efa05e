//! The connection's socket as hyper sees it, telling the connection's [`Activity`] when bytes
//! come in and when writes wait, and reset (not closed) if the watchdog gave up on it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::activity::Activity;

/// A socket that can be reset when it is dropped.
pub(crate) trait Resettable {
    /// Makes the close an RST: the peer learns at once, and the kernel drops what it still
    /// holds to send, rather than keep it for a client that reads nothing.
    fn reset_on_close(&self);
}

impl Resettable for TcpStream {
    fn reset_on_close(&self) {
        // Zero linger does not block (unlike a positive one, which is why tokio warns of it).
        let _ = self.set_zero_linger();
    }
}

impl Resettable for TlsStream<TcpStream> {
    fn reset_on_close(&self) {
        self.get_ref().0.reset_on_close();
    }
}

/// A socket watched for the connection's timeouts.
pub(crate) struct WatchedIo<S: Resettable> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: Resettable> WatchedIo<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: Resettable> Drop for WatchedIo<S> {
    fn drop(&mut self) {
        if self.activity.gave_up() {
            self.inner.reset_on_close();
        }
    }
}

impl<S: AsyncRead + Resettable + Unpin> AsyncRead for WatchedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        result
    }
}

impl<S: AsyncWrite + Resettable + Unpin> AsyncWrite for WatchedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.note(&result);
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.note(&result);
        result
    }
}

impl<S: Resettable> WatchedIo<S> {
    fn note<T>(&self, result: &Poll<io::Result<T>>) {
        match result {
            Poll::Pending => self.activity.write_blocked(),
            Poll::Ready(_) => self.activity.wrote(),
        }
    }
}
