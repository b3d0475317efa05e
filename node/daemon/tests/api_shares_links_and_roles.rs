//! Sharing over the HTTP API of a real 3-node cluster: the role matrix (what an owner, an
//! editor, a viewer and a stranger may each do to a shared folder, with the status and code of
//! every refusal), "shared with me" and "shared by me" with paging, revoking and leaving a share,
//! the bad inputs of sharing; and public links: read without a token, password required, wrong
//! and right, expiry (410), revocation (404), and a link that dies with its creator's access.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_proto::sample_data::random;
use cairn_test_cluster::http::{self, Reply};
use cairn_test_cluster::{ProcessCluster, Settings};
use serde_json::{Value, json};

struct Api {
    addrs: Vec<std::net::SocketAddr>,
    admin: String,
}

impl Api {
    async fn start() -> (ProcessCluster, Self) {
        let cluster = ProcessCluster::start(3, Settings::default()).await;
        let admin = cluster.add_user("root", true);
        let addrs = cluster.nodes.values().map(|n| n.api).collect();
        (cluster, Self { addrs, admin })
    }

    /// Calls node `n % 3` (spreading the calls over every node) as `token`; `None`: no token.
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

    /// Calls as `token` with a JSON body.
    fn json(&self, n: usize, token: &str, method: &str, path: &str, body: &Value) -> Reply {
        self.call(n, Some(token), method, path, &[], body.to_string().as_bytes())
    }

    /// A GET without a token, as a link holder sends it.
    fn public(&self, n: usize, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.call(n, None, "GET", path, headers, b"")
    }

    /// Creates user `name` and returns a token of theirs.
    fn user(&self, name: &str) -> String {
        let r = self.json(0, &self.admin, "POST", "/v1/users", &json!({ "name": name }));
        assert_eq!(r.status, 201, "{:?}", r.json());
        let r =
            self.json(1, &self.admin, "POST", &format!("/v1/users/{name}/tokens"), &json!({"label": "test"}));
        assert_eq!(r.status, 201, "{:?}", r.json());
        r.json()["token"].as_str().unwrap().to_owned()
    }

    fn upload(&self, token: &str, path: &str, content: &[u8]) {
        let r = self.call(2, Some(token), "PUT", &format!("/v1/content/{path}"), &[], content);
        assert_eq!(r.status, 201, "upload {path}: {:?}", r.json());
    }
}

/// `(status, code)` of a reply; the code is empty for a success.
fn outcome(r: &Reply) -> (u16, String) {
    let code = if r.status >= 400 { r.code() } else { String::new() };
    (r.status, code)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_what_each_user_may_do_and_shares_are_listed_and_revoked() {
    let (_cluster, api) = Api::start().await;
    let ada = api.user("ada");
    let ada_drive = api.call(0, Some(&ada), "GET", "/v1/me", &[], b"").json()["drive"].as_u64().unwrap();
    let (bob, carol, dave) = (api.user("bob"), api.user("carol"), api.user("dave"));
    api.user("erin");

    let plan = random(300_000, 1);
    api.upload(&ada, "team/plan.txt", &plan);
    api.upload(&ada, "private/diary.txt", b"dear diary");
    for actor in ["owner", "editor", "viewer", "stranger"] {
        api.upload(&ada, &format!("team/victim-{actor}.txt"), b"to be deleted");
    }
    for (user, role) in [("bob", "editor"), ("carol", "viewer")] {
        let r = api.json(1, &ada, "POST", "/v1/shares", &json!({"path": "team", "user": user, "role": role}));
        assert_eq!(r.status, 201, "{:?}", r.json());
        assert_eq!(
            (r.json()["owner"].as_str(), r.json()["user"].as_str(), r.json()["ns"].as_u64()),
            (Some("ada"), Some(user), Some(ada_drive))
        );
    }

    // The role matrix. Every call names ada's drive with `?ns=` (or `ns`), the way a recipient
    // reaches a share; the owner may name her own drive too.
    let actors = [("owner", &ada), ("editor", &bob), ("viewer", &carol), ("stranger", &dave)];
    // An operation: (node, actor, token) → the reply; and its outcome for each actor.
    type Call<'a> = Box<dyn Fn(usize, &str, &str) -> Reply + 'a>;
    type Expected = [(u16, String); 4];
    let operations: Vec<(&str, Call, Expected)> = vec![
        (
            "list",
            Box::new(|n, _, t| {
                api.call(n, Some(t), "GET", &format!("/v1/tree/team?ns={ada_drive}"), &[], b"")
            }),
            [ok(200), ok(200), ok(200), no(404, "not_found")],
        ),
        (
            "stat",
            Box::new(|n, _, t| {
                api.call(n, Some(t), "GET", &format!("/v1/tree/team/plan.txt?ns={ada_drive}"), &[], b"")
            }),
            [ok(200), ok(200), ok(200), no(404, "not_found")],
        ),
        (
            "download",
            Box::new(|n, _, t| {
                let r = api.call(
                    n,
                    Some(t),
                    "GET",
                    &format!("/v1/content/team/plan.txt?ns={ada_drive}"),
                    &[],
                    b"",
                );
                assert!(r.status != 200 || r.body == plan, "downloaded bytes differ");
                r
            }),
            [ok(200), ok(200), ok(200), no(404, "not_found")],
        ),
        (
            "upload",
            Box::new(|n, a, t| {
                api.call(
                    n,
                    Some(t),
                    "PUT",
                    &format!("/v1/content/team/by-{a}.txt?ns={ada_drive}"),
                    &[],
                    b"new",
                )
            }),
            [ok(201), ok(201), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "make folder",
            Box::new(|n, a, t| {
                api.call(n, Some(t), "POST", &format!("/v1/folders/team/dir-{a}?ns={ada_drive}"), &[], b"")
            }),
            [ok(201), ok(201), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "delete",
            Box::new(|n, a, t| {
                api.call(
                    n,
                    Some(t),
                    "DELETE",
                    &format!("/v1/tree/team/victim-{a}.txt?ns={ada_drive}"),
                    &[],
                    b"",
                )
            }),
            [ok(200), ok(200), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "share",
            Box::new(|n, _, t| {
                let body =
                    json!({"path": "team/plan.txt", "user": "erin", "role": "viewer", "ns": ada_drive});
                api.json(n, t, "POST", "/v1/shares", &body)
            }),
            [ok(201), no(403, "forbidden"), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "publish a link",
            Box::new(|n, _, t| {
                api.json(n, t, "POST", "/v1/links", &json!({"path": "team/plan.txt", "ns": ada_drive}))
            }),
            [ok(201), ok(201), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "history",
            Box::new(|n, _, t| {
                api.call(n, Some(t), "GET", &format!("/v1/history/team/plan.txt?ns={ada_drive}"), &[], b"")
            }),
            [ok(200), ok(200), ok(200), no(404, "not_found")],
        ),
        (
            "manifest",
            Box::new(|n, _, t| {
                api.call(n, Some(t), "GET", &format!("/v1/manifest/team/plan.txt?ns={ada_drive}"), &[], b"")
            }),
            [ok(200), ok(200), ok(200), no(404, "not_found")],
        ),
        (
            "ask for missing blocks",
            Box::new(|n, a, t| {
                let body = json!({"ids": [], "ns": ada_drive, "path": format!("team/blocks-{a}")});
                api.json(n, t, "POST", "/v1/blocks/missing", &body)
            }),
            [ok(200), ok(200), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "open an upload session",
            Box::new(|n, a, t| {
                use base64::Engine;
                let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
                let metadata =
                    format!("path {},ns {}", b64(&format!("team/tus-{a}")), b64(&ada_drive.to_string()));
                let headers =
                    [("Tus-Resumable", "1.0.0"), ("Upload-Length", "3"), ("Upload-Metadata", &metadata)];
                api.call(n, Some(t), "POST", "/v1/uploads", &headers, b"")
            }),
            [ok(201), ok(201), no(403, "forbidden"), no(404, "not_found")],
        ),
        (
            "list outside the share",
            Box::new(|n, _, t| {
                api.call(n, Some(t), "GET", &format!("/v1/tree/private?ns={ada_drive}"), &[], b"")
            }),
            [ok(200), no(404, "not_found"), no(404, "not_found"), no(404, "not_found")],
        ),
    ];
    let mut wrong = Vec::new();
    for (op, call, expected) in &operations {
        for (i, (actor, token)) in actors.iter().enumerate() {
            let r = call(i, actor, token);
            let got = outcome(&r);
            if got != expected[i] {
                wrong.push(format!(
                    "{op} as {actor}: expected {:?}, got {got:?} {}",
                    expected[i],
                    String::from_utf8_lossy(&r.body)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "the role matrix differs:\n{}", wrong.join("\n"));

    // "Shared with me", and what ada has shared, in pages.
    let r = api.call(0, Some(&carol), "GET", "/v1/shares/received", &[], b"");
    assert_eq!(r.status, 200);
    let shares = r.json()["shares"].clone();
    assert_eq!(shares.as_array().unwrap().len(), 1, "{shares}");
    assert_eq!(
        (&shares[0]["ns"], &shares[0]["path"], &shares[0]["role"], &shares[0]["owner"], &shares[0]["user"]),
        (&json!(ada_drive), &json!("team"), &json!("viewer"), &json!("ada"), &json!("carol"))
    );
    assert!(shares[0]["created_ms"].as_u64().unwrap() > 0);
    let r = api.call(1, Some(&ada), "GET", "/v1/shares/received", &[], b"");
    assert_eq!(r.json()["shares"], json!([]));
    let r = api.call(2, Some(&ada), "GET", "/v1/shares/given?limit=2", &[], b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let first: Vec<_> = r.json()["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].clone(), s["user"].clone()))
        .collect();
    assert_eq!(first, [(json!("team"), json!("bob")), (json!("team"), json!("carol"))]);
    let next = r.json()["next"].as_str().unwrap().to_owned();
    let r = api.call(0, Some(&ada), "GET", &format!("/v1/shares/given?limit=2&after={next}"), &[], b"");
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["shares"][0]["path"], "team/plan.txt");
    assert_eq!(r.json()["shares"][0]["user"], "erin");
    assert_eq!(r.json()["next"], Value::Null);
    let r = api.call(0, Some(&ada), "GET", "/v1/shares/given?after=nonsense", &[], b"");
    assert_eq!(outcome(&r), no(400, "bad_request"));
    let r = api.call(0, Some(&ada), "GET", "/v1/shares/given?colour=blue", &[], b"");
    assert_eq!(outcome(&r), no(400, "bad_request"));
    let r = api.call(0, None, "GET", "/v1/shares/received", &[], b"");
    assert_eq!(outcome(&r), no(401, "unauthenticated"));

    // Bad input to sharing, each with its own status and code.
    let share = |token: &str, body: Value| outcome(&api.json(1, token, "POST", "/v1/shares", &body));
    assert_eq!(
        share(&ada, json!({"path": "team", "user": "nobody", "role": "viewer"})),
        no(404, "not_found")
    );
    assert_eq!(share(&ada, json!({"path": "team", "user": "bob", "role": "owner"})), no(400, "bad_request"));
    assert_eq!(share(&ada, json!({"path": "team", "user": "bob"})), no(400, "bad_request"));
    assert_eq!(
        share(&ada, json!({"path": "team/../private", "user": "bob", "role": "viewer"})),
        no(400, "bad_path")
    );
    assert_eq!(
        share(&ada, json!({"path": "nowhere", "user": "bob", "role": "viewer"})),
        no(404, "not_found")
    );
    assert_eq!(share(&ada, json!({"path": "team", "user": "ada", "role": "editor"})), no(400, "bad_request"));
    assert_eq!(
        share(&ada, json!({"path": "team", "user": "bob", "role": "viewer", "x": 1})),
        no(400, "bad_request")
    );
    let r = api.call(2, Some(&ada), "POST", "/v1/shares", &[("Content-Type", "application/json")], b"{nope");
    assert_eq!(outcome(&r), no(400, "bad_request"));

    // Revoking: a stranger sees nothing to revoke, a fellow recipient may not, nor may anyone
    // end a share that does not exist.
    let revoke = |token: &str, body: Value| outcome(&api.json(2, token, "DELETE", "/v1/shares", &body));
    let bobs = json!({"path": "team", "user": "bob", "ns": ada_drive});
    assert_eq!(revoke(&dave, bobs.clone()), no(404, "not_found"));
    assert_eq!(revoke(&carol, bobs.clone()), no(403, "forbidden"));
    assert_eq!(revoke(&ada, json!({"path": "team", "user": "dave"})), no(404, "not_found"));
    assert_eq!(revoke(&ada, json!({"path": "team", "user": "nobody"})), no(404, "not_found"));

    // The owner revokes carol's share: her access ends at once, and so does the listing.
    assert_eq!(revoke(&ada, json!({"path": "team", "user": "carol"})), ok(204));
    let r = api.call(0, Some(&carol), "GET", &format!("/v1/tree/team?ns={ada_drive}"), &[], b"");
    assert_eq!(outcome(&r), no(404, "not_found"));
    assert_eq!(api.call(1, Some(&carol), "GET", "/v1/shares/received", &[], b"").json()["shares"], json!([]));

    // Sharing again with another role changes it: carol comes back as an editor.
    assert_eq!(share(&ada, json!({"path": "team", "user": "carol", "role": "editor"})).0, 201);
    let r =
        api.call(2, Some(&carol), "PUT", &format!("/v1/content/team/carol.txt?ns={ada_drive}"), &[], b"hi");
    assert_eq!(r.status, 201, "{:?}", r.json());
    assert_eq!(
        api.call(0, Some(&carol), "GET", "/v1/shares/received", &[], b"").json()["shares"][0]["role"],
        "editor"
    );

    // A recipient may leave a share.
    assert_eq!(revoke(&bob, bobs.clone()), ok(204));
    let r = api.call(1, Some(&bob), "GET", &format!("/v1/content/team/plan.txt?ns={ada_drive}"), &[], b"");
    assert_eq!(outcome(&r), no(404, "not_found"));
    assert_eq!(revoke(&bob, bobs), no(404, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_open_files_to_anyone_holding_them_until_they_expire_or_are_revoked() {
    let (_cluster, api) = Api::start().await;
    let ada = api.user("ada");
    let (bob, dave) = (api.user("bob"), api.user("dave"));
    let report = random(2 << 20, 2);
    api.upload(&ada, "docs/report.bin", &report);
    api.upload(&ada, "docs/sub/b.txt", b"inside");
    api.upload(&ada, "private.txt", b"not for links");
    let link = |token: &str, body: Value| {
        let r = api.json(0, token, "POST", "/v1/links", &body);
        assert_eq!(r.status, 201, "{:?}", r.json());
        r.json()
    };

    // A file link: no token, no password; ranges and stat work through it.
    let file = link(&ada, json!({"path": "docs/report.bin"}));
    let id = file["id"].as_str().unwrap().to_owned();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(
        (file["url_path"].as_str(), file["password"].as_bool()),
        (Some(format!("/v1/links/{id}").as_str()), Some(false))
    );
    let content = file["content_path"].as_str().unwrap().to_owned();
    let r = api.public(1, &content, &[]);
    assert_eq!(r.status, 200);
    assert!(r.body == report, "bytes through the link differ");
    let r = api.public(2, &content, &[("Range", "bytes=10-19")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &report[10..20]));
    let r = api.public(0, &format!("/v1/links/{id}"), &[]);
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        (&r.json()["name"], &r.json()["kind"], &r.json()["path"]),
        (&json!("report.bin"), &json!("file"), &json!(""))
    );
    assert_eq!(r.json()["file"]["size"], report.len());

    // A folder link with a password: required, wrong, right (in the header only: a password in
    // the URL is refused, since logs keep URLs).
    let folder = link(&ada, json!({"path": "docs", "password": "s3cret"}));
    assert_eq!(folder["password"], true);
    let (listing, content) = (folder["url_path"].as_str().unwrap(), folder["content_path"].as_str().unwrap());
    assert_eq!(outcome(&api.public(0, listing, &[])), no(401, "password_required"));
    assert_eq!(
        outcome(&api.public(1, listing, &[("X-Link-Password", "guess")])),
        no(401, "password_required")
    );
    assert_eq!(outcome(&api.public(1, &format!("{listing}?password=guess"), &[])), no(400, "bad_request"));
    assert_eq!(
        outcome(&api.public(2, &format!("{content}?path=report.bin"), &[])),
        no(401, "password_required")
    );
    let r = api.public(2, listing, &[("X-Link-Password", "s3cret")]);
    assert_eq!(r.status, 200, "{:?}", r.json());
    let names: Vec<_> = r.json()["children"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert_eq!(names, [json!("report.bin"), json!("sub")]);
    let r = api.public(0, &format!("{listing}?path=sub"), &[("X-Link-Password", "s3cret")]);
    assert_eq!(
        (r.json()["path"].as_str(), r.json()["children"][0]["name"].as_str()),
        (Some("sub"), Some("b.txt"))
    );
    let r = api.public(1, &format!("{content}?path=sub/b.txt"), &[("X-Link-Password", "s3cret")]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"inside"[..]));
    // Nothing outside the linked folder, and clear answers for what is not a file.
    let secret = [("X-Link-Password", "s3cret")];
    assert_eq!(
        outcome(&api.public(2, &format!("{content}?path=../private.txt"), &secret)),
        no(400, "bad_path")
    );
    assert_eq!(outcome(&api.public(2, &format!("{content}?path=sub"), &secret)), no(409, "wrong_kind"));
    let r = api.public(0, &format!("{content}?path=missing.txt"), &secret);
    assert_eq!(outcome(&r), no(404, "not_found"));
    assert!(
        !r.json()["message"].as_str().unwrap().contains("docs"),
        "the message names ada's folders: {:?}",
        r.json()
    );
    assert_eq!(outcome(&api.public(0, &format!("{content}?colour=blue"), &secret)), no(400, "bad_request"));

    // Ids: malformed, and well formed but unknown.
    assert_eq!(outcome(&api.public(1, "/v1/links/xyz", &[])), no(400, "bad_request"));
    assert_eq!(
        outcome(&api.public(1, &format!("/v1/links/{}/content", "0".repeat(32)), &[])),
        no(404, "not_found")
    );

    // Bad requests for links.
    let refused = |token: &str, body: Value| outcome(&api.json(1, token, "POST", "/v1/links", &body));
    assert_eq!(refused(&ada, json!({"path": "docs", "password": ""})), no(400, "bad_request"));
    assert_eq!(refused(&ada, json!({"path": "docs", "expires_ms": 1})), no(400, "invalid"));
    assert_eq!(refused(&ada, json!({"path": "nowhere"})), no(404, "not_found"));
    assert_eq!(refused(&ada, json!({"path": "docs/../private.txt"})), no(400, "bad_path"));
    assert_eq!(refused(&ada, json!({"path": "docs", "colour": "blue"})), no(400, "bad_request"));
    assert_eq!(
        outcome(&api.call(1, None, "POST", "/v1/links", &[], br#"{"path":"docs"}"#)),
        no(401, "unauthenticated")
    );

    // Revocation: not by a stranger; by the owner, after which the link is gone.
    let delete = |token: &str, id: &str| {
        outcome(&api.call(2, Some(token), "DELETE", &format!("/v1/links/{id}"), &[], b""))
    };
    assert_eq!(delete(&dave, &id), no(403, "forbidden"));
    assert_eq!(delete(&ada, &id), ok(204));
    assert_eq!(outcome(&api.public(0, &format!("/v1/links/{id}/content"), &[])), no(404, "not_found"));
    assert_eq!(outcome(&api.public(1, &format!("/v1/links/{id}"), &[])), no(404, "not_found"));
    assert_eq!(delete(&ada, &id), no(404, "not_found"));
    assert_eq!(delete(&ada, "not-an-id"), no(400, "bad_request"));

    // A link an editor published reads with the editor's rights: it stops when the share does.
    let r =
        api.json(2, &ada, "POST", "/v1/shares", &json!({"path": "docs", "user": "bob", "role": "editor"}));
    assert_eq!(r.status, 201, "{:?}", r.json());
    let ada_drive = r.json()["ns"].as_u64().unwrap();
    let bobs = link(&bob, json!({"path": "docs/sub/b.txt", "ns": ada_drive}));
    let bobs_content = bobs["content_path"].as_str().unwrap();
    assert_eq!(api.public(0, bobs_content, &[]).body, b"inside");
    let r = api.json(1, &ada, "DELETE", "/v1/shares", &json!({"path": "docs", "user": "bob"}));
    assert_eq!(r.status, 204);
    assert_eq!(outcome(&api.public(2, bobs_content, &[])), no(404, "not_found"));

    // Expiry: a link made to last two seconds works, then answers 410 once its time is up.
    let expires_ms = now_ms() + 2_000;
    let brief = link(&ada, json!({"path": "docs/sub/b.txt", "expires_ms": expires_ms}));
    assert_eq!(brief["expires_ms"], expires_ms);
    let brief_content = brief["content_path"].as_str().unwrap();
    let r = api.public(1, brief_content, &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"inside"[..]));
    let give_up = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = api.public(2, brief_content, &[]);
        if r.status != 200 || Instant::now() > give_up {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(outcome(&r), no(410, "expired"));
    assert!(now_ms() >= expires_ms, "the link stopped working before its expiry");
}

fn ok(status: u16) -> (u16, String) {
    (status, String::new())
}

fn no(status: u16, code: &str) -> (u16, String) {
    (status, code.to_owned())
}
