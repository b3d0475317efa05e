//! Accounts on a real 3-node cluster, as an attacker holding a stolen token and as an
//! administrator taking it back: password sign-in with sessions that end when unused, API
//! tokens that can be listed, expired and revoked (and cannot mint more), users that can be
//! disabled (their public links stop too) — each refused at once on every node, with the
//! victim's open event stream and long poll ended within seconds. Guessing a password gets 429s, not argon2 runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cairn_test_cluster::http::{self, Reply, request};
use cairn_test_cluster::{PATIENCE, ProcessCluster, Settings};
use futures_util::StreamExt;

/// How long a session may go unused in this test's cluster.
const IDLE_S: u64 = 6;

/// How soon a refusal must reach an open stream (the issue's bound).
const CUT_WITHIN: Duration = Duration::from_secs(5);

struct Api {
    addrs: Vec<SocketAddr>,
}

impl Api {
    fn call(&self, n: usize, token: &str, method: &str, path: &str, body: &str) -> Reply {
        http::call(&self.addrs, n, Some(token), method, path, &[], body.as_bytes())
    }

    fn sign_in(&self, n: usize, user: &str, password: &str) -> Reply {
        let body = serde_json::json!({ "user": user, "password": password }).to_string();
        let headers = [("Content-Type", "application/json")];
        request(self.addrs[n % self.addrs.len()], "POST", "/v1/sessions", &headers, body.as_bytes())
    }

    /// `/v1/me` as `token` on every node: the statuses.
    fn me_everywhere(&self, token: &str) -> Vec<u16> {
        (0..self.addrs.len()).map(|n| self.call(n, token, "GET", "/v1/me", "").status).collect()
    }

    fn new_token(&self, n: usize, as_token: &str, body: &str) -> (String, String) {
        let r = self.call(n, as_token, "POST", "/v1/tokens", body);
        assert_eq!(r.status, 201, "{:?}", r.json());
        (r.json()["token"].as_str().unwrap().to_owned(), r.json()["id"].as_str().unwrap().to_owned())
    }

    fn metric(&self, n: usize, name: &str) -> u64 {
        let page = request(self.addrs[n], "GET", "/metrics", &[], b"");
        let text = String::from_utf8(page.body).unwrap();
        let line =
            text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }
}

/// Waits until `f` holds, or panics after [`PATIENCE`].
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let give_up = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < give_up, "{what}: not after {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An open event stream and an open long poll of `token`, on nodes `stream_at` and `poll_at`:
/// each reports, when it ends, how it ended.
struct Open {
    stream: tokio::task::JoinHandle<(Instant, String)>,
    poll: tokio::task::JoinHandle<(Instant, u16)>,
}

impl Open {
    async fn start(api: &Api, token: &str, stream_at: usize, poll_at: usize) -> Self {
        // reqwest is built without a default TLS provider; plain HTTP still asks for one.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let url = format!("http://{}/v1/changes/stream", api.addrs[stream_at]);
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let stream = tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut seen = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
            (Instant::now(), seen)
        });
        // From the newest change, so the poll has nothing to answer and waits.
        let latest =
            api.call(poll_at, token, "GET", "/v1/changes/latest", "").json()["cursor"].as_u64().unwrap();
        let url = format!("http://{}/v1/changes?cursor={latest}&timeout_ms=60000", api.addrs[poll_at]);
        let request = client.get(url).bearer_auth(token);
        let poll = tokio::spawn(async move {
            let status = request.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            (Instant::now(), status)
        });
        // Both have reached their wait once the node counts them.
        let give_up = Instant::now() + PATIENCE;
        while api.metric(poll_at, "cairn_api_watches_open") + api.metric(stream_at, "cairn_api_watches_open")
            < 2
        {
            assert!(Instant::now() < give_up, "the stream and the poll never started waiting");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { stream, poll }
    }

    /// Waits for both to end after `since`; returns how long each took and how they ended.
    async fn ended(self, since: Instant) -> (Duration, String, Duration, u16) {
        let (stream_end, seen) =
            tokio::time::timeout(PATIENCE, self.stream).await.expect("stream open").unwrap();
        let (poll_end, status) = tokio::time::timeout(PATIENCE, self.poll).await.expect("poll open").unwrap();
        (stream_end - since, seen, poll_end - since, status)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stolen_tokens_and_sessions_can_be_taken_back_on_every_node() {
    let settings = Settings {
        accounts: format!("session_idle_s = {IDLE_S}\nsession_max_s = 3600"),
        ..Default::default()
    };
    let cluster = ProcessCluster::start(3, settings).await;
    let root = cluster.add_user("root", true);
    let api = Api { addrs: cluster.nodes.values().map(|n| n.api).collect() };
    assert_eq!(api.call(0, &root, "POST", "/v1/users", r#"{"name":"ada"}"#).status, 201);

    // No password yet: signing in fails like a wrong password, and like an unknown user.
    let r = api.sign_in(0, "ada", "correct horse battery");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    let nobody = api.sign_in(1, "nobody", "correct horse battery");
    assert_eq!((nobody.status, nobody.json()["message"].clone()), (401, r.json()["message"].clone()));
    cluster.set_password("ada", "correct horse battery");
    let r = api.sign_in(1, "ada", "correct horse batterY");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));

    // A session works on every node, and makes API tokens, which cannot make more.
    let r = api.sign_in(2, "ada", "correct horse battery");
    assert_eq!(r.status, 201, "{:?}", r.json());
    let session = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["user"]["name"], "ada");
    assert_eq!(r.json()["idle_s"], IDLE_S);
    assert_eq!(api.me_everywhere(&session), [200, 200, 200]);
    let (script, script_id) = api.new_token(0, &session, r#"{"label":"script"}"#);
    let r = api.call(1, &script, "POST", "/v1/tokens", r#"{"label":"minted by a thief"}"#);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let listed = api.call(2, &session, "GET", "/v1/tokens", "").json();
    let kinds: Vec<(&str, &str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["label"].as_str().unwrap(), t["kind"].as_str().unwrap(), t["current"].as_bool().unwrap()))
        .collect();
    assert!(kinds.contains(&("script", "api", false)), "{listed}");
    assert_eq!(
        kinds.iter().filter(|(_, kind, current)| *kind == "session" && *current).count(),
        1,
        "{listed}"
    );
    // Bad input is refused with a reason.
    for (body, code) in [
        (r#"{"label":"x","expires_in_s":0}"#, "bad_request"),
        (r#"{"label":"x","colour":1}"#, "bad_request"),
        (r#"{"label":"x","expires_in_s":999999999999}"#, "bad_request"),
    ] {
        let r = api.call(0, &session, "POST", "/v1/tokens", body);
        assert_eq!((r.status, r.code().as_str()), (400, code), "{body}");
    }
    let r = api.call(0, &session, "DELETE", "/v1/tokens/not-hex", "");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    // A token with an expiry stops by itself, everywhere.
    let (short, _) = api.new_token(1, &session, r#"{"label":"short","expires_in_s":2}"#);
    assert_eq!(api.call(0, &short, "GET", "/v1/me", "").status, 200);
    eventually("the short token expires", || api.call(0, &short, "GET", "/v1/me", "").status == 401);
    assert_eq!(api.me_everywhere(&short), [401, 401, 401]);

    // A revoked token is refused at once on every node, and its open stream and long poll end.
    let open = Open::start(&api, &script, 2, 1).await;
    let revoked_at = Instant::now();
    let r = api.call(0, &session, "DELETE", &format!("/v1/tokens/{script_id}"), "");
    assert_eq!(r.status, 204, "{:?}", r.json());
    assert_eq!(api.me_everywhere(&script), [401, 401, 401]);
    let (stream_took, seen, poll_took, poll_status) = open.ended(revoked_at).await;
    assert!(seen.contains("event: error") && seen.contains("unauthenticated"), "{seen}");
    assert_eq!(poll_status, 401);
    assert!(
        stream_took < CUT_WITHIN && poll_took < CUT_WITHIN,
        "ended after {stream_took:?} and {poll_took:?}"
    );
    println!("revoked token: stream ended after {stream_took:?}, long poll after {poll_took:?}");

    // A session in use slides past its idle time; one left alone ends.
    let (idle, _) = {
        let r = api.sign_in(0, "ada", "correct horse battery");
        assert_eq!(r.status, 201);
        (r.json()["token"].as_str().unwrap().to_owned(), ())
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(IDLE_S + 3) {
        assert_eq!(api.call(1, &session, "GET", "/v1/me", "").status, 200, "a session in use ended");
        std::thread::sleep(Duration::from_millis(500));
    }
    eventually("the unused session ends", || api.call(2, &idle, "GET", "/v1/me", "").status == 401);
    assert_eq!(api.me_everywhere(&idle), [401, 401, 401]);

    // Disabling the user refuses all their tokens at once and ends their streams; even the
    // right password then only learns that the user is disabled.
    let (other, _) = api.new_token(2, &session, r#"{"label":"other"}"#);
    assert_eq!(api.call(0, &other, "PUT", "/v1/content/shared.txt", "public words").status, 201);
    let r = api.call(1, &other, "POST", "/v1/links", r#"{"path":"shared.txt"}"#);
    assert_eq!(r.status, 201, "{:?}", r.json());
    let link = format!("/v1/links/{}/content", r.json()["id"].as_str().unwrap());
    let public = |n: usize| request(api.addrs[n], "GET", &link, &[], b"").status;
    assert_eq!(public(2), 200);
    let open = Open::start(&api, &session, 0, 2).await;
    let disabled_at = Instant::now();
    let r = api.call(1, &root, "PATCH", "/v1/users/ada", r#"{"disabled":true}"#);
    assert_eq!((r.status, r.json()["disabled"].as_bool()), (200, Some(true)), "{:?}", r.json());
    for token in [&session, &other] {
        for n in 0..3 {
            let r = api.call(n, token, "GET", "/v1/me", "");
            assert_eq!((r.status, r.code().as_str()), (403, "user_disabled"));
        }
    }
    let (stream_took, seen, poll_took, poll_status) = open.ended(disabled_at).await;
    assert!(seen.contains("user_disabled"), "{seen}");
    assert_eq!(poll_status, 403);
    assert!(
        stream_took < CUT_WITHIN && poll_took < CUT_WITHIN,
        "ended after {stream_took:?} and {poll_took:?}"
    );
    println!("disabled user: stream ended after {stream_took:?}, long poll after {poll_took:?}");
    let r = api.sign_in(2, "ada", "correct horse battery");
    assert_eq!((r.status, r.code().as_str()), (403, "user_disabled"));
    // Her public links stop with her, and come back with her.
    assert_eq!([public(0), public(1), public(2)], [404, 404, 404]);
    let r = api.call(0, &root, "PATCH", "/v1/users/ada", r#"{"disabled":false}"#);
    assert_eq!(r.status, 200);
    assert_eq!(api.me_everywhere(&other), [200, 200, 200]);
    assert_eq!(public(1), 200);

    // A new password ends the sessions made with the old one, not the API tokens.
    let r = api.call(2, &root, "PUT", "/v1/users/ada/password", r#"{"password":"a new passphrase"}"#);
    assert_eq!(r.status, 204, "{:?}", r.json());
    assert_eq!(api.me_everywhere(&session), [401, 401, 401]);
    assert_eq!(api.me_everywhere(&other), [200, 200, 200]);
    assert_eq!(api.sign_in(0, "ada", "a new passphrase").status, 201);
    let r = api.call(2, &root, "PUT", "/v1/users/ada/password", r#"{"password":"short"}"#);
    assert_eq!((r.status, r.code().as_str()), (400, "invalid"));

    // Ada cannot disable anyone; the last administrator cannot disable themself.
    let r = api.call(0, &other, "PATCH", "/v1/users/root", r#"{"disabled":true}"#);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = api.call(0, &root, "PATCH", "/v1/users/root", r#"{"disabled":true}"#);
    assert_eq!((r.status, r.code().as_str()), (409, "last_admin"));
    let r = api.call(0, &root, "PATCH", "/v1/users/root", r#"{"admin":false}"#);
    assert_eq!((r.status, r.code().as_str()), (409, "last_admin"));
    assert_eq!(api.me_everywhere(&root), [200, 200, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_wrong_passwords_get_429s_not_twenty_argon2_runs() {
    let cluster = ProcessCluster::start(1, Settings::default()).await;
    let root = cluster.add_user("root", true);
    let api = Api { addrs: vec![cluster.nodes[&1].api] };
    assert_eq!(api.call(0, &root, "POST", "/v1/users", r#"{"name":"bob"}"#).status, 201);
    cluster.set_password("bob", "the right password");

    let before = api.metric(0, "cairn_password_checks_total");
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let r = api.sign_in(0, "bob", "a wrong guess");
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
            assert!(wait >= 1);
        }
        statuses.push(r.status);
    }
    let runs = api.metric(0, "cairn_password_checks_total") - before;
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    println!("20 wrong passwords: {wrong} checked (401), {refused} refused (429), {runs} argon2 runs");
    assert_eq!(wrong + refused, 20, "{statuses:?}");
    assert!(refused >= 14, "{statuses:?}");
    assert_eq!(runs, wrong as u64);
    // The right password is refused too while the name rests: a guesser gains nothing by luck.
    let r = api.sign_in(0, "bob", "the right password");
    assert_eq!(r.status, 429);
}
