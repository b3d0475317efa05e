//! The bodies of a request and its response, as the connection's timeouts see them.
//!
//! - [`IdleBody`]: a request body that sends no byte for `body_idle_timeout` while its handler
//!   waits for one fails with [`BodyStalled`]. The clock runs only while the handler waits:
//!   a handler busy with what it read, or holding back for a budget, is never the client's
//!   fault. The handler answers with an error, and hyper closes an HTTP/1.1 connection whose
//!   request body was not read to its end (an HTTP/2 stream is reset).
//! - [`TrackedBody`]: a response body keeps its request in flight until it is sent or dropped,
//!   and tells the connection when a frame it gave waits to be taken (see
//!   [`super::activity`]'s write rule).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use super::activity::{Activity, InFlight};
use super::stats;

/// A request body that sent nothing for the body idle timeout while its handler waited.
#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {0:?}")]
pub struct BodyStalled(pub Duration);

/// A request body under the body idle timeout.
pub(crate) struct IdleBody {
    inner: Incoming,
    timeout: Duration,
    /// Armed while the handler waits for the client; made at the first wait.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    failed: bool,
}

impl IdleBody {
    pub(crate) fn new(inner: Incoming, timeout: Duration) -> Self {
        Self { inner, timeout, timer: None, armed: false, failed: false }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = Instant::now() + this.timeout;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !this.armed {
            timer.as_mut().reset(deadline);
            this.armed = true;
        }
        ready!(timer.as_mut().poll(cx));
        this.failed = true;
        stats::body_stalled();
        Poll::Ready(Some(Err(BodyStalled(this.timeout).into())))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that holds its request in flight and reports frames waiting to be sent.
pub(crate) struct TrackedBody {
    inner: Body,
    activity: Arc<Activity>,
    id: u64,
    /// The last frame given has not been followed by a call for the next.
    waiting: bool,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub(crate) fn new(inner: Body, activity: Arc<Activity>, in_flight: InFlight) -> Self {
        let id = activity.body_id();
        Self { inner, activity, id, waiting: false, _in_flight: in_flight }
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.waiting {
            this.activity.taken(this.id);
            this.waiting = false;
        }
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &frame
            && !this.inner.is_end_stream()
        {
            // A last frame is not waited on: the connection may drop a finished body
            // without asking it again.
            this.activity.untaken(this.id);
            this.waiting = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if self.waiting {
            self.activity.taken(self.id);
        }
    }
}
