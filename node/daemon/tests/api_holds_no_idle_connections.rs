//! No client holds an API connection it does not use. Against one HTTPS node with short
//! timeouts, 2,000 connections from eight addresses are opened and left as an attacker would
//! leave them: plain TCP that never starts TLS, TLS that says nothing, TLS that sends half a
//! request line, and TLS that makes one request and then idles. All are held at once while a
//! normal client keeps working, and the node closes every one of them within its timeout (plus
//! a generous margin for a loaded machine), no sooner than the timeout allows. The caps: over
//! its per-address cap an address is turned away while another still gets in, and over the
//! node's cap everyone is, until connections close. And a connection cap the open-file limit
//! cannot hold stops the node at start, saying how to fix it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod connections;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use connections::{get_over, loopback, metric, tcp_from, tls_config, tls_from, until_closed};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;

const HEADER_TIMEOUT: Duration = Duration::from_secs(8);
const IDLE_TIMEOUT: Duration = Duration::from_secs(8);
/// Room for a machine busy with 2,000 handshakes; the node's own timers are exact.
const MARGIN: Duration = Duration::from_secs(15);
const CONNECTIONS: usize = 2000;
const ADDRESSES: u8 = 8;

/// How a connection is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    NoHandshake,
    SilentTls,
    HalfRequestLine,
    OneRequestThenIdle,
}

impl Kind {
    fn of(i: usize) -> Self {
        match i % 10 {
            0 => Kind::NoHandshake,
            1..=4 => Kind::SilentTls,
            5..=8 => Kind::HalfRequestLine,
            _ => Kind::OneRequestThenIdle,
        }
    }

    fn timeout(self) -> Duration {
        if self == Kind::OneRequestThenIdle { IDLE_TIMEOUT } else { HEADER_TIMEOUT }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_and_half_open_connections_are_all_closed_while_a_client_keeps_working() {
    connections::raise_open_files(CONNECTIONS as u64 + 1024);
    let network = format!(
        "header_timeout_s = {}\nidle_timeout_s = {}\nmax_connections_per_address = {}",
        HEADER_TIMEOUT.as_secs(),
        IDLE_TIMEOUT.as_secs(),
        CONNECTIONS / ADDRESSES as usize + 50
    );
    let settings = Settings { api_tls: true, network, ..Default::default() };
    let cluster = ProcessCluster::start(1, settings).await;
    let token = cluster.add_user("root", true);
    let api = cluster.nodes[&1].api;
    let tls = tls_config(&cluster, &[]);

    // The normal client: a request every 50 ms on its kept-alive connection, each must succeed.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let normal = tokio::spawn({
        let (client, token, stop, served) =
            (connections::https_client(&cluster), token.clone(), stop.clone(), served.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let response =
                    client.get(format!("https://{api}/v1/me")).bearer_auth(&token).send().await.unwrap();
                assert_eq!(response.status(), 200);
                served.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep_until(started + Duration::from_millis(50)).await;
            }
        }
    });

    // The 2,000, opened 64 at a time; each task reports once it is set up, then waits for the
    // node to close its connection and returns how long that took after its last word.
    let started = Instant::now();
    let opening = Arc::new(Semaphore::new(64));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let from = loopback(2 + (i % ADDRESSES as usize) as u8);
        let (tls, token, opening, ready) = (tls.clone(), token.clone(), opening.clone(), ready_tx.clone());
        tasks.push(tokio::spawn(async move {
            let kind = Kind::of(i);
            let permit = opening.acquire_owned().await.unwrap();
            let (since, received) = match kind {
                Kind::NoHandshake => {
                    let mut tcp = tcp_from(from, api).await.unwrap();
                    drop(permit);
                    ready.send(()).unwrap();
                    (Instant::now(), until_closed(&mut tcp).await)
                }
                _ => {
                    let mut stream = tls_from(&tls, from, api).await.unwrap();
                    match kind {
                        Kind::HalfRequestLine => stream.write_all(b"GET /v1/me HT").await.unwrap(),
                        Kind::OneRequestThenIdle => {
                            let (status, _) = get_over(&mut stream, "/v1/me", &token).await.unwrap();
                            assert_eq!(status, 200);
                        }
                        _ => {}
                    }
                    let since = Instant::now();
                    drop(permit);
                    ready.send(()).unwrap();
                    (since, until_closed(&mut stream).await)
                }
            };
            // A connection the node closes on a timeout gets no answer (a half request line
            // included: the node does not guess what it was).
            assert!(received.is_empty(), "a {kind:?} connection got {received:?}");
            (kind, from, since.elapsed())
        }));
    }
    drop(ready_tx);
    for _ in 0..CONNECTIONS {
        ready_rx.recv().await.expect("a connection task failed before it was set up");
    }
    let set_up = started.elapsed();
    // All of them at once: the counter includes the normal client's connection and this one.
    let open = metric(&tls, loopback(20), api, "cairn_api_connections_open").await;
    println!("{CONNECTIONS} connections set up in {set_up:?}; {open} open on the node");
    assert!(open >= CONNECTIONS as u64, "only {open} connections open at once");

    let mut latest = Duration::ZERO;
    for task in tasks {
        let (kind, from, took) = task.await.unwrap();
        assert!(
            took <= kind.timeout() + MARGIN,
            "a {kind:?} connection from {from} was closed only after {took:?}"
        );
        // Closed by the timeout, not sooner (a cap, say): the node's clock starts at or before
        // the test's, so allow it the test's own delay in noticing.
        assert!(
            took + Duration::from_secs(2) >= kind.timeout(),
            "a {kind:?} connection from {from} was closed after {took:?}"
        );
        latest = latest.max(took);
    }
    println!("every connection closed; the last {latest:?} after its last word");
    stop.store(true, Ordering::Relaxed);
    normal.await.unwrap();
    let served = served.load(Ordering::Relaxed);
    assert!(served >= 20, "the normal client was served {served} times");
    let timed_out = metric(&tls, loopback(20), api, "cairn_api_connections_header_timeout_total").await
        + metric(&tls, loopback(20), api, "cairn_api_connections_idle_timeout_total").await
        + metric(&tls, loopback(20), api, "cairn_api_tls_handshakes_failed_total").await;
    assert!(timed_out >= CONNECTIONS as u64, "{timed_out} closed by timeouts");
    let refused = metric(&tls, loopback(20), api, "cairn_api_connections_refused_address_total").await;
    assert_eq!(refused, 0, "the per-address cap was above what each address opened");
    println!("the normal client was served {served} times meanwhile");
}

/// `n` TCP connections from `from`, never saying anything.
async fn hold(from: IpAddr, api: std::net::SocketAddr, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(tcp_from(from, api).await.unwrap());
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_over_its_cap_is_turned_away_while_others_get_in_until_the_node_is_full() {
    connections::raise_open_files(1024);
    // Long timeouts: nothing here closes but by the caps.
    let network = "header_timeout_s = 300\nmax_connections = 50\nmax_connections_per_address = 20";
    let settings = Settings { api_tls: true, network: network.into(), ..Default::default() };
    let cluster = ProcessCluster::start(1, settings).await;
    let token = cluster.add_user("root", true);
    let api = cluster.nodes[&1].api;
    let tls = tls_config(&cluster, &[]);
    let me = |from: IpAddr| {
        let (tls, token) = (tls.clone(), token.clone());
        async move {
            let mut stream = tls_from(&tls, from, api).await?;
            get_over(&mut stream, "/v1/me", &token).await
        }
    };
    let open_is = |n: u64| {
        let tls = tls.clone();
        async move {
            // The reading connection counts itself.
            wait_until(&format!("{n} connections open"), || async {
                (metric(&tls, loopback(9), api, "cairn_api_connections_open").await == n + 1).then_some(())
            })
            .await
        }
    };

    let mut from_2 = hold(loopback(2), api, 20).await;
    open_is(20).await;
    // The 21st from 127.0.0.2 is closed at once, its handshake never answered...
    let refused = me(loopback(2)).await;
    assert!(refused.is_err(), "{refused:?}");
    let mut extra = tcp_from(loopback(2), api).await.unwrap();
    assert!(until_closed(&mut extra).await.is_empty());
    // ...while its twenty stay open and 127.0.0.3 is served.
    open_is(20).await;
    assert_eq!(me(loopback(3)).await.unwrap().0, 200);
    assert!(metric(&tls, loopback(9), api, "cairn_api_connections_refused_address_total").await >= 2);

    // The node's cap: 49 open, then the 50th, and nobody else gets in, from any address.
    let from_3 = hold(loopback(3), api, 20).await;
    let from_4 = hold(loopback(4), api, 9).await;
    open_is(49).await;
    // The reading connection may not be gone yet: the 50th place is taken once a handshake
    // gets through.
    let last = wait_until("the 50th place", || async { tls_from(&tls, loopback(5), api).await.ok() }).await;
    for from in [loopback(1), loopback(6)] {
        let refused = me(from).await;
        assert!(refused.is_err(), "{from}: {refused:?}");
    }

    // Ten of 127.0.0.2's go: there is room again, for it too.
    from_2.truncate(10);
    let served = wait_until("a place for 127.0.0.2", || async { me(loopback(2)).await.ok() }).await;
    assert_eq!(served.0, 200);
    assert!(metric(&tls, loopback(9), api, "cairn_api_connections_refused_node_total").await >= 2);
    drop((from_2, from_3, from_4, last));
}

#[test]
fn a_connection_cap_the_open_file_limit_cannot_hold_stops_the_node_saying_why() {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    // The node keeps 1024 files for its stores: a cap of the whole hard limit never fits.
    let cap = hard.min(1_000_000);
    if cap + 1024 <= hard {
        println!("the hard open-file limit ({hard}) holds any cap the config allows: nothing to refuse here");
        return;
    }
    let network = format!("max_connections = {cap}\nmax_connections_per_address = 10");
    let mut cluster = ProcessCluster::prepare(Settings { network, ..Default::default() });
    cluster.add_files(1);
    let config = cluster.nodes[&1].config.clone();
    let out = std::process::Command::new(cairn_test_cluster::binary())
        .args(["init", "-c", config.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the node started with a cap of {cap} under a limit of {hard}: {said}");
    assert!(
        said.contains(&format!("network.max_connections = {cap}")) && said.contains("LimitNOFILE"),
        "{said}"
    );
    println!("refused as it should be: {}", said.trim());
}
