//! The history, trash and move endpoints of a real 3-node cluster: three versions listed newest
//! first and by page, an old version downloaded and restored as a new head (also conditionally,
//! losing to a moved head), versions pinned and unpinned, a file and a folder trashed, listed
//! by page, restored and purged, a file and a folder moved with their content following them —
//! and every bad input answered with its status and stable code: bad paths, bad limits,
//! unknown versions and fields, folders where files are needed, viewers writing, strangers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::time::{SystemTime, UNIX_EPOCH};

use cairn_proto::DrivePath;
use cairn_raft::model::ids::NamespaceId;
use cairn_raft::model::shares::ShareRole;
use cairn_raft::model::{Command, Request, RequestId, Response, UserId};
use cairn_test_cluster::http::{self, Reply};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::{Value, json};

struct Api {
    addrs: Vec<std::net::SocketAddr>,
}

impl Api {
    /// Calls node `n % 3` (spreading the calls over every node) as `token`; a body that looks
    /// like JSON is sent as JSON.
    fn call(&self, n: usize, token: &str, method: &str, path: &str, body: &[u8]) -> Reply {
        http::call(&self.addrs, n, Some(token), method, path, &[], body)
    }

    /// Calls with a JSON body.
    fn send(&self, n: usize, token: &str, method: &str, path: &str, body: Value) -> Reply {
        self.call(n, token, method, path, body.to_string().as_bytes())
    }

    /// Uploads `content` to `path`, unconditionally; the new version.
    fn put(&self, token: &str, path: &str, content: &[u8]) -> u64 {
        let r = self.call(0, token, "PUT", &format!("/v1/content/{path}"), content);
        assert!(r.status == 200 || r.status == 201, "{path}: {:?}", r.json());
        r.json()["version"].as_u64().unwrap()
    }

    /// Downloads `path` (a URL tail, query string and all).
    fn get_reply(&self, token: &str, path: &str) -> Reply {
        self.call(1, token, "GET", &format!("/v1/content/{path}"), b"")
    }

    /// Downloads `path`: the status and the body.
    fn get(&self, token: &str, path: &str) -> (u16, Vec<u8>) {
        let r = self.get_reply(token, path);
        (r.status, r.body)
    }
}

/// Asserts a reply is an error with `status` and `code`, and carries a message for people.
#[track_caller]
fn refused(r: &Reply, status: u16, code: &str) {
    let body = r.json();
    assert_eq!((r.status, r.code().as_str()), (status, code), "{body}");
    assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "no message: {body}");
}

fn hash_hex(content: &[u8]) -> String {
    blake3::hash(content).to_hex().to_string()
}

fn versions(history: &Value) -> Vec<u64> {
    history["versions"].as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_trash_and_moves_work_and_refuse_bad_input_with_codes() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let admin = cluster.add_user("root", true);
    let api = Api { addrs: cluster.nodes.values().map(|n| n.api).collect() };
    let mut users = Vec::new();
    for name in ["ada", "bob", "carol"] {
        let r = api.send(0, &admin, "POST", "/v1/users", json!({ "name": name }));
        assert_eq!(r.status, 201, "{:?}", r.json());
        let (id, drive) = (r.json()["id"].as_u64().unwrap(), r.json()["drive"].as_u64().unwrap());
        let r = api.send(1, &admin, "POST", &format!("/v1/users/{name}/tokens"), json!({ "label": "test" }));
        assert_eq!(r.status, 201, "{:?}", r.json());
        users.push((id, drive, r.json()["token"].as_str().unwrap().to_owned()));
    }
    let [(ada_id, ada_drive, ada), (bob_id, _, bob), (_, _, carol)] = <[_; 3]>::try_from(users).unwrap();

    // Bob views ada's "shared" folder; carol is a stranger to her drive. The API has no share
    // endpoint yet, so the share goes straight to the metadata service.
    api.put(&ada, "shared/s.txt", b"shared one");
    api.put(&ada, "shared/s.txt", b"shared two");
    let client = cluster.client().await;
    let share = Command::Share {
        namespace: NamespaceId(ada_drive),
        path: DrivePath::parse("/shared").unwrap(),
        with: UserId(bob_id),
        role: ShareRole::Read,
        by: UserId(ada_id),
    };
    let shared = client.write(Request { id: RequestId(0x5ba4e), time_ms: now_ms(), command: share }).await;
    assert_eq!(shared.unwrap(), Response::Shared);
    client.shutdown().await;

    // Three versions, listed newest first.
    let contents: [&[u8]; 3] = [b"one", b"two two", b"three three three"];
    for (i, content) in contents.iter().enumerate() {
        assert_eq!(api.put(&ada, "docs/a.txt", content), i as u64 + 1);
    }
    let r = api.call(2, &ada, "GET", "/v1/history/docs/a.txt", b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let history = r.json();
    assert_eq!((history["path"].as_str(), history["head"].as_u64()), (Some("docs/a.txt"), Some(3)));
    let file_id = history["file"].as_u64().unwrap();
    assert_eq!(versions(&history), [3, 2, 1]);
    for (v, content) in history["versions"].as_array().unwrap().iter().zip(contents.iter().rev()) {
        assert_eq!(v["size"].as_u64(), Some(content.len() as u64));
        assert_eq!(v["hash"].as_str(), Some(hash_hex(content).as_str()));
        assert_eq!((v["author"].as_u64(), v["pinned"].as_bool()), (Some(ada_id), Some(false)));
        assert!(v["device"].is_null() && v["mtime_ms"].as_u64().unwrap() > 0, "{v}");
        assert!(v["committed_ms"].as_u64().unwrap() > 0, "{v}");
    }
    let r = api.call(0, &ada, "GET", "/v1/history/docs/a.txt?limit=2", b"");
    assert_eq!(versions(&r.json()), [3, 2]);
    // The next page starts before the last version seen.
    let r = api.call(1, &ada, "GET", "/v1/history/docs/a.txt?limit=2&before=2", b"");
    assert_eq!(versions(&r.json()), [1]);
    let r = api.call(1, &ada, "GET", "/v1/history/docs/a.txt?before=1", b"");
    assert_eq!(versions(&r.json()), Vec::<u64>::new());
    assert_eq!(api.get(&ada, "docs/a.txt?version=1"), (200, b"one".to_vec()));

    // Bad history requests.
    for (query, code) in [
        ("limit=0", "bad_request"),
        ("limit=1001", "bad_request"),
        ("limit=x", "bad_request"),
        ("before=x", "bad_request"),
    ] {
        refused(&api.call(1, &ada, "GET", &format!("/v1/history/docs/a.txt?{query}"), b""), 400, code);
    }
    refused(&api.call(1, &ada, "GET", "/v1/history/docs/a.txt?colour=blue", b""), 400, "bad_request");
    refused(&api.call(2, &ada, "GET", "/v1/history/docs/../a.txt", b""), 400, "bad_path");
    refused(&api.call(2, &ada, "GET", "/v1/history/docs/nope.txt", b""), 404, "not_found");
    refused(&api.call(2, &ada, "GET", "/v1/history/docs", b""), 409, "wrong_kind");

    // Restore version 1: the content is back, as a new version 4 with version 1's hash.
    let r = api.send(0, &ada, "POST", "/v1/history/docs/a.txt/restore", json!({ "version": 1 }));
    assert_eq!(r.status, 200, "{:?}", r.json());
    let restored = r.json();
    assert_eq!((restored["version"].as_u64(), restored["restored_from"].as_u64()), (Some(4), Some(1)));
    assert_eq!((restored["file"].as_u64(), restored["size"].as_u64()), (Some(file_id), Some(3)));
    assert_eq!(restored["hash"].as_str(), Some(hash_hex(b"one").as_str()));
    assert_eq!(api.get(&ada, "docs/a.txt"), (200, b"one".to_vec()));
    let r = api.call(1, &ada, "GET", "/v1/history/docs/a.txt", b"");
    assert_eq!(versions(&r.json()), [4, 3, 2, 1]);
    assert_eq!(r.json()["versions"][0]["hash"], r.json()["versions"][3]["hash"]);

    // A conditional restore loses to a moved head, and wins on the current one.
    let r = api.send(1, &ada, "POST", "/v1/history/docs/a.txt/restore", json!({ "version": 2, "base": 3 }));
    refused(&r, 409, "conflict");
    let r = api.send(2, &ada, "POST", "/v1/history/docs/a.txt/restore", json!({ "version": 2, "base": 4 }));
    assert_eq!((r.status, r.json()["version"].as_u64()), (200, Some(5)), "{:?}", r.json());
    assert_eq!(api.get(&ada, "docs/a.txt"), (200, b"two two".to_vec()));

    // Bad restores.
    let restore = |path: &str, body: Value| api.send(0, &ada, "POST", &format!("/v1/history/{path}"), body);
    refused(&restore("docs/a.txt/restore", json!({ "version": 9 })), 404, "not_found");
    refused(&restore("docs/a.txt/restore", json!({ "version": 0 })), 404, "not_found");
    refused(&restore("docs/nope.txt/restore", json!({ "version": 1 })), 404, "not_found");
    refused(&restore("docs/restore", json!({ "version": 1 })), 409, "wrong_kind");
    refused(&restore("docs/a.txt/undo", json!({ "version": 1 })), 404, "not_found");
    refused(&restore("restore", json!({ "version": 1 })), 400, "bad_request");
    refused(&restore("docs/%00/restore", json!({ "version": 1 })), 400, "bad_path");
    refused(&restore("docs/a.txt/restore", json!({ "version": 1, "colour": "blue" })), 400, "bad_request");
    refused(&restore("docs/a.txt/restore", json!({ "version": 1, "pinned": true })), 400, "bad_request");
    refused(&restore("docs/a.txt/restore", json!({ "version": "one" })), 400, "bad_request");
    refused(&restore("docs/a.txt/restore", json!({})), 400, "bad_request");
    let r = api.call(0, &ada, "POST", "/v1/history/docs/a.txt/restore", b"version=1");
    refused(&r, 400, "bad_request");

    // Pin and unpin.
    let r = restore("docs/a.txt/pin", json!({ "version": 2, "pinned": true }));
    assert_eq!((r.status, r.json()), (200, json!({ "version": 2, "pinned": true })));
    let r = api.call(1, &ada, "GET", "/v1/history/docs/a.txt", b"");
    let pinned: Vec<bool> =
        r.json()["versions"].as_array().unwrap().iter().map(|v| v["pinned"].as_bool().unwrap()).collect();
    assert_eq!(pinned, [false, false, false, true, false]);
    let r = restore("docs/a.txt/pin", json!({ "version": 2, "pinned": false }));
    assert_eq!((r.status, r.json()), (200, json!({ "version": 2, "pinned": false })));
    let r = api.call(2, &ada, "GET", "/v1/history/docs/a.txt", b"");
    assert!(r.json()["versions"].as_array().unwrap().iter().all(|v| v["pinned"] == false));
    refused(&restore("docs/a.txt/pin", json!({ "version": 99, "pinned": true })), 404, "not_found");
    refused(&restore("docs/a.txt/pin", json!({ "version": 2 })), 400, "bad_request");
    refused(
        &restore("docs/a.txt/pin", json!({ "version": 2, "pinned": true, "base": 5 })),
        400,
        "bad_request",
    );
    refused(&restore("docs/a.txt/pin", json!({ "version": 2, "pinned": "yes" })), 400, "bad_request");

    // A viewer reads the history but changes nothing; a stranger sees nothing.
    let ns = format!("?ns={ada_drive}");
    let r = api.call(0, &bob, "GET", &format!("/v1/history/shared/s.txt{ns}"), b"");
    assert_eq!((r.status, versions(&r.json())), (200, vec![2, 1]));
    let in_ada = |body: Value| {
        let mut body = body;
        body["ns"] = json!(ada_drive);
        body
    };
    let writes = [
        ("POST", "/v1/history/shared/s.txt/restore", json!({ "version": 1 })),
        ("POST", "/v1/history/shared/s.txt/pin", json!({ "version": 1, "pinned": true })),
        ("POST", "/v1/move", json!({ "from": "shared/s.txt", "to": "shared/t.txt" })),
        ("POST", "/v1/trash/restore", json!({ "path": "shared/s.txt" })),
        ("DELETE", "/v1/trash", json!({ "path": "shared/s.txt" })),
    ];
    for (method, path, body) in &writes {
        refused(&api.send(1, &bob, method, path, in_ada(body.clone())), 403, "forbidden");
        refused(&api.send(2, &carol, method, path, in_ada(body.clone())), 404, "not_found");
    }
    refused(&api.call(0, &carol, "GET", &format!("/v1/history/shared/s.txt{ns}"), b""), 404, "not_found");
    // The trash lists the whole drive, which the viewer of one folder does not see.
    refused(&api.call(1, &bob, "GET", &format!("/v1/trash{ns}"), b""), 404, "not_found");
    refused(&api.call(2, &carol, "GET", &format!("/v1/trash{ns}"), b""), 404, "not_found");
    // Bob's own drive is not ada's: the same paths are simply not there.
    refused(&api.call(0, &bob, "GET", "/v1/history/shared/s.txt", b""), 404, "not_found");

    // The trash: a file, and a folder with files at two depths.
    api.put(&ada, "pics/x.jpg", b"x-ray");
    api.put(&ada, "pics/sub/y.jpg", b"yellow");
    assert_eq!(api.call(1, &ada, "DELETE", "/v1/tree/docs/a.txt", b"").status, 200);
    assert_eq!(api.call(2, &ada, "DELETE", "/v1/tree/pics", b"").status, 200);
    let r = api.call(0, &ada, "GET", "/v1/trash", b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let trash = r.json();
    let mut listed: Vec<(String, u64)> = trash["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["trashed_by"].as_u64(), Some(ada_id), "{t}");
            assert!(t["trashed_ms"].as_u64().unwrap() > 0, "{t}");
            (t["path"].as_str().unwrap().to_owned(), t["size"].as_u64().unwrap())
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [("docs/a.txt".to_owned(), 7), ("pics/sub/y.jpg".to_owned(), 6), ("pics/x.jpg".to_owned(), 5)]
    );
    assert!(trash["next"].is_null());
    assert!(trash["files"].as_array().unwrap().iter().any(|t| t["file"].as_u64() == Some(file_id)));
    // By page.
    let r = api.call(1, &ada, "GET", "/v1/trash?limit=2", b"");
    let (first, next) = (r.json()["files"].as_array().unwrap().len(), r.json()["next"].as_u64().unwrap());
    let r = api.call(2, &ada, "GET", &format!("/v1/trash?limit=2&after={next}"), b"");
    assert_eq!((first, r.json()["files"].as_array().unwrap().len()), (2, 1));
    assert!(r.json()["next"].is_null());
    for query in ["limit=0", "limit=5000", "after=x", "colour=blue"] {
        refused(&api.call(0, &ada, "GET", &format!("/v1/trash?{query}"), b""), 400, "bad_request");
    }

    // A trashed file keeps its history, but a version of it is restored from the trash first.
    let r = api.call(1, &ada, "GET", "/v1/history/docs/a.txt", b"");
    assert_eq!((r.status, versions(&r.json()).len()), (200, 5));
    refused(&restore("docs/a.txt/restore", json!({ "version": 1 })), 409, "wrong_kind");

    // Restore the file, then the folder: everything below it comes back, folders and all.
    let r = api.send(0, &ada, "POST", "/v1/trash/restore", json!({ "path": "docs/a.txt" }));
    assert_eq!((r.status, r.json()["files"].clone()), (200, json!([file_id])), "{:?}", r.json());
    assert_eq!(api.get(&ada, "docs/a.txt"), (200, b"two two".to_vec()));
    refused(
        &api.send(1, &ada, "POST", "/v1/trash/restore", json!({ "path": "docs/a.txt" })),
        409,
        "wrong_kind",
    );
    let r = api.send(2, &ada, "POST", "/v1/trash/restore", json!({ "path": "pics" }));
    assert_eq!((r.status, r.json()["files"].as_array().map(Vec::len)), (200, Some(2)), "{:?}", r.json());
    assert_eq!(api.get(&ada, "pics/sub/y.jpg"), (200, b"yellow".to_vec()));
    assert_eq!(api.get(&ada, "pics/x.jpg"), (200, b"x-ray".to_vec()));
    let r = api.call(0, &ada, "GET", "/v1/trash", b"");
    assert_eq!(r.json()["files"], json!([]));
    refused(&api.send(1, &ada, "POST", "/v1/trash/restore", json!({ "path": "pics" })), 404, "not_found");
    refused(&api.send(1, &ada, "POST", "/v1/trash/restore", json!({ "path": "nowhere" })), 404, "not_found");

    // Purge: the file is gone for good, history and all.
    assert_eq!(api.call(1, &ada, "DELETE", "/v1/tree/docs/a.txt", b"").status, 200);
    refused(&api.send(2, &ada, "DELETE", "/v1/trash", json!({ "path": "pics/x.jpg" })), 409, "wrong_kind");
    let r = api.send(0, &ada, "DELETE", "/v1/trash", json!({ "path": "docs/a.txt" }));
    assert_eq!((r.status, r.json()["files"].clone()), (200, json!([file_id])), "{:?}", r.json());
    assert!(r.json()["seq"].as_u64().is_some());
    refused(&api.call(1, &ada, "GET", "/v1/content/docs/a.txt", b""), 404, "not_found");
    refused(&api.call(2, &ada, "GET", "/v1/history/docs/a.txt", b""), 404, "not_found");
    refused(&api.send(0, &ada, "DELETE", "/v1/trash", json!({ "path": "docs/a.txt" })), 404, "not_found");
    // A folder's worth at once.
    assert_eq!(api.call(1, &ada, "DELETE", "/v1/tree/pics", b"").status, 200);
    let r = api.send(2, &ada, "DELETE", "/v1/trash", json!({ "path": "pics" }));
    assert_eq!((r.status, r.json()["files"].as_array().map(Vec::len)), (200, Some(2)), "{:?}", r.json());
    assert_eq!(api.call(0, &ada, "GET", "/v1/trash", b"").json()["files"], json!([]));
    refused(&api.get_reply(&ada, "pics/sub/y.jpg"), 404, "not_found");
    // Bad trash bodies.
    for path in ["a/../b", "a\u{0}b", "a//b"] {
        let r = api.send(1, &ada, "POST", "/v1/trash/restore", json!({ "path": path }));
        refused(&r, 400, "bad_path");
    }
    refused(
        &api.send(1, &ada, "DELETE", "/v1/trash", json!({ "path": "x", "all": true })),
        400,
        "bad_request",
    );
    refused(&api.send(1, &ada, "DELETE", "/v1/trash", json!({})), 400, "bad_request");
    refused(&api.call(1, &ada, "DELETE", "/v1/trash", b""), 400, "bad_request");

    // Move a file into a new folder, and a folder with everything below it.
    api.put(&ada, "docs/b.txt", b"bee");
    api.put(&ada, "music/sub/song.mp3", b"la la la");
    let r = api.send(0, &ada, "POST", "/v1/move", json!({ "from": "docs/b.txt", "to": "archive/b2.txt" }));
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert!(r.json()["seq"].as_u64().unwrap() > 0);
    assert_eq!(api.get(&ada, "archive/b2.txt"), (200, b"bee".to_vec()));
    refused(&api.get_reply(&ada, "docs/b.txt"), 404, "not_found");
    let r = api.send(1, &ada, "POST", "/v1/move", json!({ "from": "/music", "to": "/audio" }));
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(api.get(&ada, "audio/sub/song.mp3"), (200, b"la la la".to_vec()));
    refused(&api.get_reply(&ada, "music/sub/song.mp3"), 404, "not_found");
    refused(&api.call(2, &ada, "GET", "/v1/tree/music", b""), 404, "not_found");
    // A moved file keeps its history.
    let r = api.call(2, &ada, "GET", "/v1/history/archive/b2.txt", b"");
    assert_eq!((r.status, versions(&r.json())), (200, vec![1]));

    // Bad moves.
    let mv = |body: Value| api.send(2, &ada, "POST", "/v1/move", body);
    refused(&mv(json!({ "from": "archive/b2.txt", "to": "audio/sub/song.mp3" })), 409, "exists");
    refused(&mv(json!({ "from": "audio", "to": "archive" })), 409, "exists");
    refused(&mv(json!({ "from": "audio", "to": "audio/deeper" })), 400, "invalid");
    refused(&mv(json!({ "from": "audio", "to": "audio" })), 400, "invalid");
    refused(&mv(json!({ "from": "/", "to": "elsewhere" })), 400, "invalid");
    refused(&mv(json!({ "from": "missing.txt", "to": "found.txt" })), 404, "not_found");
    refused(&mv(json!({ "from": "audio/../x", "to": "y" })), 400, "bad_path");
    refused(&mv(json!({ "from": "audio", "to": "a//b" })), 400, "bad_path");
    refused(&mv(json!({ "from": "audio", "to": "sound", "colour": "blue" })), 400, "bad_request");
    refused(&mv(json!({ "from": "audio" })), 400, "bad_request");
    refused(&mv(json!({ "from": "archive/b2.txt", "to": "archive/b2.txt/inner" })), 400, "invalid");
    assert_eq!(api.get(&ada, "audio/sub/song.mp3"), (200, b"la la la".to_vec()));
}
