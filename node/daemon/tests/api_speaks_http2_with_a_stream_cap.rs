//! The HTTPS listener speaks HTTP/2 to a client that asks for it by ALPN, with the configured
//! cap on concurrent streams advertised and held: with the cap's worth of long polls open on a
//! connection, a further request waits for one to end. An HTTP/2 connection left idle is closed
//! by the node (GOAWAY) after the idle timeout, like an HTTP/1.1 one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod connections;

use std::time::Duration;

use cairn_test_cluster::{PATIENCE, ProcessCluster, Settings};
use connections::{loopback, tls_config, tls_from};
use http::{Request, StatusCode, Version};
use tokio::time::Instant;

const STREAMS: usize = 3;
const IDLE: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_served_with_its_stream_cap_and_idle_timeout() {
    let network = format!("http2_max_streams = {STREAMS}\nidle_timeout_s = {}", IDLE.as_secs());
    let settings = Settings { api_tls: true, network, ..Default::default() };
    let cluster = ProcessCluster::start(1, settings).await;
    let token = cluster.add_user("root", true);
    let api = cluster.nodes[&1].api;

    let tls = tls_config(&cluster, &[b"h2", b"http/1.1"]);
    let stream = tls_from(&tls, loopback(1), api).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "the node chose HTTP/2");
    let (h2, connection) = h2::client::handshake(stream).await.unwrap();
    let connection = tokio::spawn(connection);
    let get = |path: &str| {
        Request::get(format!("https://{api}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
    };

    let (response, _) = h2.clone().ready().await.unwrap().send_request(get("/v1/me"), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!((response.status(), response.version()), (StatusCode::OK, Version::HTTP_2));
    let mut body = response.into_body();
    let mut me = Vec::new();
    while let Some(chunk) = body.data().await {
        me.extend_from_slice(&chunk.unwrap());
    }
    assert!(String::from_utf8_lossy(&me).contains("root"));
    assert_eq!(h2.current_max_send_streams(), STREAMS, "the node advertises its stream cap");

    // The cap's worth of long polls (3 s each), then one more request: it gets no stream until
    // a poll ends.
    let mut polls = Vec::new();
    for _ in 0..STREAMS {
        let (poll, _) =
            h2.clone().ready().await.unwrap().send_request(get("/v1/changes?timeout_ms=3000"), true).unwrap();
        polls.push(poll);
    }
    let sent = Instant::now();
    let (queued, _) = h2.clone().ready().await.unwrap().send_request(get("/v1/me"), true).unwrap();
    let queued = tokio::spawn(async move { (queued.await.unwrap().status(), sent.elapsed()) });
    for poll in polls {
        assert_eq!(poll.await.unwrap().status(), StatusCode::OK);
    }
    let (status, waited) = queued.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        waited >= Duration::from_secs(2),
        "a request beyond the stream cap was answered after {waited:?}"
    );

    // Idle now, the client still holding it open: the node closes the connection.
    let idle_since = Instant::now();
    tokio::time::timeout(PATIENCE, connection)
        .await
        .expect("the idle HTTP/2 connection stayed open")
        .unwrap()
        .ok();
    let after = idle_since.elapsed();
    assert!(after + Duration::from_secs(1) >= IDLE, "closed after {after:?}, before the idle timeout");
    println!("an idle HTTP/2 connection was closed after {after:?}");
    drop(h2);
}
