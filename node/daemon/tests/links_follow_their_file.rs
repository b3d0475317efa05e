//! Public links bound to what they publish, over the HTTP API of a real 3-node cluster: a file
//! link keeps opening its file after a move and answers 404 once it is trashed; a folder link
//! follows `mv /pub /old` and never opens the `/pub` made after it; through a folder link, a
//! trashed file is neither listed nor served; `GET /v1/links` shows the owner every link on
//! their things, an editor's included, with where each points now; a demoted editor's link
//! stops. And link passwords: 20 wrong guesses in a row get 429s with `Retry-After` rather than
//! 20 argon2 runs (counted on `/metrics`), and a password in the URL is refused with a message
//! that says where it goes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;

use cairn_test_cluster::http::{self, Reply};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::{Value, json};

struct Api {
    addrs: Vec<SocketAddr>,
}

impl Api {
    fn call(
        &self,
        n: usize,
        token: Option<&str>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        http::call(&self.addrs, n, token, method, path, headers, body)
    }

    fn json(&self, n: usize, token: &str, method: &str, path: &str, body: &Value) -> Reply {
        self.call(n, Some(token), method, path, &[], body.to_string().as_bytes())
    }

    fn public(&self, n: usize, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.call(n, None, "GET", path, headers, b"")
    }

    fn upload(&self, token: &str, path: &str, content: &[u8]) {
        let r = self.call(2, Some(token), "PUT", &format!("/v1/content/{path}"), &[], content);
        assert_eq!(r.status, 201, "upload {path}: {:?}", r.json());
    }

    fn link(&self, token: &str, body: Value) -> Value {
        let r = self.json(0, token, "POST", "/v1/links", &body);
        assert_eq!(r.status, 201, "{:?}", r.json());
        r.json()
    }

    fn mv(&self, token: &str, from: &str, to: &str) {
        let r = self.json(1, token, "POST", "/v1/move", &json!({"from": from, "to": to}));
        assert_eq!(r.status, 200, "move {from} {to}: {:?}", r.json());
    }

    /// The links `token`'s user sees, by id: (path now, status, maker).
    fn links(&self, token: &str) -> Vec<(String, Value, String, String)> {
        let r = self.call(1, Some(token), "GET", "/v1/links", &[], b"");
        assert_eq!(r.status, 200, "{:?}", r.json());
        let mut links: Vec<_> = r.json()["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let text = |k: &str| l[k].as_str().unwrap().to_owned();
                (text("id"), l["path"].clone(), text("status"), text("created_by"))
            })
            .collect();
        links.sort_by(|a, b| a.0.cmp(&b.0));
        links
    }
}

fn outcome(r: &Reply) -> (u16, String) {
    (r.status, if r.status >= 400 { r.code() } else { String::new() })
}

async fn start() -> (ProcessCluster, Api, String, String) {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let ada = cluster.add_user("ada", false);
    let bob = cluster.add_user("bob", false);
    let addrs = cluster.nodes.values().map(|n| n.api).collect();
    (cluster, Api { addrs }, ada, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_follow_their_file_stop_with_it_and_are_listed_for_the_owner() {
    let (_cluster, api, ada, bob) = start().await;
    api.upload(&ada, "pub/secret.txt", b"secret");
    api.upload(&ada, "pub/open.txt", b"open");
    api.upload(&ada, "report.txt", b"report");

    // A file link follows its file through a move and a rename; the new file at the old path
    // is not what was published.
    let file = api.link(&ada, json!({"path": "report.txt"}));
    let (file_id, file_content) = (file["id"].as_str().unwrap(), file["content_path"].as_str().unwrap());
    api.mv(&ada, "report.txt", "archive/2026.txt");
    api.upload(&ada, "report.txt", b"a different file");
    let r = api.public(1, file_content, &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"report"[..]));
    let r = api.public(2, &format!("/v1/links/{file_id}"), &[]);
    assert_eq!((r.json()["name"].as_str(), r.json()["kind"].as_str()), (Some("2026.txt"), Some("file")));

    // A folder link: a file trashed inside it is neither listed nor served.
    let folder = api.link(&ada, json!({"path": "pub"}));
    let (folder_id, listing) = (folder["id"].as_str().unwrap(), folder["url_path"].as_str().unwrap());
    let content = folder["content_path"].as_str().unwrap();
    assert_eq!(api.call(0, Some(&ada), "DELETE", "/v1/tree/pub/secret.txt", &[], b"").status, 200);
    let r = api.public(0, listing, &[]);
    assert_eq!(r.status, 200, "{:?}", r.json());
    let names: Vec<_> = r.json()["children"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert_eq!(names, [json!("open.txt")]);
    let r = api.public(1, &format!("{content}?path=secret.txt"), &[]);
    assert_eq!(outcome(&r), (404, "not_found".into()));
    assert!(!String::from_utf8_lossy(&r.body).contains("pub"), "the answer names ada's folder");
    let r = api.public(1, &format!("/v1/links/{folder_id}?path=secret.txt"), &[]);
    assert_eq!(outcome(&r), (404, "not_found".into()));

    // mv /pub /old; mkdir /pub: the link opens /old, never the new /pub.
    api.mv(&ada, "pub", "old");
    api.upload(&ada, "pub/new.txt", b"new");
    let r = api.public(2, listing, &[]);
    assert_eq!((r.status, r.json()["name"].as_str()), (200, Some("old")));
    let names: Vec<_> = r.json()["children"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert_eq!(names, [json!("open.txt")]);
    let r = api.public(0, &format!("{content}?path=open.txt"), &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"open"[..]));

    // An editor's link; the owner lists it with her own, each where it points now.
    let r = api.json(0, &ada, "POST", "/v1/shares", &json!({"path": "old", "user": "bob", "role": "editor"}));
    assert_eq!(r.status, 201, "{:?}", r.json());
    let ns = r.json()["ns"].as_u64().unwrap();
    let bobs = api.link(&bob, json!({"path": "old/open.txt", "ns": ns}));
    let (bobs_id, bobs_content) = (bobs["id"].as_str().unwrap(), bobs["content_path"].as_str().unwrap());
    assert_eq!(api.public(1, bobs_content, &[]).body, b"open");
    let mut expected = vec![
        (file_id.to_owned(), json!("archive/2026.txt"), "live".to_owned(), "ada".to_owned()),
        (folder_id.to_owned(), json!("old"), "live".into(), "ada".into()),
        (bobs_id.to_owned(), json!("old/open.txt"), "live".into(), "bob".into()),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(api.links(&ada), expected);
    // Bob sees the one he made, not Ada's.
    assert_eq!(api.links(&bob), [(bobs_id.to_owned(), json!("old/open.txt"), "live".into(), "bob".into())]);

    // Demoted to viewer, Bob's link stops; the owner sees why, and may revoke it.
    let r = api.json(0, &ada, "POST", "/v1/shares", &json!({"path": "old", "user": "bob", "role": "viewer"}));
    assert!(r.status < 300, "{:?}", r.json());
    assert_eq!(outcome(&api.public(2, bobs_content, &[])), (404, "not_found".into()));
    assert!(api.links(&ada).iter().any(|(id, _, status, _)| id == bobs_id && status == "no_rights"));
    let r = api.call(0, Some(&ada), "DELETE", &format!("/v1/links/{bobs_id}"), &[], b"");
    assert_eq!(r.status, 204);
    assert!(api.links(&bob).is_empty());

    // Trashed, the file link stops (404), and the listing says why.
    assert_eq!(api.call(0, Some(&ada), "DELETE", "/v1/tree/archive/2026.txt", &[], b"").status, 200);
    assert_eq!(outcome(&api.public(1, file_content, &[])), (404, "not_found".into()));
    assert_eq!(outcome(&api.public(1, &format!("/v1/links/{file_id}"), &[])), (404, "not_found".into()));
    assert!(api.links(&ada).iter().any(|(id, _, status, _)| id == file_id && status == "trashed"));
    // A trashed folder takes its link with it.
    assert_eq!(api.call(0, Some(&ada), "DELETE", "/v1/tree/old", &[], b"").status, 200);
    assert_eq!(outcome(&api.public(2, listing, &[])), (404, "not_found".into()));
    assert!(!api.links(&ada).iter().any(|(id, ..)| id == folder_id));
}

/// This node's count of link passwords checked with argon2.
fn password_checks(api: &Api, n: usize) -> u64 {
    let page = String::from_utf8(api.call(n, None, "GET", "/metrics", &[], b"").body).unwrap();
    page.lines()
        .find_map(|l| l.strip_prefix("cairn_link_password_checks_total "))
        .expect("no password counter on /metrics")
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_passwords_are_rate_limited_and_never_taken_from_the_url() {
    let (_cluster, api, ada, _bob) = start().await;
    api.upload(&ada, "docs/a.txt", b"inside");
    let link = api.link(&ada, json!({"path": "docs", "password": "correct horse battery"}));
    let listing = link["url_path"].as_str().unwrap();

    // In the URL: refused before anything is checked, saying where the password goes.
    let before = password_checks(&api, 0);
    let r = api.public(0, &format!("{listing}?password=correct%20horse%20battery"), &[]);
    assert_eq!(outcome(&r), (400, "bad_request".into()));
    assert!(r.json()["message"].as_str().unwrap().contains("X-Link-Password"), "{:?}", r.json());
    let r = api.public(0, &format!("{}?path=a.txt&password=x", link["content_path"].as_str().unwrap()), &[]);
    assert_eq!(outcome(&r), (400, "bad_request".into()));
    assert_eq!(password_checks(&api, 0), before);

    // The right password in the header works.
    let right = [("X-Link-Password", "correct horse battery")];
    assert_eq!(api.public(0, listing, &right).status, 200);
    let before = password_checks(&api, 0);

    // 20 wrong guesses in a row: a few are checked (401), the rest refused unchecked (429).
    let mut statuses = Vec::new();
    for i in 0..20 {
        let guess = format!("guess {i}");
        let r = api.public(0, listing, &[("X-Link-Password", guess.as_str())]);
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            let wait: u64 = r.header("retry-after").expect("429 without Retry-After").parse().unwrap();
            assert!((1..=3_600).contains(&wait), "Retry-After {wait}");
        } else {
            assert_eq!(outcome(&r), (401, "password_required".into()));
        }
        statuses.push(r.status);
    }
    let checked = password_checks(&api, 0) - before;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    println!("20 wrong passwords: {checked} argon2 checks, {limited} answered 429; {statuses:?}");
    assert!(checked <= 5, "{checked} argon2 runs for 20 wrong passwords");
    assert_eq!(limited as u64 + checked, 20);
    // The holder of the right password is not locked out: it was checked once and remembered.
    assert_eq!(api.public(0, listing, &right).status, 200);
}
