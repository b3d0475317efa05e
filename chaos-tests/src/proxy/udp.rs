//! The UDP proxy in front of one node's QUIC endpoint: every packet another node sends to it
//! passes here, and so does every packet it sends back, each judged by the [`Faults`] table.
//!
//! A packet arriving at the proxy's address from source S is forwarded to the node through an
//! upstream socket of S's own, so the node sees one distinct peer per source and its replies,
//! arriving at that upstream socket, can be relayed back out of the proxy's address to S.
//! Packets from S to the node travel the link `(Peers[S], node)`; replies travel `(node, Peers[S])`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use super::delay_line::{DelayLine, send_datagram};
use super::faults::{Faults, Verdict};
use super::peers::Peers;

/// The largest UDP payload; QUIC never sends more than a path's MTU.
const MAX_DATAGRAM: usize = 65_535;

/// An upstream socket unused in both directions for this long is closed.
const IDLE_UPSTREAM: Duration = Duration::from_secs(60);

/// How often idle upstream sockets are looked for.
const REAP_EVERY: Duration = Duration::from_secs(10);

/// A running UDP proxy for one node; it stops when dropped.
#[derive(Debug)]
pub struct UdpProxy {
    node: u64,
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl UdpProxy {
    /// Binds a proxy on 127.0.0.1 for `node`, whose QUIC endpoint listens on `target`, and
    /// registers `node` in `faults`. Senders are told apart by `peers`. Must be called within a
    /// tokio runtime; the proxy runs on it until the handle is dropped.
    pub fn start(node: u64, target: SocketAddr, faults: Faults, peers: Peers) -> io::Result<UdpProxy> {
        let front = Arc::new(bind_local(None)?);
        let addr = front.local_addr()?;
        faults.add_node(node);
        let (line, line_task) = DelayLine::start();
        let started = Instant::now();
        let shared = Shared { node, target, front, faults, peers, line, started };
        let front_task = tokio::spawn(shared.forward());
        tracing::debug!(node, %addr, %target, "udp proxy started");
        Ok(UdpProxy { node, addr, tasks: vec![front_task, line_task] })
    }

    /// The address to advertise to the other nodes as `node`'s QUIC address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node behind this proxy.
    pub fn node(&self) -> u64 {
        self.node
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What every task of one proxy needs.
#[derive(Clone, Debug)]
struct Shared {
    node: u64,
    target: SocketAddr,
    front: Arc<UdpSocket>,
    faults: Faults,
    peers: Peers,
    line: DelayLine,
    started: Instant,
}

/// The upstream socket of one source.
#[derive(Debug)]
struct Upstream {
    socket: Arc<UdpSocket>,
    /// When it last carried a packet either way, in milliseconds since the proxy started.
    last_used: Arc<AtomicU64>,
    relay: AbortHandle,
}

impl Shared {
    /// Milliseconds since the proxy started (a cheap clock for the idle check).
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Receives what the sources send and forwards it to the node; owns the upstream sockets and
    /// their relay tasks, which stop with it.
    async fn forward(self) {
        let mut upstreams: HashMap<SocketAddr, Upstream> = HashMap::new();
        let mut relays = JoinSet::new();
        let mut reap = tokio::time::interval(REAP_EVERY);
        reap.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            tokio::select! {
                received = self.front.recv_from(&mut buf) => {
                    let (len, source) = match received {
                        Ok(received) => received,
                        Err(error) => {
                            tracing::trace!(node = self.node, %error, "udp proxy: receive from a source");
                            continue;
                        }
                    };
                    let upstream = match upstreams.entry(source) {
                        Entry::Occupied(entry) => entry.into_mut(),
                        Entry::Vacant(entry) => match self.open_upstream(source, &mut relays) {
                            Ok(upstream) => entry.insert(upstream),
                            Err(error) => {
                                tracing::warn!(node = self.node, %source, %error, "udp proxy: open upstream socket");
                                continue;
                            }
                        },
                    };
                    upstream.last_used.store(self.now_ms(), Ordering::Relaxed);
                    let verdict = self.faults.judge(self.peers.get(source), Some(self.node));
                    self.deliver(verdict, &upstream.socket, None, &buf[..len]).await;
                }
                _ = reap.tick() => {
                    let now = self.now_ms();
                    let idle_ms = u64::try_from(IDLE_UPSTREAM.as_millis()).unwrap_or(u64::MAX);
                    upstreams.retain(|source, upstream| {
                        let idle = now.saturating_sub(upstream.last_used.load(Ordering::Relaxed)) >= idle_ms;
                        if idle {
                            tracing::debug!(node = self.node, %source, "udp proxy: close idle upstream socket");
                            upstream.relay.abort();
                        }
                        !idle
                    });
                }
                Some(_) = relays.join_next(), if !relays.is_empty() => {}
            }
        }
    }

    /// Opens the upstream socket for `source`, connected to the node, and starts relaying the
    /// node's replies back to `source`.
    fn open_upstream(&self, source: SocketAddr, relays: &mut JoinSet<()>) -> io::Result<Upstream> {
        let socket = Arc::new(bind_local(Some(self.target))?);
        let last_used = Arc::new(AtomicU64::new(self.now_ms()));
        let relay = relays.spawn(self.clone().relay_back(source, socket.clone(), last_used.clone()));
        tracing::debug!(node = self.node, %source, upstream = ?socket.local_addr().ok(), "udp proxy: new source");
        Ok(Upstream { socket, last_used, relay })
    }

    /// Relays what the node sends to `source`'s upstream socket back to `source`.
    async fn relay_back(self, source: SocketAddr, upstream: Arc<UdpSocket>, last_used: Arc<AtomicU64>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let len = match upstream.recv(&mut buf).await {
                Ok(len) => len,
                // Typically ECONNREFUSED: the node is down, and a later packet may find it up.
                Err(error) => {
                    tracing::trace!(node = self.node, %source, %error, "udp proxy: receive from the node");
                    continue;
                }
            };
            last_used.store(self.now_ms(), Ordering::Relaxed);
            let verdict = self.faults.judge(Some(self.node), self.peers.get(source));
            self.deliver(verdict, &self.front, Some(source), &buf[..len]).await;
        }
    }

    /// Carries out `verdict` for one packet: nothing, or sends now and/or through the delay line.
    async fn deliver(
        &self,
        verdict: Verdict,
        socket: &Arc<UdpSocket>,
        dest: Option<SocketAddr>,
        bytes: &[u8],
    ) {
        let Verdict::Send { delay, duplicate } = verdict else {
            return;
        };
        for hold in std::iter::once(delay).chain(duplicate) {
            if hold.is_zero() {
                send_datagram(socket, dest, bytes).await;
            } else {
                self.line.send_later(hold, socket.clone(), dest, bytes.to_vec());
            }
        }
    }
}

/// A tokio UDP socket on 127.0.0.1 with a free port, connected to `peer` if given (so that it
/// only hears from it). Done on std sockets so that [`UdpProxy::start`] need not be async: neither
/// binding nor connecting a UDP socket waits for anything.
fn bind_local(peer: Option<SocketAddr>) -> io::Result<UdpSocket> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    if let Some(peer) = peer {
        socket.connect(peer)?;
    }
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket)
}
