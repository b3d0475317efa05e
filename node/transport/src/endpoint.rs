//! [`Transport`]: a node's QUIC endpoint, serving peers and dialling them from one socket.
//!
//! One connection per peer address, cached and redialled once it breaks; one bidirectional
//! stream per request, carrying one frame each way; a deadline on every request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use quinn::VarInt;
use tokio::task::JoinHandle;

use super::error::{TransportError, close_code};
use super::frame;
use super::identity::NodeIdentity;
use super::server::{self, Handler};
use super::settings::TransportSettings;
use super::tls;

/// The connection to one peer address, shared by all requests to it.
///
/// The async mutex makes concurrent requests to a peer with no live connection wait for one
/// dial instead of each starting their own.
type PeerSlot = Arc<tokio::sync::Mutex<Option<CachedConnection>>>;

/// A live connection and the node name its certificate was verified for.
struct CachedConnection {
    server_name: String,
    connection: quinn::Connection,
}

/// A node's QUIC transport. Share it behind an `Arc`; every method takes `&self`.
///
/// Dropping it closes every connection at once; [`Transport::shutdown`] does the same and then
/// waits until peers have been told.
pub struct Transport {
    endpoint: quinn::Endpoint,
    local_addr: SocketAddr,
    node_name: String,
    settings: TransportSettings,
    peers: Mutex<HashMap<SocketAddr, PeerSlot>>,
    accept_task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("node_name", &self.node_name)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Binds a QUIC endpoint on `addr` for the node `identity` names. It can dial at once;
    /// it answers peers once [`Transport::serve`] is given a handler (until then, their
    /// handshakes wait). Must be called within a tokio runtime.
    ///
    /// Binding and serving are two steps because the handler usually needs things (a Raft
    /// instance) that themselves need the transport to be built.
    pub async fn bind(
        addr: SocketAddr,
        identity: &NodeIdentity,
        settings: TransportSettings,
    ) -> Result<Self, TransportError> {
        let transport_config = settings.quinn_transport_config()?;
        let server_config = tls::quinn_server_config(identity, transport_config.clone())?;
        let client_config = tls::quinn_client_config(identity, transport_config)?;
        let endpoint_config = quinn::EndpointConfig::new(tls::stateless_reset_key(identity));
        // Binding a UDP socket does not block: there is no handshake or lingering state.
        let socket =
            std::net::UdpSocket::bind(addr).map_err(|source| TransportError::Bind { addr, source })?;
        let mut endpoint =
            quinn::Endpoint::new(endpoint_config, Some(server_config), socket, Arc::new(quinn::TokioRuntime))
                .map_err(|source| TransportError::Bind { addr, source })?;
        endpoint.set_default_client_config(client_config);
        let local_addr = endpoint.local_addr().map_err(|source| TransportError::Bind { addr, source })?;
        tracing::info!(node = identity.name(), %local_addr, "QUIC transport bound");
        Ok(Self {
            endpoint,
            local_addr,
            node_name: identity.name().to_owned(),
            settings,
            peers: Mutex::new(HashMap::new()),
            accept_task: Mutex::new(None),
        })
    }

    /// Starts answering peers' requests with `handler`, each in its own task. Calling it again
    /// replaces the handler; the connections the previous one served are dropped, and their
    /// peers redial on their next request.
    pub fn serve(&self, handler: impl Handler) {
        let task = tokio::spawn(server::accept_loop(
            self.endpoint.clone(),
            Arc::new(handler),
            self.settings.max_frame_len,
            Arc::new(server::InboundBudget::new(self.settings.max_client_inbound_bytes)),
        ));
        if let Some(previous) = self.accept_task.lock().replace(task) {
            previous.abort();
        }
    }

    /// The address the endpoint is bound to (with the port the OS chose, if it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// This node's name, from its certificate.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The settings the transport runs with.
    pub fn settings(&self) -> &TransportSettings {
        &self.settings
    }

    /// How many connections are open, accepted and dialled together.
    pub fn open_connections(&self) -> usize {
        self.endpoint.open_connections()
    }

    /// Sends a request of `kind` to the node `server_name` at `peer` and returns its response's
    /// kind and payload.
    ///
    /// The peer must prove with a cluster-CA certificate that it is `server_name`. Everything
    /// (dialling if needed, waiting for a free stream, sending, the peer's handler, receiving)
    /// must finish within `deadline`, or the request fails with [`TransportError::Timeout`] and
    /// the peer's handler is cancelled.
    pub async fn request(
        &self,
        peer: SocketAddr,
        server_name: &str,
        kind: u8,
        payload: Bytes,
        deadline: Duration,
    ) -> Result<(u8, Vec<u8>), TransportError> {
        // Refuse an oversized request before spending a dial on it.
        frame::encode_header(kind, payload.len(), self.settings.max_frame_len)
            .map_err(|e| TransportError::from_frame_io(peer, e.into()))?;
        match tokio::time::timeout(deadline, self.request_within_deadline(peer, server_name, kind, payload))
            .await
        {
            Ok(result) => result,
            Err(_elapsed) => Err(TransportError::Timeout { peer, deadline }),
        }
    }

    async fn request_within_deadline(
        &self,
        peer: SocketAddr,
        server_name: &str,
        kind: u8,
        payload: Bytes,
    ) -> Result<(u8, Vec<u8>), TransportError> {
        let connection = self.connection(peer, server_name).await?;
        let (mut send, mut recv) =
            connection.open_bi().await.map_err(|e| TransportError::from_connection_error(peer, e))?;
        let max_len = self.settings.max_frame_len;
        frame::write_frame(&mut send, kind, payload, max_len)
            .await
            .map_err(|e| TransportError::from_frame_io(peer, e))?;
        // One frame per stream: finishing tells the peer the request is complete. It fails
        // only if the peer already stopped the stream, which reading the response reports.
        let _ = send.finish();
        frame::read_frame(&mut recv, max_len).await.map_err(|e| TransportError::from_frame_io(peer, e))
    }

    /// The live connection to `peer`, dialling it if there is none or the cached one broke.
    ///
    /// The dial runs in its own task, holding the peer's slot: a request whose deadline passes
    /// mid-handshake stops waiting, but the handshake goes on and the next request finds its
    /// connection. (Cancelling it with the request would, on a loaded machine, abort every
    /// handshake that takes longer than the shortest deadline, such as a 150 ms heartbeat's,
    /// and the peer would never be reached again.)
    async fn connection(
        &self,
        peer: SocketAddr,
        server_name: &str,
    ) -> Result<quinn::Connection, TransportError> {
        let slot = self.peers.lock().entry(peer).or_default().clone();
        let mut cached = slot.lock_owned().await;
        if let Some(c) = cached.as_ref() {
            // A connection verified for another name says nothing about this one; replace it.
            if c.connection.close_reason().is_none() && c.server_name == server_name {
                return Ok(c.connection.clone());
            }
            tracing::debug!(%peer, "cached connection unusable; redialling");
        }
        let connecting = self
            .endpoint
            .connect(peer, server_name)
            .map_err(|e| TransportError::from_connect_error(peer, e))?;
        let server_name = server_name.to_owned();
        let dial_timeout = self.settings.dial_timeout;
        let dial = tokio::spawn(async move {
            let connection = tokio::time::timeout(dial_timeout, connecting)
                .await
                .map_err(|_| TransportError::Timeout { peer, deadline: dial_timeout })?
                .map_err(|e| TransportError::from_connection_error(peer, e))?;
            tracing::debug!(%peer, server_name, "connected");
            *cached = Some(CachedConnection { server_name, connection: connection.clone() });
            Ok(connection)
        });
        dial.await.map_err(|_| TransportError::ShutDown)?
    }

    /// Closes every connection, stops answering, and waits until peers have been told (or the
    /// closes have timed out), so that a new transport can bind the same address right after.
    /// Requests in flight fail: peers' with a retryable [`TransportError::ConnectionLost`],
    /// this node's own with [`TransportError::ShutDown`].
    pub async fn shutdown(&self) {
        self.close();
        self.endpoint.wait_idle().await;
        tracing::info!(node = %self.node_name, local_addr = %self.local_addr, "QUIC transport shut down");
    }

    /// Closes the endpoint and drops the serving side. Closing comes first, so streams dropped
    /// with their tasks are not mistaken by peers for complete (but empty) responses.
    fn close(&self) {
        self.endpoint.close(VarInt::from_u32(close_code::SHUTDOWN), b"node shutting down");
        if let Some(task) = self.accept_task.lock().take() {
            task.abort();
        }
        self.peers.lock().clear();
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        self.close();
    }
}
