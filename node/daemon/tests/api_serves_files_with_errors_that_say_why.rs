//! The HTTP API of a real 3-node cluster: users and tokens, folders, simple upload with
//! conditional writes, download whole, by range and by version, delete to trash — and every
//! bad input answered with its status and stable error code: no token, a wrong token, a
//! non-admin creating users, bad names, bad paths, unknown fields, bad ranges, conflicts,
//! strangers, simple uploads over the size limit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_proto::sample_data::random;
use cairn_test_cluster::http::{self, Reply, request, request_raw};
use cairn_test_cluster::{ProcessCluster, Settings};

/// `network.api_max_upload_bytes` of this test's cluster.
const UPLOAD_LIMIT: u64 = 4 << 20;

struct Api {
    addrs: Vec<std::net::SocketAddr>,
}

impl Api {
    /// Calls node `n % 3` (spreading the calls over every node) as `token`.
    fn call(
        &self,
        n: usize,
        token: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        http::call(&self.addrs, n, Some(token), method, path, headers, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_files_and_refuses_bad_input_with_codes() {
    // Uploads here are at most 3 MiB; the limit sits just above, to be tested below.
    let settings = Settings { api_max_upload_bytes: Some(UPLOAD_LIMIT), ..Default::default() };
    let cluster = ProcessCluster::start(3, settings).await;
    let admin = cluster.add_user("root", true);
    let api = Api { addrs: cluster.nodes.values().map(|n| n.api).collect() };

    // Authentication.
    let r = request(api.addrs[0], "GET", "/v1/me", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    let r = api.call(1, "not-a-token", "GET", "/v1/me", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    let me = api.call(2, &admin, "GET", "/v1/me", &[], b"");
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["admin"], true);

    // Users and tokens.
    let r = api.call(0, &admin, "POST", "/v1/users", &[], br#"{"name":"ada"}"#);
    assert_eq!(r.status, 201, "{:?}", r.json());
    let ada_drive = r.json()["drive"].as_u64().unwrap();
    let r = api.call(1, &admin, "POST", "/v1/users", &[], br#"{"name":"ada"}"#);
    assert_eq!((r.status, r.code().as_str()), (409, "exists"));
    let r = api.call(1, &admin, "POST", "/v1/users", &[], br#"{"name":"Ada!"}"#);
    assert_eq!((r.status, r.code().as_str()), (400, "invalid"));
    let r = api.call(1, &admin, "POST", "/v1/users", &[], br#"{"name":"bob","colour":"blue"}"#);
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    let r = api.call(1, &admin, "POST", "/v1/users", &[], b"{not json");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    api.call(2, &admin, "POST", "/v1/users", &[], br#"{"name":"bob"}"#);
    let token = |user: &str| {
        let r = api.call(0, &admin, "POST", &format!("/v1/users/{user}/tokens"), &[], br#"{"label":"test"}"#);
        assert_eq!(r.status, 201);
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let (ada, bob) = (token("ada"), token("bob"));
    let r = api.call(1, &ada, "POST", "/v1/users", &[], br#"{"name":"eve"}"#);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = api.call(1, &ada, "POST", "/v1/users/bob/tokens", &[], br#"{"label":"x"}"#);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));

    // Folders and upload.
    assert_eq!(api.call(2, &ada, "POST", "/v1/folders/docs", &[], b"").status, 201);
    let content = random(3 << 20, 11);
    let r = api.call(0, &ada, "PUT", "/v1/content/docs/a.bin", &[], &content);
    assert_eq!(r.status, 201, "{:?}", r.json());
    assert_eq!(r.json()["version"], 1);
    let etag = r.header("etag").unwrap().to_owned();
    let r = api.call(1, &ada, "GET", "/v1/tree/docs", &[], b"");
    assert_eq!(r.json()["children"][0]["name"], "a.bin");
    let r = api.call(2, &ada, "GET", "/v1/tree/docs/a.bin", &[], b"");
    assert_eq!(
        (r.json()["file"]["size"].as_u64(), r.json()["file"]["status"].as_str()),
        (Some(3 << 20), Some("complete"))
    );

    // Download: whole, ranges, ETag.
    let r = api.call(1, &ada, "GET", "/v1/content/docs/a.bin", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.body == content, "downloaded bytes differ");
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = api.call(2, &ada, "GET", "/v1/content/docs/a.bin", &[("Range", "bytes=1048570-1048589")], b"");
    assert_eq!((r.status, r.body.as_slice()), (206, &content[1_048_570..1_048_590]));
    assert_eq!(r.header("content-range"), Some(format!("bytes 1048570-1048589/{}", 3 << 20).as_str()));
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin", &[("Range", "bytes=-10")], b"");
    assert_eq!(r.body.as_slice(), &content[content.len() - 10..]);
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin", &[("Range", "bytes=99999999-")], b"");
    assert_eq!((r.status, r.code().as_str()), (416, "bad_range"));
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin", &[("Range", "bytes=5-1")], b"");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_range"));
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin", &[("If-None-Match", etag.as_str())], b"");
    assert_eq!(r.status, 304);

    // Conditional writes: first writer wins.
    let second = random(100_000, 12);
    let r = api.call(1, &ada, "PUT", "/v1/content/docs/a.bin", &[("If-Match", "\"1\"")], &second);
    assert_eq!((r.status, r.json()["version"].as_u64()), (200, Some(2)));
    // The conflict names the head to merge onto.
    let r = api.call(2, &ada, "PUT", "/v1/content/docs/a.bin", &[("If-Match", "\"1\"")], b"late");
    assert_eq!((r.status, r.code().as_str(), r.json()["head"].as_u64()), (409, "conflict", Some(2)));
    let r = api.call(0, &ada, "PUT", "/v1/content/docs/a.bin", &[("If-None-Match", "*")], b"late");
    assert_eq!((r.status, r.code().as_str(), r.json()["head"].as_u64()), (409, "conflict", Some(2)));
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin?version=1", &[], b"");
    assert!(r.status == 200 && r.body == content, "version 1 differs");
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin?version=7", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let r = api.call(0, &ada, "GET", "/v1/content/docs/a.bin?version=x", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    // Bad paths.
    for bad in
        ["/v1/content/docs/../a.bin", "/v1/content/docs/%00x", &format!("/v1/content/{}", "n".repeat(300))]
    {
        let r = api.call(1, &ada, "PUT", bad, &[], b"x");
        assert_eq!((r.status, r.code().as_str()), (400, "bad_path"), "{bad}");
    }

    // A simple upload over the limit: refused on its declared length before a byte is sent, or
    // (chunked, no length) once the streamed bytes pass it; nothing is committed either way.
    let head = |extra: &str| {
        format!(
            "PUT /v1/content/docs/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ada}\r\n\
             Connection: close\r\n{extra}\r\n"
        )
    };
    let declared = head(&format!("Content-Length: {}\r\n", UPLOAD_LIMIT + 1));
    let r = request_raw(api.addrs[0], declared.as_bytes());
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    assert!(r.json()["message"].as_str().unwrap().contains("block-level upload"), "{:?}", r.json());
    let mut chunked = head("Transfer-Encoding: chunked\r\n").into_bytes();
    // The one byte too many comes last, so the node has read everything else when it answers.
    for piece in random(UPLOAD_LIMIT as usize + 1, 13).chunks(1 << 20) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = request_raw(api.addrs[1], &chunked);
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    let r = api.call(2, &ada, "GET", "/v1/tree/docs/big.bin", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));

    // A stranger sees nothing of ada's drive, and cannot write to it.
    let r = api.call(2, &bob, "GET", &format!("/v1/content/docs/a.bin?ns={ada_drive}"), &[], b"");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let r = api.call(2, &bob, "PUT", &format!("/v1/content/docs/b.bin?ns={ada_drive}"), &[], b"x");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));

    // Delete to the trash.
    let r = api.call(0, &ada, "DELETE", "/v1/tree/docs/a.bin", &[], b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let r = api.call(1, &ada, "GET", "/v1/tree/docs/a.bin", &[], b"");
    assert!(r.status == 404 || r.json()["file"]["status"] == "trashed", "{:?}", r.json());
    let r = api.call(1, &ada, "GET", "/v1/nowhere", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
}
