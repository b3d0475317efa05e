//! tus resumable uploads on a real 4-node cluster, driven by the real Python tus client
//! (tuspy, installed from PyPI into a venv in the test's folder): an upload begun on one node
//! survives that node's `kill -9` and is finished through another node, and the file read back
//! from the third is byte for byte what was sent. Around it, the protocol as the spec has it:
//! `OPTIONS`, 412 for a wrong or missing `Tus-Resumable`, 401 without a token, 409 for a wrong
//! offset, 415 for a wrong content type, 460 for a bad checksum (and nothing kept), 413 past
//! the length, termination, empty uploads, and a PATCH whose connection breaks mid-body keeping
//! the bytes that arrived.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_proto::sample_data::random;
use cairn_test_cluster::http::{Reply, request};
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};

const MIB: usize = 1 << 20;

/// The tuspy client as the test drives it: one JSON argument in, one JSON line out.
const SCRIPT: &str = r#"
import json, sys
from tusclient import client

args = json.loads(sys.argv[1])
tus = client.TusClient(args["endpoint"], headers={"Authorization": "Bearer " + args["token"]})
options = dict(chunk_size=args["chunk_size"], upload_checksum=args["checksum"])
if args.get("url"):
    # Resuming: the constructor asks the server (HEAD) where the upload stands.
    uploader = tus.uploader(args["file"], url=args["url"], **options)
else:
    uploader = tus.uploader(args["file"], metadata=args["metadata"], **options)
resumed_at = uploader.offset
if args.get("chunks") is not None:
    for _ in range(args["chunks"]):
        uploader.upload_chunk()
else:
    uploader.upload()
print(json.dumps({"url": uploader.url, "resumed_at": resumed_at, "offset": uploader.offset}))
"#;

/// A venv in `dir` with tuspy installed; returns its Python. Fails the test, saying why, when
/// PyPI cannot be reached: passing without the real client would prove nothing.
fn python_with_tuspy(dir: &Path) -> PathBuf {
    let venv = dir.join("venv");
    let out = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .output()
        .expect("python3 (with venv) is needed to run the real tus client");
    assert!(out.status.success(), "python3 -m venv failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "tuspy>=1.1,<2"])
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install tuspy failed; this test needs PyPI to install the real tus client:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    venv.join("bin/python")
}

/// What the script printed.
struct Run {
    url: String,
    resumed_at: u64,
    offset: u64,
}

/// Runs the tuspy script with `args` (JSON).
fn tuspy(python: &Path, script: &Path, args: serde_json::Value) -> Run {
    let out = Command::new(python)
        .arg(script)
        .arg(args.to_string())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("run the tuspy script");
    assert!(
        out.status.success(),
        "tuspy failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Run {
        url: line["url"].as_str().unwrap().to_owned(),
        resumed_at: line["resumed_at"].as_u64().unwrap(),
        offset: line["offset"].as_u64().unwrap(),
    }
}

/// Calls the API as a tus client does: a token and `Tus-Resumable: 1.0.0` on every request.
struct Tus {
    token: String,
}

impl Tus {
    fn call(&self, addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("Authorization", auth.as_str()), ("Tus-Resumable", "1.0.0")];
        headers.extend_from_slice(extra);
        request(addr, method, path, &headers, body)
    }

    fn create(&self, addr: SocketAddr, length: usize, path: &str) -> String {
        let metadata = format!("path {},filetype dGV4dC9wbGFpbg==", B64.encode(path));
        let length = length.to_string();
        let r = self.call(
            addr,
            "POST",
            "/v1/uploads",
            &[("Upload-Length", &length), ("Upload-Metadata", &metadata)],
            b"",
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.header("location").unwrap().to_owned()
    }

    fn patch(
        &self,
        addr: SocketAddr,
        url: &str,
        offset: usize,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let offset = offset.to_string();
        let mut headers =
            vec![("Content-Type", "application/offset+octet-stream"), ("Upload-Offset", &offset)];
        headers.extend_from_slice(extra);
        self.call(addr, "PATCH", url, &headers, body)
    }

    fn head(&self, addr: SocketAddr, url: &str) -> Reply {
        let auth = format!("Bearer {}", self.token);
        head(addr, url, &[("Authorization", &auth), ("Tus-Resumable", "1.0.0")])
    }

    fn offset(&self, addr: SocketAddr, url: &str) -> u64 {
        let r = self.head(addr, url);
        assert_eq!(r.status, 200, "HEAD {url}: {:?}", r.headers);
        r.header("upload-offset").unwrap().parse().unwrap()
    }

    fn download(&self, addr: SocketAddr, path: &str) -> Reply {
        let r = self.call(addr, "GET", &format!("/v1/content{path}"), &[], b"");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r
    }
}

/// `HEAD`: status and headers only (the common client would wait for a body that never comes).
fn head(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut text = format!("HEAD {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        match line.trim_end().split_once(':') {
            Some((name, value)) => headers.push((name.to_ascii_lowercase(), value.trim().to_owned())),
            None => break,
        }
    }
    Reply { status, headers, body: Vec::new() }
}

fn sha1_b64(data: &[u8]) -> String {
    B64.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data))
}

fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", blake3::hash(data).to_hex())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tuspy_upload_survives_its_node_and_the_protocol_is_kept() {
    // pip runs while the cluster starts.
    let scratch = tempfile::tempdir().unwrap();
    let folder = scratch.path().to_owned();
    let installing = std::thread::spawn(move || python_with_tuspy(&folder));
    // Four nodes: with the default 2+1 coding a new block needs three live nodes, and the
    // upload goes on after one of them died.
    let mut cluster = ProcessCluster::start(4, Settings::default()).await;
    let python = installing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let script = scratch.path().join("tus_upload.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let (a, b, c) = (cluster.nodes[&1].api, cluster.nodes[&2].api, cluster.nodes[&3].api);
    let ada = Tus { token: cluster.add_user("ada", false) };
    let bob = Tus { token: cluster.add_user("bob", false) };

    // Discovery: no token and no Tus-Resumable needed.
    let r = request(a, "OPTIONS", "/v1/uploads", &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    assert_eq!(r.header("tus-extension"), Some("creation,checksum,termination,expiration"));
    assert_eq!(r.header("tus-max-size"), Some("1099511627776"));
    assert!(r.header("tus-checksum-algorithm").unwrap().split(',').any(|a| a == "sha1"));

    // Version, token, length and metadata are checked at creation.
    let r = request(a, "POST", "/v1/uploads", &[("Upload-Length", "5")], b"");
    assert_eq!((r.status, r.code().as_str()), (412, "unsupported_version"));
    assert_eq!((r.header("tus-version"), r.header("tus-resumable")), (Some("1.0.0"), Some("1.0.0")));
    let auth = format!("Bearer {}", ada.token);
    let old_version = [("Authorization", auth.as_str()), ("Tus-Resumable", "0.2.2"), ("Upload-Length", "5")];
    let r = request(a, "POST", "/v1/uploads", &old_version, b"");
    assert_eq!((r.status, r.code().as_str()), (412, "unsupported_version"));
    let r = request(a, "POST", "/v1/uploads", &[("Tus-Resumable", "1.0.0"), ("Upload-Length", "5")], b"");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    let meta = format!("path {}", B64.encode("/x.bin"));
    let r = ada.call(
        b,
        "POST",
        "/v1/uploads",
        &[("Upload-Length", "2199023255552"), ("Upload-Metadata", &meta)],
        b"",
    );
    assert_eq!((r.status, r.code().as_str()), (413, "too_large"));
    let r = ada.call(b, "POST", "/v1/uploads", &[("Upload-Length", "5")], b"");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    assert!(r.json()["message"].as_str().unwrap().contains("path"), "{:?}", r.json());
    let r =
        ada.call(b, "POST", "/v1/uploads", &[("Upload-Length", "5"), ("Upload-Metadata", "path !!")], b"");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    // A small upload in two PATCHes through two nodes, with checksums.
    let hello = b"hello world";
    let url = ada.create(c, hello.len(), "/notes/hello.txt");
    let id = url.strip_prefix("/v1/uploads/").unwrap();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
    let r = ada.head(a, &url);
    assert_eq!(
        (r.status, r.header("upload-offset"), r.header("upload-length")),
        (200, Some("0"), Some("11"))
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("upload-expires").unwrap().ends_with(" GMT"), "{:?}", r.headers);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(bob.head(a, &url).status, 403, "another user's upload");
    let r = ada.call(a, "PATCH", &url, &[("Upload-Offset", "0"), ("Content-Type", "text/plain")], b"hell");
    assert_eq!((r.status, r.code().as_str()), (415, "unsupported_media_type"));
    let r = ada.patch(a, &url, 5, &[], b"hell");
    assert_eq!((r.status, r.code().as_str()), (409, "offset_mismatch"));
    let bad = format!("sha1 {}", sha1_b64(b"help"));
    let r = ada.patch(a, &url, 0, &[("Upload-Checksum", &bad)], b"hell");
    assert_eq!((r.status, r.code().as_str()), (460, "checksum_mismatch"));
    let r = ada.patch(a, &url, 0, &[("Upload-Checksum", "crc32 AAAAAA==")], b"hell");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    assert_eq!(ada.offset(b, &url), 0, "nothing of a refused PATCH is kept");
    let good = format!("sha1 {}", sha1_b64(b"hell"));
    let r = ada.patch(a, &url, 0, &[("Upload-Checksum", &good)], b"hell");
    assert_eq!(
        (r.status, r.header("upload-offset")),
        (204, Some("4")),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(r.header("upload-expires").is_some());
    let r = ada.patch(b, &url, 4, &[], b"o world and more");
    assert_eq!((r.status, r.code().as_str()), (413, "too_large"));
    let r = ada.patch(b, &url, 4, &[], b"o world");
    assert_eq!(
        (r.status, r.header("upload-offset")),
        (204, Some("11")),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.header("x-cairn-version"), Some("1"));
    let r = ada.download(c, "/notes/hello.txt");
    assert_eq!(r.body, hello);
    assert_eq!(r.header("etag").unwrap(), etag_of(hello), "the finish hashed what it stored");
    assert_eq!(ada.head(a, &url).status, 404, "a finished upload is gone");

    // Termination, and ids that are not ids.
    let url = ada.create(a, 100, "/gone.bin");
    assert_eq!(ada.call(b, "DELETE", &url, &[], b"").status, 204);
    assert_eq!(ada.head(c, &url).status, 404);
    assert_eq!(ada.patch(c, &url, 0, &[], b"x").status, 404);
    assert_eq!(ada.call(a, "DELETE", &url, &[], b"").status, 404);
    let r = ada.call(a, "DELETE", "/v1/uploads/not-an-id", &[], b"");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));

    // An empty file needs no PATCH: tuspy sends none.
    let url = ada.create(b, 0, "/empty.txt");
    assert_eq!(ada.head(b, &url).status, 404, "finished at creation");
    assert!(ada.download(c, "/empty.txt").body.is_empty());

    // A PATCH whose connection breaks mid-body keeps the bytes that arrived.
    let partial = random(6 * MIB, 7);
    let sent = 5 * MIB / 2;
    let url = ada.create(a, partial.len(), "/partial.bin");
    {
        let mut stream = TcpStream::connect(b).unwrap();
        let head = format!(
            "PATCH {url} HTTP/1.1\r\nHost: {b}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\n\
             Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
            ada.token,
            partial.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&partial[..sent]).unwrap();
        stream.flush().unwrap();
    } // Dropped: the connection closes with the body unfinished.
    wait_until("the broken PATCH's bytes to be kept", || async {
        (ada.offset(c, &url) == sent as u64).then_some(())
    })
    .await;
    let r = ada.patch(c, &url, sent, &[], &partial[sent..]);
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(ada.download(a, "/partial.bin").body, partial);

    // A 40 MiB file with tuspy: three 4 MiB chunks to node 1, which then dies (it is the node
    // the cluster was started from, and likely leads), and the rest through node 2 with the
    // same upload URL; read back through node 3.
    let content = random(40 * MIB + 12_345, 42);
    let file = scratch.path().join("big.bin");
    std::fs::write(&file, &content).unwrap();
    let first = tuspy(
        &python,
        &script,
        serde_json::json!({
            "endpoint": format!("http://{a}/v1/uploads"),
            "token": ada.token,
            "file": file,
            "chunk_size": 4 * MIB,
            "checksum": false,
            "chunks": 3,
            "metadata": {"path": "/tus/big.bin", "mtime_ms": "1700000000000"},
        }),
    );
    assert_eq!(first.offset, 12 * MIB as u64);
    let path = first.url.strip_prefix(&format!("http://{a}")).expect("an upload URL on node 1").to_owned();
    cluster.kill(1);
    // Node 2 answers once the survivors have a leader.
    wait_until("node 2 to report the upload's offset", || async {
        let r = ada.head(b, &path);
        (r.status == 200).then(|| assert_eq!(r.header("upload-offset"), Some("12582912")))
    })
    .await;
    let second = tuspy(
        &python,
        &script,
        serde_json::json!({
            "endpoint": format!("http://{b}/v1/uploads"),
            "token": ada.token,
            "file": file,
            "url": format!("http://{b}{path}"),
            "chunk_size": 4 * MIB,
            "checksum": true,
        }),
    );
    assert_eq!((second.resumed_at, second.offset), (12 * MIB as u64, content.len() as u64));
    assert!(second.url.starts_with(&format!("http://{b}/v1/uploads/")));
    let r = ada.download(c, "/tus/big.bin");
    assert!(r.body == content, "the file read back differs from the one sent");
    assert_eq!(r.header("etag").unwrap(), etag_of(&content));
    let r = ada.call(c, "GET", "/v1/history/tus/big.bin", &[], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.windows(13).any(|w| w == b"1700000000000"), "mtime_ms from the metadata: {:?}", r.json());
}
