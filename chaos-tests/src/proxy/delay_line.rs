//! A delay line for UDP packets: holds each packet until its time comes, then sends it, without
//! holding up the packets behind it (a late packet is overtaken, as on a real network).
//!
//! One task per proxy keeps the pending packets in a heap ordered by send time; written by hand
//! because `tokio-util`'s `DelayQueue` is not among this crate's dependencies, and the heap is
//! a dozen lines.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

/// The sending side of a delay line; clones feed the same line.
#[derive(Clone, Debug)]
pub(crate) struct DelayLine {
    tx: mpsc::UnboundedSender<Pending>,
}

/// One packet waiting for its time.
#[derive(Debug)]
struct Pending {
    at: Instant,
    /// Arrival order, so packets due at the same instant leave in the order they came.
    seq: u64,
    socket: Arc<UdpSocket>,
    /// `None` for a connected socket.
    dest: Option<SocketAddr>,
    bytes: Vec<u8>,
}

impl DelayLine {
    /// Starts the line's task; the caller aborts the returned handle to stop it (pending packets
    /// are then never sent).
    pub(crate) fn start() -> (DelayLine, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (DelayLine { tx }, tokio::spawn(run(rx)))
    }

    /// Sends `bytes` through `socket` (to `dest`, or to its connected peer) after `hold`.
    pub(crate) fn send_later(
        &self,
        hold: Duration,
        socket: Arc<UdpSocket>,
        dest: Option<SocketAddr>,
        bytes: Vec<u8>,
    ) {
        let pending = Pending { at: Instant::now() + hold, seq: 0, socket, dest, bytes };
        // Fails only once the line has stopped, i.e. while its proxy is being dropped.
        let _ = self.tx.send(pending);
    }
}

/// Sends one datagram now; failures are logged and otherwise ignored, as a network would.
pub(crate) async fn send_datagram(socket: &UdpSocket, dest: Option<SocketAddr>, bytes: &[u8]) {
    let sent = match dest {
        Some(dest) => socket.send_to(bytes, dest).await,
        None => socket.send(bytes).await,
    };
    if let Err(error) = sent {
        tracing::trace!(?dest, %error, "udp proxy: send datagram");
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let next = heap.peek().map(|p: &Pending| p.at);
        tokio::select! {
            pending = rx.recv() => match pending {
                Some(pending) => {
                    seq += 1;
                    heap.push(Pending { seq, ..pending });
                }
                None => return,
            },
            () = async {
                match next {
                    Some(at) => sleep_until(at).await,
                    None => future::pending().await,
                }
            } => {
                let now = Instant::now();
                while heap.peek().is_some_and(|p| p.at <= now) {
                    if let Some(p) = heap.pop() {
                        send_datagram(&p.socket, p.dest, &p.bytes).await;
                    }
                }
            }
        }
    }
}

// `BinaryHeap` is a max-heap: the earliest packet must compare greatest.
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Pending {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn later_packets_can_overtake_earlier_ones() {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let dest = Some(receiver.local_addr().unwrap());
        let (line, task) = DelayLine::start();
        let start = Instant::now();
        line.send_later(Duration::from_millis(300), sender.clone(), dest, b"slow".to_vec());
        line.send_later(Duration::from_millis(50), sender.clone(), dest, b"fast".to_vec());
        let mut buf = [0u8; 16];
        let deadline = Duration::from_secs(10);
        let n = tokio::time::timeout(deadline, receiver.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"fast");
        assert!(start.elapsed() >= Duration::from_millis(50));
        let n = tokio::time::timeout(deadline, receiver.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"slow");
        assert!(start.elapsed() >= Duration::from_millis(300));
        task.abort();
    }
}
