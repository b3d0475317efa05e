//! The serving side of the transport: accept connections, authenticate the peer by its
//! certificate, and answer each stream's request with the handler's response.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use quinn::{RecvStream, SendStream, VarInt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::error::{Refusal, close_code};
use super::frame::{self, FrameError, FrameIoError};
use super::identity::is_cluster_node;
use super::tls;

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The calling node's name, from the certificate it authenticated with.
    pub peer: String,
    /// The address the request came from. For logs only: identity is `peer`.
    pub remote_addr: SocketAddr,
    /// What the payload is.
    pub kind: u8,
    /// The request's payload.
    pub payload: Bytes,
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// What the payload is.
    pub kind: u8,
    /// The response's payload.
    pub payload: Bytes,
}

impl Response {
    /// A response of `kind` carrying `payload`.
    pub fn new(kind: u8, payload: impl Into<Bytes>) -> Self {
        Self { kind, payload: payload.into() }
    }
}

/// The future a [`Handler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// Answers the requests peers send. Any `Fn(Request) -> impl Future<Output = Response>` that is
/// `Send + Sync + 'static` is one.
///
/// Each request runs in its own task. The transport drops the handler's future when the caller
/// stops waiting (its deadline passed, or its connection broke) or this node shuts down, as a
/// gRPC server cancels a call whose client went away: work that must finish regardless belongs
/// in a task the handler spawns itself. Errors of the layer above are the handler's to encode in
/// its response; a handler that panics makes the caller see [`Refusal::HandlerFailed`].
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn handle(&self, request: Request) -> HandlerFuture {
        Box::pin(self(request))
    }
}

/// Aborts a task when dropped, so a handler's task never outlives the stream it answers.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts connections until the endpoint is closed, serving each in its own task. Dropping
/// this future (aborting its task) drops every connection task and so every handler.
pub(crate) async fn accept_loop(
    endpoint: quinn::Endpoint,
    handler: Arc<dyn Handler>,
    max_frame_len: u32,
    budget: Arc<InboundBudget>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                connections.spawn(serve_connection(incoming, handler.clone(), max_frame_len, budget.clone()));
            }
            // Reap finished connection tasks so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    tracing::debug!("endpoint closed; accept loop ends");
}

/// Completes one connection's handshake, learns the peer's node name from its certificate,
/// and serves its streams until the connection ends.
async fn serve_connection(
    incoming: quinn::Incoming,
    handler: Arc<dyn Handler>,
    max_frame_len: u32,
    budget: Arc<InboundBudget>,
) {
    let remote_addr = incoming.remote_address();
    let connection = match incoming.await {
        Ok(connection) => connection,
        Err(e) => {
            // A peer without a certificate from the cluster CA ends here: rustls refused it.
            tracing::warn!(%remote_addr, "refused connection: {e}");
            return;
        }
    };
    let peer = match tls::peer_node_name(&connection) {
        Ok(name) => name,
        Err(e) => {
            tracing::warn!(%remote_addr, "refused connection: {e}");
            connection.close(VarInt::from_u32(close_code::UNAUTHENTICATED), b"no node name in certificate");
            return;
        }
    };
    tracing::debug!(%remote_addr, %peer, "accepted connection");
    // Cluster nodes are never made to wait for memory; everyone else shares the budget.
    let budget = (!is_cluster_node(&peer)).then_some(budget);
    let mut streams = JoinSet::new();
    loop {
        tokio::select! {
            stream = connection.accept_bi() => match stream {
                Ok((send, recv)) => {
                    let stream = Stream { peer: peer.clone(), remote_addr, send, recv };
                    streams.spawn(serve_stream(stream, handler.clone(), max_frame_len, budget.clone()));
                }
                Err(e) => {
                    tracing::debug!(%remote_addr, %peer, "connection ended: {e}");
                    break;
                }
            },
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
        }
    }
}

/// One accepted request stream and who opened it.
struct Stream {
    peer: String,
    remote_addr: SocketAddr,
    send: SendStream,
    recv: RecvStream,
}

/// The memory callers that are not nodes may fill with requests, in units of
/// [`InboundBudget::UNIT`] bytes.
pub(crate) struct InboundBudget {
    units: Arc<Semaphore>,
    total: u32,
}

impl InboundBudget {
    const UNIT: u64 = 64 * 1024;

    pub(crate) fn new(bytes: u64) -> Self {
        let total = u32::try_from(bytes / Self::UNIT).unwrap_or(u32::MAX).max(1);
        Self { units: Arc::new(Semaphore::new(total as usize)), total }
    }

    /// Waits until `bytes` fit (a request larger than the whole budget waits for all of it).
    async fn reserve(&self, bytes: u32) -> Option<OwnedSemaphorePermit> {
        let units = u64::from(bytes).div_ceil(Self::UNIT).clamp(1, u64::from(self.total));
        let units = u32::try_from(units).unwrap_or(self.total);
        self.units.clone().acquire_many_owned(units).await.ok()
    }
}

/// Reads one request from a stream, runs the handler on it, and writes back its response.
async fn serve_stream(
    stream: Stream,
    handler: Arc<dyn Handler>,
    max_frame_len: u32,
    budget: Option<Arc<InboundBudget>>,
) {
    let Stream { peer, remote_addr, mut send, mut recv } = stream;
    let read = async {
        let header = frame::read_frame_header(&mut recv, max_frame_len).await?;
        // Held until the answer is sent: the request's bytes live that long.
        let permit = match &budget {
            Some(budget) => budget.reserve(header.len).await,
            None => None,
        };
        let payload = frame::read_frame_payload(&mut recv, &header).await?;
        Ok::<_, FrameIoError>((header.kind, payload, permit))
    };
    let (kind, payload, _permit) = match read.await {
        Ok(frame) => frame,
        Err(e) => {
            match e {
                FrameIoError::Frame(FrameError::TooLarge { .. }) => {
                    tracing::warn!(%remote_addr, %peer, "request refused: {e}");
                    refuse(&mut send, &mut recv, Refusal::FrameTooLarge);
                }
                FrameIoError::Frame(FrameError::UnsupportedVersion { .. }) => {
                    tracing::warn!(%remote_addr, %peer, "request refused: {e}");
                    refuse(&mut send, &mut recv, Refusal::UnsupportedVersion);
                }
                // The caller gave up mid-request or the connection broke: nobody to answer.
                FrameIoError::Frame(FrameError::Truncated { .. })
                | FrameIoError::Read(_)
                | FrameIoError::Write(_) => tracing::debug!(%remote_addr, %peer, "request abandoned: {e}"),
            }
            return;
        }
    };
    let request = Request { peer, remote_addr, kind, payload: Bytes::from(payload) };
    let mut task = AbortOnDrop(tokio::spawn(handler.handle(request)));
    // The caller stops its receiving side when it gives up (its deadline passed); the handler
    // is then cancelled rather than left computing an answer nobody reads.
    let stopped = send.stopped();
    let response = tokio::select! {
        response = &mut task.0 => response,
        _ = stopped => {
            tracing::debug!(%remote_addr, "caller gave up; handler cancelled");
            return;
        }
    };
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(%remote_addr, "request handler failed: {e}");
            let _ = send.reset(Refusal::HandlerFailed.code());
            return;
        }
    };
    match frame::write_frame(&mut send, response.kind, response.payload, max_frame_len).await {
        Ok(()) => {
            // Fails only if the stream is already closed, which the write would have reported.
            let _ = send.finish();
        }
        Err(FrameIoError::Frame(e)) => {
            // Our own handler answered more than the limit allows: a bug here, not the caller's.
            tracing::error!(%remote_addr, "response refused: {e}");
            let _ = send.reset(Refusal::FrameTooLarge.code());
        }
        Err(e) => tracing::debug!(%remote_addr, "response not delivered: {e}"),
    }
}

/// Refuses a request: stops reading it and resets the response with the reason's code.
fn refuse(send: &mut SendStream, recv: &mut RecvStream, refusal: Refusal) {
    // Either may fail only because the stream is already closed, in which case there is nobody
    // left to tell.
    let _ = recv.stop(refusal.code());
    let _ = send.reset(refusal.code());
}
