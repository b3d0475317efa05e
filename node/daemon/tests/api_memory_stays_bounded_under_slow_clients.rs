//! A node's memory under a hostile load, measured: 1,000 clients of a public link to a 64 MiB
//! file that each read a little and then stop reading (their connections stay open), plus 200
//! tus PATCHes that declare 64 MiB and trickle it a few bytes at a time — half of them with
//! `Upload-Checksum`, whose body is held whole until checked. Before every buffered byte was
//! counted, each slow reader held three 4 MiB blocks (12 GiB for the thousand) and each
//! checksummed PATCH up to 64 MiB. Now their buffers come out of the API's budget (as large as
//! `storage.max_inflight_bytes`, 256 MiB) before they are filled, so the node's resident memory
//! stays under [`RSS_BOUND`]: the test samples `VmRSS` of the node every half second and prints
//! the highest it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_proto::sample_data::random;
use cairn_test_cluster::http::request;
use cairn_test_cluster::{ProcessCluster, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;
/// The file every slow reader asks for.
const FILE: usize = 64 * MIB;
const READERS: usize = 1_000;
const PATCHES: usize = 200;
/// How long the load is held while memory is sampled.
const HOLD: Duration = Duration::from_secs(40);
/// The bound asserted: the node's own baseline (about 100 MiB in a debug build), the API's
/// budget and the block layer's (256 MiB each) and the connections' own buffers, with room.
const RSS_BOUND: u64 = 1 << 30;

/// `VmRSS` of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Opens a connection, sends `head` (and `body`), and returns the stream without reading more
/// than `read` bytes of the answer.
async fn open(addr: SocketAddr, head: String, body: &[u8], read: usize) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(head.as_bytes()).await.ok()?;
    stream.write_all(body).await.ok()?;
    let mut buf = vec![0; read];
    let mut got = 0;
    while got < read {
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf[got..])).await {
            Ok(Ok(n)) if n > 0 => got += n,
            _ => break,
        }
    }
    Some(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_and_trickling_patches_keep_the_node_bounded() {
    // Connection caps and timeouts wide enough for the load to reach the node whole: the test
    // is about the buffers behind the connections, not the caps in front of them.
    let settings = Settings {
        api_max_upload_bytes: Some(2 * FILE as u64),
        network: "max_connections = 4000\nmax_connections_per_address = 4000\nwrite_timeout_s = 600\n\
                  body_idle_timeout_s = 600\nheader_timeout_s = 600\nidle_timeout_s = 600\n"
            .into(),
        ..Settings::default()
    };
    let cluster = ProcessCluster::start(3, settings).await;
    let node = *cluster.nodes.keys().next().unwrap();
    let (addr, pid) = (cluster.nodes[&node].api, cluster.pid(node).unwrap());
    let token = cluster.add_user("ada", false);
    let auth = format!("Bearer {token}");

    let file = random(FILE, 21);
    let r = request(addr, "PUT", "/v1/content/big.bin", &[("Authorization", &auth)], &file);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    drop(file);
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let r = request(addr, "POST", "/v1/links", &headers, br#"{"path":"big.bin"}"#);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let content = r.json()["content_path"].as_str().unwrap().to_owned();
    let mut sessions = Vec::new();
    for n in 0..PATCHES {
        let metadata = format!("path {}", B64.encode(format!("/up/{n}.bin")));
        let length = FILE.to_string();
        let tus = [
            ("Authorization", auth.as_str()),
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", length.as_str()),
            ("Upload-Metadata", metadata.as_str()),
        ];
        let r = request(addr, "POST", "/v1/uploads", &tus, b"");
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        sessions.push(r.header("location").unwrap().to_owned());
    }
    let baseline = rss(pid);

    // The load: every reader reads 64 KiB and stops; every PATCH sends its headers and a first
    // few bytes, then a few more now and then.
    let readers = futures_util::future::join_all((0..READERS).map(|_| {
        let head = format!("GET {content} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        open(addr, head, b"", 64 * 1024)
    }));
    let patches = futures_util::future::join_all(sessions.iter().enumerate().map(|(n, url)| {
        let checksum = if n % 2 == 0 { "Upload-Checksum: sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=\r\n" } else { "" };
        let head = format!(
            "PATCH {url} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nTus-Resumable: 1.0.0\r\n\
             Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {FILE}\r\n\
             {checksum}\r\n"
        );
        open(addr, head, &[7; 1024], 0)
    }));
    let (mut readers, mut patches) = tokio::join!(readers, patches);
    let opened = (readers.iter().flatten().count(), patches.iter().flatten().count());
    println!("{} readers and {} PATCHes connected", opened.0, opened.1);
    assert!(
        opened.0 >= READERS * 9 / 10 && opened.1 >= PATCHES * 9 / 10,
        "the load did not connect: {opened:?}"
    );

    let (start, mut highest) = (Instant::now(), baseline);
    while start.elapsed() < HOLD {
        for stream in patches.iter_mut().flatten() {
            let _ = tokio::time::timeout(Duration::from_millis(5), stream.write_all(&[7; 16])).await;
        }
        highest = highest.max(rss(pid));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The node still answers a client that is not part of the load.
    let r = request(addr, "GET", "/v1/me", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 200);
    println!(
        "node RSS: {} MiB before the load, {} MiB at most under it (bound {} MiB)",
        baseline >> 20,
        highest >> 20,
        RSS_BOUND >> 20
    );
    readers.clear();
    patches.clear();
    assert!(highest < RSS_BOUND, "the node grew to {} MiB", highest >> 20);
}
