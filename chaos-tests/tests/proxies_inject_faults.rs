//! The fault proxies on real sockets: a UDP echo "node" and a TCP echo "API" behind them, and
//! every fault the nemesis uses shown to happen — and to stop happening on heal.
//!
//! Nothing sleeps to synchronise: every wait is for a condition (an echo, a counter), with a
//! generous deadline. Where a test must show a packet was *not* delivered, it waits until the
//! proxy has counted it dropped, then sends a marker on the healed link and checks the marker is
//! the first thing through; packets through one proxy on one path keep their order unless delayed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_chaos::proxy::{ClientFaults, Faults, LinkFaults, Peers, TcpProxy, UdpProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// The seed of every fault table here; the drop-rate assertion is loose enough for any seed.
const SEED: u64 = 0x5eed;

/// How long any awaited condition may take on a small, shared machine.
const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `condition` until it holds, failing the test after [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what} (seed {SEED:#x})");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Receives one datagram, failing the test after [`DEADLINE`].
async fn recv(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let len = tokio::time::timeout(DEADLINE, socket.recv(&mut buf)).await.expect("no datagram").unwrap();
    buf.truncate(len);
    buf
}

/// What an echo node received, and from where, in order.
type Log = Arc<Mutex<Vec<(Vec<u8>, SocketAddr)>>>;

/// A UDP "node" that echoes every datagram and records what it received, and from where.
struct EchoNode {
    socket: Arc<UdpSocket>,
    log: Log,
    task: JoinHandle<()>,
}

impl EchoNode {
    async fn start() -> EchoNode {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let log = Log::default();
        let task = tokio::spawn({
            let (socket, log) = (socket.clone(), log.clone());
            async move {
                let mut buf = vec![0u8; 65_535];
                loop {
                    let (len, from) = socket.recv_from(&mut buf).await.unwrap();
                    // Echo first, so a logged packet has had its echo sent.
                    socket.send_to(&buf[..len], from).await.unwrap();
                    log.lock().unwrap().push((buf[..len].to_vec(), from));
                }
            }
        });
        EchoNode { socket, log, task }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.log.lock().unwrap().iter().map(|(bytes, _)| bytes.clone()).collect()
    }
}

impl Drop for EchoNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Node 2 (an echo node) behind a proxy, and node 1 (a client socket registered in `Peers`)
/// sending to the proxy.
struct UdpSetup {
    faults: Faults,
    node: EchoNode,
    proxy: UdpProxy,
    client: UdpSocket,
}

impl UdpSetup {
    async fn start() -> UdpSetup {
        let faults = Faults::new(SEED);
        faults.add_node(1);
        let node = EchoNode::start().await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peers = Peers::new();
        peers.insert(client.local_addr().unwrap(), 1);
        let proxy = UdpProxy::start(2, node.addr(), faults.clone(), peers).unwrap();
        client.connect(proxy.addr()).await.unwrap();
        UdpSetup { faults, node, proxy, client }
    }

    /// Sends `msg` from node 1 and expects it echoed.
    async fn echo(&self, msg: &[u8]) {
        self.client.send(msg).await.unwrap();
        assert_eq!(recv(&self.client).await, msg);
    }

    async fn wait_dropped(&self, dropped: u64) {
        eventually(&format!("{dropped} packets dropped"), || async {
            self.faults.stats().dropped == dropped
        })
        .await;
    }
}

#[tokio::test]
async fn udp_one_way_block_drops_one_direction_only_and_heal_restores() {
    let s = UdpSetup::start().await;
    s.echo(b"hello").await;

    // 1 → 2 blocked: node 1's packets are dropped, but node 2 can still reach node 1.
    s.faults.block_one_way(1, 2);
    s.client.send(b"lost-1").await.unwrap();
    s.client.send(b"lost-2").await.unwrap();
    s.wait_dropped(2).await;
    let upstream = s.node.log.lock().unwrap()[0].1;
    s.node.socket.send_to(b"from-2", upstream).await.unwrap();
    assert_eq!(recv(&s.client).await, b"from-2");

    // 2 → 1 blocked: node 2 hears node 1, but its reply is dropped.
    s.faults.heal();
    s.faults.block_one_way(2, 1);
    s.client.send(b"unanswered").await.unwrap();
    s.wait_dropped(3).await;
    assert_eq!(s.node.received().last().unwrap(), b"unanswered");

    s.faults.heal();
    s.echo(b"marker").await;
    let received: Vec<&[u8]> = vec![b"hello", b"unanswered", b"marker"];
    assert_eq!(s.node.received(), received);
}

#[tokio::test]
async fn udp_drop_loses_all_or_some_packets() {
    let s = UdpSetup::start().await;
    s.faults.set_link(1, 2, LinkFaults { drop: 1.0, ..LinkFaults::default() });
    for i in 0..50u32 {
        s.client.send(&i.to_be_bytes()).await.unwrap();
    }
    s.wait_dropped(50).await;
    s.faults.heal();
    s.echo(b"marker").await;
    assert_eq!(s.node.received(), vec![b"marker".to_vec()]);

    // At 0.3, some but not all: every packet is accounted for as received or dropped, in batches
    // small enough that no socket buffer overflows (which would look like a drop).
    s.faults.set_link(1, 2, LinkFaults { drop: 0.3, ..LinkFaults::default() });
    let (base_received, base_dropped) = (s.node.received().len(), s.faults.stats().dropped);
    let mut sent = 0u64;
    for _ in 0..12 {
        for _ in 0..25 {
            s.client.send(b"maybe").await.unwrap();
            sent += 1;
        }
        eventually("every packet received or dropped", || async {
            let received = s.node.received().len() - base_received;
            let dropped = s.faults.stats().dropped - base_dropped;
            received as u64 + dropped == sent
        })
        .await;
    }
    let dropped = s.faults.stats().dropped - base_dropped;
    assert!((45..=135).contains(&dropped), "{dropped} of {sent} dropped at 0.3 (seed {SEED:#x})");
}

#[tokio::test]
async fn udp_duplicate_delivers_every_packet_twice() {
    let s = UdpSetup::start().await;
    s.faults.set_link(1, 2, LinkFaults { duplicate: 1.0, ..LinkFaults::default() });
    for i in 0..10u8 {
        s.client.send(&[i]).await.unwrap();
    }
    eventually("20 packets at the node", || async { s.node.received().len() >= 20 }).await;
    let received = s.node.received();
    assert_eq!(received.len(), 20);
    for i in 0..10u8 {
        assert_eq!(received.iter().filter(|p| **p == [i]).count(), 2, "copies of packet {i}");
    }
    // The reverse link is healthy: one echo per copy.
    for _ in 0..20 {
        recv(&s.client).await;
    }
    assert_eq!(s.faults.stats().duplicated, 10);
}

#[tokio::test]
async fn udp_delay_holds_packets_back_without_holding_up_others() {
    let s = UdpSetup::start().await;
    let delay = Duration::from_millis(200);
    s.faults.set_link(1, 2, LinkFaults { delay, ..LinkFaults::default() });
    let start = Instant::now();
    s.echo(b"slow").await;
    assert!(start.elapsed() >= delay, "echoed after {:?}", start.elapsed());

    // A packet held back for a minute does not hold up a tool's packet sent after it.
    s.faults.set_link(1, 2, LinkFaults { delay: Duration::from_secs(60), ..LinkFaults::default() });
    s.client.send(b"stuck").await.unwrap();
    eventually("the stuck packet counted", || async { s.faults.stats().delayed == 2 }).await;
    let tool = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    tool.connect(s.proxy.addr()).await.unwrap();
    tool.send(b"tool").await.unwrap();
    assert_eq!(recv(&tool).await, b"tool");
    assert!(!s.node.received().contains(&b"stuck".to_vec()));
}

#[tokio::test]
async fn udp_unknown_source_passes_during_partition_and_proxy_stops_on_drop() {
    let s = UdpSetup::start().await;
    s.faults.partition(&[vec![1], vec![2]]);
    s.client.send(b"partitioned").await.unwrap();
    s.wait_dropped(1).await;
    let tool = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    tool.connect(s.proxy.addr()).await.unwrap();
    tool.send(b"tool").await.unwrap();
    assert_eq!(recv(&tool).await, b"tool");
    s.faults.heal();
    s.echo(b"healed").await;
    assert_eq!(s.node.received(), vec![b"tool".to_vec(), b"healed".to_vec()]);

    let addr = s.proxy.addr();
    drop(s);
    eventually("the proxy's port freed", || async { std::net::UdpSocket::bind(addr).is_ok() }).await;
}

/// A TCP echo server standing in for a node's API.
async fn tcp_echo_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    (addr, task)
}

/// Sends `msg` on `stream` and reads the echo back.
async fn echo_on(stream: &mut TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(msg).await?;
    let mut back = vec![0u8; msg.len()];
    tokio::time::timeout(DEADLINE, stream.read_exact(&mut back)).await.expect("no echo")?;
    Ok(back)
}

/// Whether a connection to `addr` is refused, reset or closed before it can echo anything.
async fn refused(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return true;
    };
    echo_on(&mut stream, b"anyone?").await.is_err()
}

#[tokio::test]
async fn tcp_block_refuses_and_cuts_connections_and_heal_restores() {
    let (api, _server) = tcp_echo_server().await;
    let faults = Faults::new(SEED);
    let proxy = TcpProxy::start(2, api, faults.clone()).unwrap();
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo_on(&mut open, b"hello").await.unwrap(), b"hello");

    faults.set_client(2, ClientFaults { blocked: true, ..ClientFaults::default() });
    let mut rest = Vec::new();
    let cut = tokio::time::timeout(DEADLINE, open.read_to_end(&mut rest)).await.expect("not cut");
    assert!(cut.is_err() || rest.is_empty(), "{cut:?} {rest:?}");
    assert_eq!(faults.stats().cut, 1);
    assert!(refused(proxy.addr()).await);
    assert!(faults.stats().refused >= 1);

    faults.heal_clients();
    let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo_on(&mut again, b"healed").await.unwrap(), b"healed");

    let addr = proxy.addr();
    drop(proxy);
    eventually("the proxy's port closed", || async { TcpStream::connect(addr).await.is_err() }).await;
    // Dropping the proxy also ends its open connections.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(DEADLINE, again.read_to_end(&mut rest)).await.expect("not closed");
    assert!(ended.is_err() || rest.is_empty(), "{ended:?} {rest:?}");
}

#[tokio::test]
async fn tcp_delay_holds_back_every_chunk() {
    let (api, _server) = tcp_echo_server().await;
    let faults = Faults::new(SEED);
    let proxy = TcpProxy::start(2, api, faults.clone()).unwrap();
    let delay = Duration::from_millis(200);
    faults.set_client(2, ClientFaults { delay, ..ClientFaults::default() });
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let start = Instant::now();
    assert_eq!(echo_on(&mut stream, b"slow").await.unwrap(), b"slow");
    // Held back once on the way in and once on the way out.
    assert!(start.elapsed() >= 2 * delay, "echoed after {:?}", start.elapsed());
    assert_eq!(faults.stats().delayed, 2);
    assert_eq!(faults.stats().connections, 1);
}
