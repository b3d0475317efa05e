//! The TCP proxy in front of one node's HTTP API: relays client connections to the node, and
//! refuses, cuts or slows them as the node's [`ClientFaults`](super::ClientFaults) say.
//!
//! A blocked node's new connections are accepted and reset at once (the kernel accepts them
//! before the proxy can say no); its open connections are reset as soon as the block is set,
//! because every connection watches the table's change notifications.

use std::future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::faults::Faults;
use super::stats::Counters;

/// How long connecting to the node may take before the client's connection is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes relayed in one chunk (and held back by one `delay`).
const CHUNK: usize = 16 * 1024;

/// A running TCP proxy for one node's API; it stops, closing every connection, when dropped.
#[derive(Debug)]
pub struct TcpProxy {
    node: u64,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Binds a proxy on 127.0.0.1 for `node`, whose API listens on `target`. Must be called
    /// within a tokio runtime; the proxy runs on it until the handle is dropped.
    pub fn start(node: u64, target: SocketAddr, faults: Faults) -> io::Result<TcpProxy> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept(listener, node, target, faults));
        tracing::debug!(node, %addr, %target, "tcp proxy started");
        Ok(TcpProxy { node, addr, task })
    }

    /// The address clients should use for `node`'s API.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node behind this proxy.
    pub fn node(&self) -> u64 {
        self.node
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts clients; owns the connection tasks, which stop with it.
async fn accept(listener: TcpListener, node: u64, target: SocketAddr, faults: Faults) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    if faults.client(node).blocked {
                        tracing::trace!(node, %peer, "tcp proxy: refuse client");
                        reset(client, None);
                        Counters::bump(&faults.counters().refused);
                    } else {
                        connections.spawn(serve(client, node, target, faults.clone()));
                    }
                }
                Err(error) => {
                    // Out of file descriptors, typically: wait a little rather than spin.
                    tracing::warn!(node, %error, "tcp proxy: accept client");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Relays one client connection until either side closes it or the node becomes blocked.
async fn serve(mut client: TcpStream, node: u64, target: SocketAddr, faults: Faults) {
    let mut changes = faults.client_changes();
    let mut upstream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(upstream)) => upstream,
        Ok(Err(error)) => {
            tracing::debug!(node, %error, "tcp proxy: connect to the node");
            return reset(client, None);
        }
        Err(_) => {
            tracing::debug!(node, "tcp proxy: connect to the node: timed out");
            return reset(client, None);
        }
    };
    // Small HTTP requests should not wait for Nagle on the proxy's account.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    Counters::bump(&faults.counters().connections);
    let cut = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let pipe = async {
            tokio::try_join!(
                relay(client_read, upstream_write, node, &faults),
                relay(upstream_read, client_write, node, &faults),
            )
        };
        tokio::select! {
            relayed = pipe => {
                if let Err(error) = relayed {
                    tracing::trace!(node, %error, "tcp proxy: relay");
                }
                false
            }
            () = until_blocked(&mut changes, node, &faults) => true,
        }
    };
    if cut {
        tracing::debug!(node, "tcp proxy: cut client connection");
        Counters::bump(&faults.counters().cut);
        reset(client, Some(upstream));
    }
}

/// Copies `from` to `to` a chunk at a time, holding each chunk back by the node's client delay,
/// and passes the end of the stream on.
async fn relay(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    node: u64,
    faults: &Faults,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let len = from.read(&mut buf).await?;
        if len == 0 {
            return to.shutdown().await;
        }
        let delay = faults.client(node).delay;
        if !delay.is_zero() {
            Counters::bump(&faults.counters().delayed);
            tokio::time::sleep(delay).await;
        }
        to.write_all(&buf[..len]).await?;
    }
}

/// Returns once `node` is blocked for clients.
async fn until_blocked(changes: &mut watch::Receiver<u64>, node: u64, faults: &Faults) {
    loop {
        if faults.client(node).blocked {
            return;
        }
        if changes.changed().await.is_err() {
            // The table is gone, so nothing can block this node any more.
            return future::pending().await;
        }
    }
}

/// Closes the connections with a reset rather than a clean end of stream, as a broken network
/// path or a crashed node would look to the client.
fn reset(client: TcpStream, upstream: Option<TcpStream>) {
    for stream in std::iter::once(client).chain(upstream) {
        let _ = stream.set_zero_linger();
    }
}
