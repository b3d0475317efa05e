//! A client cannot hold a node's buffers by going quiet in the middle of a transfer: a download
//! whose reader stops reading is cut by the write timeout (the node's counters say so, and the
//! reader gets less than the file), and an upload whose body stops coming is failed by the body
//! idle timeout and its connection closed, while the node serves everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod connections;

use std::net::SocketAddr;

use cairn_test_cluster::{ProcessCluster, Settings, sdk, wait_until};
use connections::{get_over, until_closed};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

const SIZE: usize = 24 << 20;

/// The node's counter `name`, over plain HTTP.
async fn counter(api: SocketAddr, name: &str) -> u64 {
    let mut stream = TcpStream::connect(api).await.unwrap();
    let (status, body) = get_over(&mut stream, "/metrics", "none").await.unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_and_a_body_that_stops_coming_are_cut() {
    let network = "write_timeout_s = 2\nbody_idle_timeout_s = 2";
    // Three nodes, for the default 2+1 profile; node 1 is the one under test.
    let cluster = ProcessCluster::start(3, Settings { network: network.into(), ..Default::default() }).await;
    let token = cluster.add_user("root", true);
    let api = cluster.nodes[&1].api;
    let client = sdk::client(&cluster, &token);
    // Bytes that do not compress, from a fixed seed.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..SIZE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let options = cairn_client::upload::PutOptions::default();
    client.upload_reader(std::io::Cursor::new(data), "big.bin", &options).await.unwrap();

    // A reader with a tiny receive window that never reads.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(api).await.unwrap();
    let request =
        format!("GET /v1/content/big.bin HTTP/1.1\r\nHost: cairn\r\nAuthorization: Bearer {token}\r\n\r\n");
    slow.write_all(request.as_bytes()).await.unwrap();
    wait_until("the write timeout to cut the slow reader", || async {
        (counter(api, "cairn_api_connections_write_timeout_total").await >= 1).then_some(())
    })
    .await;
    let got = until_closed(&mut slow).await;
    assert!(got.len() < SIZE, "the slow reader got all {} bytes", got.len());
    println!("the slow reader got {} of {SIZE} bytes before the node gave up on it", got.len());

    // An upload that sends a little, then nothing.
    let mut stalled = TcpStream::connect(api).await.unwrap();
    let head = format!(
        "PUT /v1/content/stalled.bin HTTP/1.1\r\nHost: cairn\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 1000000\r\n\r\n"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&[7u8; 1000]).await.unwrap();
    let answer = String::from_utf8_lossy(&until_closed(&mut stalled).await).into_owned();
    // Closed, with an error answer or none: never a success.
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
    assert!(counter(api, "cairn_api_request_bodies_stalled_total").await >= 1);
    println!("the stalled upload got: {:?}", answer.lines().next());

    // Nothing of it was stored, and the node serves as before.
    assert!(client.stat("stalled.bin", &Default::default()).await.is_err());
    assert_eq!(client.me().await.unwrap().name, "root");
}
