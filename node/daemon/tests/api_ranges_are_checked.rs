//! Byte ranges at the edge of 64 bits, against a real cluster, with a token and through a public
//! link (which needs none): `bytes=5-18446744073709551615`, which used to panic a debug node
//! and give a release node a bogus `Content-Length`, and every position of 2^64 − 1 or more or
//! past the file get 416 with `Content-Range: bytes */SIZE`; a last position past the end just
//! below that is the rest of the file with its true length. Run it against a release build
//! with `CAIRN_NODE_BIN`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;

use cairn_proto::sample_data::random;
use cairn_test_cluster::http::{Reply, request};
use cairn_test_cluster::{ProcessCluster, Settings};

const SIZE: usize = 300_000;

/// Checks the answers to the edge ranges of one way in: `get(range)` downloads the file.
fn check_edges(what: &str, file: &[u8], get: impl Fn(&str) -> Reply) {
    let size = file.len();
    let partial = |range: &str, from: usize| {
        let r = get(range);
        assert_eq!(r.status, 206, "{what} {range}: {:?}", String::from_utf8_lossy(&r.body));
        let expected_length = (size - from).to_string();
        assert_eq!(r.header("content-length"), Some(expected_length.as_str()), "{what} {range}");
        let expected_range = format!("bytes {from}-{}/{size}", size - 1);
        assert_eq!(r.header("content-range"), Some(expected_range.as_str()), "{what} {range}");
        assert!(r.body == file[from..], "{what} {range}: wrong bytes");
    };
    partial("bytes=5-18446744073709551614", 5);
    partial("bytes=-18446744073709551614", 0);
    let unsatisfiable = |range: &str| {
        let r = get(range);
        assert_eq!((r.status, r.code().as_str()), (416, "bad_range"), "{what} {range}");
        let expected = format!("bytes */{size}");
        assert_eq!(r.header("content-range"), Some(expected.as_str()), "{what} {range}");
    };
    unsatisfiable("bytes=5-18446744073709551615");
    unsatisfiable("bytes=5-18446744073709551616");
    unsatisfiable("bytes=-18446744073709551615");
    unsatisfiable("bytes=18446744073709551615-");
    unsatisfiable("bytes=18446744073709551615-18446744073709551615");
    unsatisfiable("bytes=18446744073709551616-");
    unsatisfiable(&format!("bytes={size}-"));
    unsatisfiable("bytes=-0");
    let r = get("bytes=9-3");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_range"), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflowing_ranges_get_416_and_edge_ranges_their_true_length() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let ada = cluster.add_user("ada", false);
    let addrs: Vec<SocketAddr> = cluster.nodes.values().map(|n| n.api).collect();
    let auth = format!("Bearer {ada}");
    let file = random(SIZE, 17);
    let r = request(addrs[0], "PUT", "/v1/content/edge.bin", &[("Authorization", &auth)], &file);
    assert_eq!(r.status, 201, "{:?}", r.json());

    check_edges("with a token", &file, |range| {
        request(addrs[1], "GET", "/v1/content/edge.bin", &[("Authorization", &auth), ("Range", range)], b"")
    });

    let body = br#"{"path":"edge.bin"}"#;
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let r = request(addrs[0], "POST", "/v1/links", &headers, body);
    assert_eq!(r.status, 201, "{:?}", r.json());
    let content = r.json()["content_path"].as_str().unwrap().to_owned();
    check_edges("through a link", &file, |range| {
        request(addrs[2], "GET", &content, &[("Range", range)], b"")
    });

    // Every node is still up and serving.
    for addr in addrs {
        let r = request(addr, "GET", "/v1/content/edge.bin", &[("Authorization", &auth)], b"");
        assert!(r.status == 200 && r.body == file, "{addr}");
    }
}
