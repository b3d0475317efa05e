//! The HTTP API of a real 3-node cluster refuses names that could mislead a person or another
//! system — control characters (a newline, ESC), a bidirectional override, a drive letter and
//! colon at a name's start — wherever a path comes in (the URL of a simple upload or a new
//! folder, a move's JSON body, tus metadata), with 400 `bad_path`, a message naming the rule
//! and nothing created; and it keeps names in Unicode NFC, so the NFD spelling of an existing
//! name is that name, not a twin. Ordinary names that merely look close (a colon later in the
//! name, right-to-left text with an RLM mark) are still accepted, and names stored before the
//! rules tightened are still listed with their state and still open through a link.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use cairn_proto::DrivePath;
use cairn_raft::model::drive::{FileStatus, NewVersion, VersionContent};
use cairn_raft::model::ids::LinkId;
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::links::NewLink;
use cairn_raft::model::{Command, Request, RequestId, Response, UserId};
use cairn_test_cluster::http::{self, Reply, request};
use cairn_test_cluster::{ProcessCluster, Settings};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

struct Api {
    addrs: Vec<std::net::SocketAddr>,
    token: String,
}

impl Api {
    /// Calls node `n % 3` (spreading the calls over every node) as the test's user.
    fn call(&self, n: usize, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        http::call(&self.addrs, n, Some(&self.token), method, path, headers, body)
    }

    /// The names in folder `path`, in the order the node lists them.
    fn names_in(&self, n: usize, path: &str) -> Vec<String> {
        let at = if path.is_empty() { "/v1/tree".to_owned() } else { url("tree", path) };
        let r = self.call(n, "GET", &at, &[], b"");
        assert_eq!(r.status, 200, "listing {path:?}: {:?}", r.json());
        let children = r.json()["children"].as_array().cloned().unwrap_or_default();
        children.iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    }
}

/// `/v1/{route}/{path}` with each name of `path` percent-encoded on its own, as a client must
/// send it: the request line cannot carry a newline or ESC, and a `/` inside a name would make
/// two names. Not `Url`: it drops tabs and newlines from a segment (the WHATWG URL rules), so
/// the node would be sent `linebreak.txt` for `line\nbreak.txt`.
fn url(route: &str, path: &str) -> String {
    let names: Vec<String> =
        path.split('/').map(|n| utf8_percent_encode(n, NON_ALPHANUMERIC).to_string()).collect();
    format!("/v1/{route}/{}", names.join("/"))
}

/// Asserts `r` is the refusal of a bad path whose message names `rule`.
fn assert_bad_path(r: &Reply, rule: &str, what: &str) {
    assert_eq!((r.status, r.code().as_str()), (400, "bad_path"), "{what}: {:?}", r.json());
    let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains(rule), "{what}: the message {message:?} does not name {rule:?}");
}

/// Names each refused, with the words of the rule the refusal must name.
const MISLEADING: [(&str, &str); 6] = [
    ("line\nbreak.txt", "control character U+000A"),
    ("\u{1b}[2Jclear.txt", "control character U+001B"),
    ("c1\u{85}.txt", "control character U+0085"),
    ("invoice\u{202E}fdp.exe", "bidirectional control character U+202E"),
    ("isolate\u{2066}x.txt", "bidirectional control character U+2066"),
    // A middle name: the rule holds for every name of the path, not just the first or last.
    ("C:evil/x.txt", "drive letter and a colon"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_misleading_names_and_keeps_one_spelling_of_each() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    let api = Api { addrs: cluster.nodes.values().map(|n| n.api).collect(), token };
    assert_eq!(api.call(0, "POST", &url("folders", "inbox"), &[], b"").status, 201);

    // Simple upload, new folder and tus creation: each refused before anything is made.
    for (i, (name, rule)) in MISLEADING.iter().enumerate() {
        let path = format!("inbox/new/{name}");
        let r = api.call(i, "PUT", &url("content", &path), &[], b"payload");
        assert_bad_path(&r, rule, &format!("PUT {path:?}"));
        let r = api.call(i + 1, "POST", &url("folders", &format!("{path}/deeper")), &[], b"");
        assert_bad_path(&r, rule, &format!("POST /v1/folders {path:?}"));
        let metadata = format!("path {}", base64::engine::general_purpose::STANDARD.encode(&path));
        let headers = [("Tus-Resumable", "1.0.0"), ("Upload-Length", "7"), ("Upload-Metadata", &metadata)];
        let r = api.call(i + 2, "POST", "/v1/uploads", &headers, b"");
        assert_bad_path(&r, rule, &format!("tus creation of {path:?}"));
        assert_eq!(r.header("location"), None, "a refused tus creation has no session URL");
    }
    // No file, no parent folder (`new`), no upload under way (which would list as `uploading`).
    assert_eq!(api.names_in(1, "inbox"), Vec::<String>::new());

    // A move to a name with a control character: refused, and the source stays where it was.
    let r = api.call(2, "PUT", &url("content", "inbox/keep.txt"), &[], b"kept");
    assert_eq!(r.status, 201, "{:?}", r.json());
    for (i, (to, rule)) in
        [("inbox/kept\u{7}.txt", "control character U+0007"), ("inbox/new/kept\u{7f}.txt", "U+007F")]
            .into_iter()
            .enumerate()
    {
        let body = json!({"from": "inbox/keep.txt", "to": to}).to_string();
        let r = api.call(i, "POST", "/v1/move", &[], body.as_bytes());
        assert_bad_path(&r, rule, &format!("move to {to:?}"));
    }
    let r = api.call(1, "GET", &url("content", "inbox/keep.txt"), &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, b"kept".as_slice()));
    assert_eq!(api.names_in(2, "inbox"), ["keep.txt"]);

    // NFC and NFD: `é` typed on one device and `e` + U+0301 written by macOS are one name.
    let (nfc, nfd) = ("notes/Caf\u{e9}.txt", "notes/Cafe\u{301}.txt");
    let r = api.call(0, "PUT", &url("content", nfc), &[], b"first");
    assert_eq!(r.status, 201, "{:?}", r.json());
    let file = r.json()["file"].as_u64().unwrap();
    // Create-only to the NFD spelling finds the file there already.
    let r = api.call(1, "PUT", &url("content", nfd), &[("If-None-Match", "*")], b"twin");
    assert_eq!((r.status, r.code().as_str(), r.json()["head"].as_u64()), (409, "conflict", Some(1)));
    // Without the precondition it is the next version of the same file.
    let r = api.call(2, "PUT", &url("content", nfd), &[], b"second");
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!((r.json()["file"].as_u64(), r.json()["version"].as_u64()), (Some(file), Some(2)));
    for spelling in [nfd, nfc] {
        let r = api.call(0, "GET", &url("content", spelling), &[], b"");
        assert_eq!((r.status, r.body.as_slice()), (200, b"second".as_slice()), "GET {spelling:?}");
    }
    // A folder made under its NFD spelling is listed in NFC too.
    assert_eq!(api.call(1, "POST", &url("folders", "notes/Re\u{301}sume\u{301}s"), &[], b"").status, 201);
    assert_eq!(api.names_in(2, "notes"), ["Caf\u{e9}.txt", "R\u{e9}sum\u{e9}s"]);
    let r = api.call(0, "GET", &url("tree", nfd), &[], b"");
    assert_eq!((r.status, r.json()["file"]["id"].as_u64()), (200, Some(file)));

    // Names that only look close to a refused one are ordinary names.
    let fine = [
        ("inbox/10:30 notes.txt", "a colon after the start"),
        ("inbox/\u{5D3}\u{5D5}\u{5D7}\u{200F}.txt", "Hebrew with an RLM mark"),
        ("inbox/Re: budget/x.txt", "a colon after two letters, in a folder's name"),
    ];
    for (i, (path, what)) in fine.iter().enumerate() {
        let r = api.call(i, "PUT", &url("content", path), &[], what.as_bytes());
        assert_eq!(r.status, 201, "{what}: {:?}", r.json());
        let r = api.call(i + 1, "GET", &url("content", path), &[], b"");
        assert_eq!((r.status, r.body.as_slice()), (200, what.as_bytes()), "{what}");
    }
    assert_eq!(api.call(2, "POST", &url("folders", "10:30 meeting"), &[], b"").status, 201);
    // Listed exactly as given, byte for byte.
    let hebrew = "\u{5D3}\u{5D5}\u{5D7}\u{200F}.txt";
    assert_eq!(api.names_in(0, "inbox"), ["10:30 notes.txt", "Re: budget", "keep.txt", hebrew]);
    assert_eq!(api.names_in(1, ""), ["10:30 meeting", "inbox", "notes"]);

    // Names stored before the rules tightened — written here straight to the metadata service,
    // as the API let them in then — are still listed with their state, and a link made to one
    // still opens: what the drive reads back is held to the structural rules only.
    let me = api.call(2, "GET", "/v1/me", &[], b"").json();
    let (user, drive) = (UserId(me["id"].as_u64().unwrap()), NamespaceId(me["drive"].as_u64().unwrap()));
    let stored = |path: &str| DrivePath::from_stored(path).unwrap();
    let empty_file = |path: &str| {
        Command::CommitVersion(NewVersion {
            namespace: drive,
            path: stored(path),
            base: None,
            content: VersionContent {
                blocks: Vec::new(),
                size: 0,
                hash: *blake3::hash(b"").as_bytes(),
                mtime_ms: 1,
                device: None,
                hash_verified: false,
            },
            author: user,
            status: FileStatus::Complete,
        })
    };
    let link = LinkId(0x01d_11a3e);
    let commands = [
        empty_file("legacy/bell\u{7}.txt"),
        empty_file("legacy/Cafe\u{301}.txt"),
        empty_file("old\nshare/inside.txt"),
        Command::CreateLink(NewLink {
            link,
            namespace: drive,
            path: stored("old\nshare"),
            user,
            expires_ms: None,
            password_hash: None,
        }),
    ];
    let client = cluster.client().await;
    for (i, command) in commands.into_iter().enumerate() {
        let request = Request { id: RequestId(0x01d + i as u128), time_ms: now_ms(), command };
        let response = client.write(request).await.unwrap();
        assert!(matches!(response, Response::Committed { .. } | Response::LinkCreated), "{response:?}");
    }
    client.shutdown().await;
    let r = api.call(0, "GET", &url("tree", "legacy"), &[], b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let children = r.json()["children"].as_array().cloned().unwrap();
    let listed: Vec<(&str, &str)> = children
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap_or("none")))
        .collect();
    assert_eq!(listed, [("Cafe\u{301}.txt", "complete"), ("bell\u{7}.txt", "complete")]);
    let r = request(api.addrs[1], "GET", &format!("/v1/links/{link}"), &[], b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        (r.json()["name"].as_str(), r.json()["children"][0]["name"].as_str()),
        (Some("old\nshare"), Some("inside.txt"))
    );
    let r = request(api.addrs[2], "GET", &format!("/v1/links/{link}/content?path=inside.txt"), &[], b"");
    assert_eq!((r.status, r.body.len()), (200, 0), "{:?}", String::from_utf8_lossy(&r.body));
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}
