//! Long polls and event streams of the change journal are capped per user and per node: over
//! a cap the answer is 429 `rate_limited` with `Retry-After`, before any wait; another user
//! still gets in under the node's cap; a page that does not wait is never refused; and once
//! the held polls go away (their clients hung up), their places are free again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod connections;

use std::net::SocketAddr;

use cairn_test_cluster::http::{Reply, request};
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use connections::get_over;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// `GET path` as `token`, on a blocking thread (the raw client is synchronous).
async fn get(api: SocketAddr, path: &str, token: &str) -> Reply {
    let (path, auth) = (path.to_owned(), format!("Bearer {token}"));
    tokio::task::spawn_blocking(move || request(api, "GET", &path, &[("Authorization", auth.as_str())], b""))
        .await
        .unwrap()
}

/// A long poll of a minute, sent and left waiting.
async fn hold_poll(api: SocketAddr, token: &str) -> TcpStream {
    let mut stream = TcpStream::connect(api).await.unwrap();
    let request = format!(
        "GET /v1/changes?timeout_ms=60000 HTTP/1.1\r\nHost: cairn\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Waits until the node holds `n` watches.
async fn watches_are(api: SocketAddr, n: u64) {
    wait_until(&format!("{n} watches open"), || async {
        let mut stream = TcpStream::connect(api).await.unwrap();
        let (_, body) = get_over(&mut stream, "/metrics", "none").await.unwrap();
        let text = String::from_utf8(body).unwrap();
        let open: u64 =
            text.lines().find_map(|l| l.strip_prefix("cairn_api_watches_open "))?.trim().parse().ok()?;
        (open == n).then_some(())
    })
    .await;
}

fn assert_refused(reply: &Reply) {
    assert_eq!((reply.status, reply.code().as_str()), (429, "rate_limited"), "{reply:?}");
    assert_eq!(reply.header("retry-after"), Some("5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_long_poll_cap_gets_429_with_retry_after() {
    let network = "max_watches_per_user = 2\nmax_watches = 3";
    let cluster = ProcessCluster::start(1, Settings { network: network.into(), ..Default::default() }).await;
    let alice = cluster.add_user("alice", false);
    let bob = cluster.add_user("bob", false);
    let api = cluster.nodes[&1].api;

    let held = [hold_poll(api, &alice).await, hold_poll(api, &alice).await];
    watches_are(api, 2).await;
    assert_refused(&get(api, "/v1/changes?timeout_ms=1000", &alice).await);
    assert_refused(&get(api, "/v1/changes/stream", &alice).await);
    // A page that does not wait is not a watch.
    assert_eq!(get(api, "/v1/changes", &alice).await.status, 200);

    // Bob gets the node's last place, and then the node is full for him too.
    let bobs = hold_poll(api, &bob).await;
    watches_are(api, 3).await;
    assert_refused(&get(api, "/v1/changes?timeout_ms=1000", &bob).await);

    // Alice hangs up: her places are free again.
    drop(held);
    watches_are(api, 1).await;
    let poll = get(api, "/v1/changes?timeout_ms=100", &alice).await;
    assert_eq!(poll.status, 200, "{poll:?}");
    drop(bobs);
    watches_are(api, 0).await;
}
