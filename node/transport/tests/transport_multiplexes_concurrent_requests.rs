//! Many concurrent requests to one peer share one connection, each on its own stream, and all
//! complete; the peer's cap on concurrent streams holds them back without failing any.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use cairn_transport::testkit::{PATIENCE, any_loopback_port, cluster, echo, serving, serving_on};
use cairn_transport::{Request, Response, TransportSettings};
use tokio::task::JoinSet;

const REQUESTS: usize = 200;
const STREAM_CAP: u32 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_complete_on_one_connection_within_the_stream_cap() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most_in_flight = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (in_flight, most_in_flight) = (in_flight.clone(), most_in_flight.clone());
        move |request: Request| {
            let (in_flight, most_in_flight) = (in_flight.clone(), most_in_flight.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most_in_flight.fetch_max(now, Ordering::SeqCst);
                // Give other requests the chance to pile up while this one is being handled.
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Response::new(request.kind, request.payload)
            }
        }
    };
    let (_ca, ids) = cluster(&["node-1", "node-2"]);
    let client = serving(&ids[0], echo()).await;
    let settings = TransportSettings { max_concurrent_streams_per_peer: STREAM_CAP, ..Default::default() };
    let server = serving_on(any_loopback_port(), &ids[1], settings, handler).await.unwrap();

    let mut requests = JoinSet::new();
    for i in 0..REQUESTS {
        let (client, addr) = (client.clone(), server.local_addr());
        requests.spawn(async move {
            // Distinct payloads of a few KiB each, so a mixed-up response would show.
            let payload = format!("request {i} ").repeat(300 + i);
            let (kind, answer) = client
                .request(addr, "node-2", (i % 256) as u8, Bytes::from(payload.clone()), PATIENCE)
                .await
                .unwrap();
            assert_eq!(kind, (i % 256) as u8);
            assert_eq!(answer, payload.as_bytes(), "request {i} got another request's answer");
        });
    }
    let mut completed = 0;
    while let Some(result) = requests.join_next().await {
        result.unwrap();
        completed += 1;
    }
    assert_eq!(completed, REQUESTS);
    assert_eq!(client.open_connections(), 1, "requests to one peer must share one connection");
    assert_eq!(server.open_connections(), 1);
    let most = most_in_flight.load(Ordering::SeqCst);
    assert!(most >= 1 && most <= STREAM_CAP as usize, "{most} requests ran at once; the cap is {STREAM_CAP}");
}
