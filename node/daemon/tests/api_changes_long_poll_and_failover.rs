//! The Changes API on a real 3-process cluster: a user's journal tells of their own changes and
//! of changes in folders shared with them (an upload's `uploading` start and its `complete`
//! commit included); a long poll returns as soon as a change lands, and an idle one returns
//! empty with the same cursor; when the node serving a long poll is killed the SDK polls
//! another with the same cursor and every later change arrives once, in order; a cursor older
//! than the journal's retention gets 410 `cursor_expired`; the server-sent event stream carries
//! the same changes (and resumes from `Last-Event-ID`); bad input is refused with its code.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cairn_client::api::{ChangeView, Role};
use cairn_client::upload::PutOptions;
use cairn_client::{Client, ClientConfig};
use cairn_proto::sample_data::random;
use cairn_test_cluster::http;
use cairn_test_cluster::sdk::{Gated, client};
use cairn_test_cluster::{PATIENCE, ProcessCluster, Settings};

const MIB: usize = 1 << 20;
/// How long the test's long polls may wait.
const POLL: Duration = Duration::from_secs(20);

async fn put_small(client: &Client, path: &str, content: &[u8]) {
    let reader = std::io::Cursor::new(content.to_vec());
    client.upload_reader(reader, path, &PutOptions::default()).await.unwrap();
}

/// Long-polls until `n` changes after `cursor` arrived; checks each page's cursor.
async fn collect(client: &Client, mut cursor: u64, n: usize) -> Vec<ChangeView> {
    let mut got = Vec::new();
    let give_up = Instant::now() + PATIENCE;
    while got.len() < n {
        assert!(Instant::now() < give_up, "only {} of {n} changes arrived: {got:?}", got.len());
        let page = client.changes(cursor, Some(POLL), None).await.unwrap();
        if let Some(last) = page.changes.last() {
            assert_eq!(page.cursor, last.seq);
        } else {
            assert_eq!(page.cursor, cursor);
        }
        cursor = page.cursor;
        got.extend(page.changes);
    }
    got
}

fn assert_contiguous(changes: &[ChangeView], after: u64) {
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    let expected: Vec<u64> = (after + 1..=after + changes.len() as u64).collect();
    assert_eq!(seqs, expected, "changes must follow the cursor without gaps or repeats");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_arrive_by_long_poll_and_stream_and_survive_node_death() {
    let started = Instant::now();
    let mut cluster = ProcessCluster::start(3, Settings::default()).await;
    let ada_token = cluster.add_user("ada", false);
    let bob_token = cluster.add_user("bob", false);
    let (ada, bob) = (client(&cluster, &ada_token), client(&cluster, &bob_token));
    println!("cluster and users ready in {:?}", started.elapsed());

    bad_input_is_refused(cluster.nodes[&1].api, &bob_token);
    let drive = ada.me().await.unwrap().drive;
    let bob_start = bob.latest_cursor().await.unwrap();
    shared_changes_reach_the_recipient(&ada, &bob, drive).await;
    a_long_poll_returns_when_a_change_lands(&ada, &bob).await;
    an_idle_poll_returns_empty_with_the_same_cursor(&bob).await;
    a_long_poll_outlasts_the_read_timeout(&cluster, &bob_token).await;
    the_stream_carries_the_same_changes(cluster.nodes[&2].api, &bob_token, &ada, &bob).await;

    // The node serving Bob's long poll dies mid-poll.
    let cursor = bob.latest_cursor().await.unwrap();
    let serving = bob.current_node();
    let victim = cluster.nodes.values().find(|n| serving.port() == Some(n.api.port())).unwrap().id;
    let poller = bob.clone();
    let poll = tokio::spawn(async move { collect(&poller, cursor, 5).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!poll.is_finished(), "the poll should be waiting");
    cluster.kill(victim);
    let killed = Instant::now();
    for i in 0..5 {
        ada.make_folder(&format!("team/after-kill-{i}"), None).await.unwrap();
        println!("change {i} after the kill committed {:?} after it", killed.elapsed());
    }
    let got = tokio::time::timeout(PATIENCE, poll).await.unwrap().unwrap();
    println!("killed node {victim} under a long poll: the 5 changes arrived {:?} after", killed.elapsed());
    assert_contiguous(&got, cursor);
    let paths: Vec<&str> = got.iter().map(|c| c.path.as_str()).collect();
    let expected: Vec<String> = (0..5).map(|i| format!("team/after-kill-{i}")).collect();
    assert_eq!(paths, expected);
    assert!(got.iter().all(|c| c.kind == "folder_created" && c.ns == drive));
    assert_ne!(bob.current_node(), serving, "the SDK moved to another node");

    an_expired_cursor_is_refused(&cluster, &ada, (&bob, &bob_token), bob_start).await;
    println!("whole test: {:?}", started.elapsed());
}

fn bad_input_is_refused(api: SocketAddr, token: &str) {
    let auth = format!("Bearer {token}");
    let get = |path: &str, headers: &[(&str, &str)]| http::request(api, "GET", path, headers, b"");
    let with_token = [("Authorization", auth.as_str())];
    for path in
        ["/v1/changes?cursor=abc", "/v1/changes?limit=0", "/v1/changes?limit=1001", "/v1/changes?wait=1"]
    {
        let reply = get(path, &with_token);
        assert_eq!((reply.status, reply.code().as_str()), (400, "bad_request"), "{path}");
    }
    for path in ["/v1/changes", "/v1/changes/latest", "/v1/changes/stream"] {
        let reply = get(path, &[]);
        assert_eq!((reply.status, reply.code().as_str()), (401, "unauthenticated"), "{path}");
    }
    let reply = get("/v1/changes/stream", &[with_token[0], ("Last-Event-ID", "x")]);
    assert_eq!((reply.status, reply.code().as_str()), (400, "bad_request"));
    let reply = get("/v1/changes?cursor=0&limit=5", &with_token);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["cursor"], 0);
}

async fn shared_changes_reach_the_recipient(ada: &Client, bob: &Client, drive: u64) {
    let ada_start = ada.latest_cursor().await.unwrap();
    let bob_start = bob.latest_cursor().await.unwrap();
    ada.make_folder("team", None).await.unwrap();
    ada.share("team", "bob", Role::Editor, None).await.unwrap();
    put_small(ada, "team/notes.txt", b"first notes").await;
    put_small(ada, "private.txt", b"not for bob").await;

    // A large upload, held open half way: Bob hears that it started, then that it completed.
    let size = 16 * MIB;
    let (open, gate) = mpsc::channel();
    let reader = Gated::new(random(size, 11), 8 * MIB as u64, gate);
    let uploader = ada.clone();
    let upload = tokio::spawn(async move {
        uploader.upload_reader_sized(reader, size as u64, "team/big.bin", &PutOptions::default()).await
    });
    let got = collect(bob, bob_start, 2).await;
    assert_contiguous(&got, bob_start);
    assert_eq!(
        (got[0].kind.as_str(), got[0].path.as_str(), got[0].ns, got[0].status.as_deref(), got[0].version),
        ("version_committed", "team/notes.txt", drive, Some("complete"), Some(1))
    );
    assert!(got[0].file.is_some());
    assert_eq!(
        (got[1].kind.as_str(), got[1].path.as_str(), got[1].size, got[1].file),
        ("upload_started", "team/big.bin", Some(size as u64), None)
    );
    open.send(()).unwrap();
    let report = upload.await.unwrap().unwrap();
    let done = collect(bob, got[1].seq, 1).await;
    assert_eq!(
        (done[0].kind.as_str(), done[0].path.as_str(), done[0].status.as_deref(), done[0].version),
        ("version_committed", "team/big.bin", Some("complete"), Some(report.committed.version))
    );
    assert_eq!(done[0].file, Some(report.committed.file));

    // Ada's own journal has all of it, her private file and the folder included.
    let page = ada.changes(ada_start, None, None).await.unwrap();
    let kinds: Vec<(&str, &str)> = page.changes.iter().map(|c| (c.kind.as_str(), c.path.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("folder_created", "team"),
            ("version_committed", "team/notes.txt"),
            ("version_committed", "private.txt"),
            ("upload_started", "team/big.bin"),
            ("version_committed", "team/big.bin"),
        ]
    );
    assert_eq!((page.cursor, page.more), (page.changes.last().unwrap().seq, false));
    // Paging: one at a time, `more` says whether to ask again.
    let first = ada.changes(ada_start, None, Some(1)).await.unwrap();
    assert_eq!((first.changes.len(), first.more), (1, true));
}

async fn a_long_poll_returns_when_a_change_lands(ada: &Client, bob: &Client) {
    let cursor = bob.latest_cursor().await.unwrap();
    let poller = bob.clone();
    let poll = tokio::spawn(async move { poller.changes(cursor, Some(POLL), None).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!poll.is_finished(), "with nothing after its cursor, the poll waits");
    let committed = Instant::now();
    put_small(ada, "team/landed.txt", b"hello").await;
    let page = poll.await.unwrap().unwrap();
    let took = committed.elapsed();
    println!("a long poll returned {took:?} after the commit began");
    assert!(took < Duration::from_secs(10), "the poll took {took:?}");
    assert_eq!(page.changes.len(), 1);
    assert_eq!((page.changes[0].path.as_str(), page.cursor), ("team/landed.txt", cursor + 1));
}

async fn an_idle_poll_returns_empty_with_the_same_cursor(bob: &Client) {
    let cursor = bob.latest_cursor().await.unwrap();
    let asked = Instant::now();
    let page = bob.changes(cursor, Some(Duration::from_millis(1_500)), None).await.unwrap();
    println!("an idle 1.5 s poll returned after {:?}", asked.elapsed());
    assert!(asked.elapsed() >= Duration::from_millis(1_400));
    assert_eq!((page.changes.len(), page.cursor, page.more), (0, cursor, false));
    // Without a timeout the answer is immediate, and the same.
    assert_eq!(bob.changes(cursor, None, None).await.unwrap(), page);
}

/// A poll is silent by design: a client whose read timeout is shorter than the poll's wait gets
/// the poll's answer, not a timeout.
async fn a_long_poll_outlasts_the_read_timeout(cluster: &ProcessCluster, token: &str) {
    let nodes = cluster.nodes.values().map(|n| format!("http://{}", n.api)).collect();
    let mut config = ClientConfig::new(nodes, token);
    config.read_timeout = Duration::from_millis(500);
    let impatient = Client::new(config).unwrap();
    let cursor = impatient.latest_cursor().await.unwrap();
    let asked = Instant::now();
    let page = impatient.changes(cursor, Some(Duration::from_secs(2)), None).await.unwrap();
    assert!(asked.elapsed() >= Duration::from_millis(1_900), "{:?}", asked.elapsed());
    assert_eq!((page.changes.len(), page.cursor), (0, cursor));
    assert_eq!(impatient.counters().snapshot().retries, 0, "the poll was never cut and retried");
}

async fn the_stream_carries_the_same_changes(api: SocketAddr, token: &str, ada: &Client, bob: &Client) {
    let cursor = bob.latest_cursor().await.unwrap();
    let auth = format!("Bearer {token}");
    let path = format!("/v1/changes/stream?cursor={cursor}");
    let opened = path.clone();
    let headers = [("Authorization".to_owned(), auth.clone())];
    let reader = tokio::task::spawn_blocking(move || {
        let (status, mut events) = open_stream(api, &opened, &headers);
        assert_eq!(status, 200);
        read_changes(&mut events, 2)
    });
    put_small(ada, "team/streamed-1.txt", b"one").await;
    put_small(ada, "team/streamed-2.txt", b"two").await;
    let got = reader.await.unwrap();
    let ids: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [cursor + 1, cursor + 2]);
    for (i, (id, data)) in got.iter().enumerate() {
        let view: ChangeView = serde_json::from_value(data.clone()).unwrap();
        assert_eq!((view.seq, view.path.clone()), (*id, format!("team/streamed-{}.txt", i + 1)));
        assert_eq!(view.kind, "version_committed");
    }
    // The stream and the long poll agree.
    let polled = bob.changes(cursor, None, None).await.unwrap();
    let streamed: Vec<ChangeView> =
        got.into_iter().map(|(_, d)| serde_json::from_value(d).unwrap()).collect();
    assert_eq!(polled.changes, streamed);

    // A reconnecting EventSource sends the last id it saw, which wins over the URL's cursor.
    let headers =
        [("Authorization".to_owned(), auth), ("Last-Event-ID".to_owned(), (cursor + 1).to_string())];
    let got = tokio::task::spawn_blocking(move || {
        let (status, mut events) = open_stream(api, &path, &headers);
        assert_eq!(status, 200);
        read_changes(&mut events, 1)
    })
    .await
    .unwrap();
    assert_eq!(got[0].0, cursor + 2);
}

async fn an_expired_cursor_is_refused(
    cluster: &ProcessCluster,
    ada: &Client,
    (bob, bob_token): (&Client, &str),
    stale: u64,
) {
    let node = cluster.running()[0];
    let config = cluster.nodes[&node].config.display().to_string();
    let out = cluster.run_ok(&["journal-retention", "-c", &config, "--ms", "1"]);
    assert!(out.contains("journal retention: 1 ms"), "{out}");
    // Each new change of Bob's prunes up to two of his expired ones.
    let mut made = 0;
    let error = loop {
        match bob.changes(stale, None, None).await {
            Err(e) => break e,
            Ok(_) => {
                assert!(made < 100, "the stale cursor {stale} never expired");
                ada.make_folder(&format!("team/churn-{made}"), None).await.unwrap();
                made += 1;
            }
        }
    };
    println!("cursor {stale} expired after {made} changes under a 1 ms retention");
    assert_eq!(error.code(), "cursor_expired", "{error}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(410));
    assert!(error.to_string().contains("resync"), "{error}");
    // The latest cursor is always good: the newest change is never pruned.
    let latest = bob.latest_cursor().await.unwrap();
    let page = bob.changes(latest, None, None).await.unwrap();
    assert_eq!((page.changes.len(), page.cursor), (0, latest));
    let page = bob.changes(latest - 1, None, None).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    // On the wire: 410 with the code.
    let auth = format!("Bearer {bob_token}");
    let path = format!("/v1/changes?cursor={stale}");
    let reply = http::request(cluster.nodes[&node].api, "GET", &path, &[("Authorization", &auth)], b"");
    assert_eq!((reply.status, reply.code().as_str()), (410, "cursor_expired"));
}

/// Opens `GET path` on `api` and returns the status and the reader at the start of the body.
fn open_stream(api: SocketAddr, path: &str, headers: &[(String, String)]) -> (u16, BufReader<TcpStream>) {
    let mut stream = TcpStream::connect(api).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {api}\r\nAccept: text/event-stream\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        if lower.starts_with("content-type:") {
            assert!(lower.contains("text/event-stream"), "{line}");
        }
    }
    assert!(chunked, "an event stream has no length, so HTTP/1.1 sends it chunked");
    (status, reader)
}

/// Reads the chunked event stream until `n` events named `change` came; returns their ids and
/// data. Comments (keep-alives) and other events are skipped.
fn read_changes(reader: &mut BufReader<TcpStream>, n: usize) -> Vec<(u64, serde_json::Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    let mut line = String::new();
    while events.len() < n {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim(), 16).unwrap();
        assert!(size > 0, "the stream ended after {} events", events.len());
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        text.push_str(std::str::from_utf8(&chunk[..size]).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_owned()))
            };
            if field("event:").as_deref() == Some("change") {
                let id = field("id:").unwrap().parse().unwrap();
                events.push((id, serde_json::from_str(&field("data:").unwrap()).unwrap()));
            }
        }
    }
    events
}
