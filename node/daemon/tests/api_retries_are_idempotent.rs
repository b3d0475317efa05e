//! `Idempotency-Key` makes a retried write safe, on a real 3-node cluster: the same request
//! sent again with the same key — to the same node or another — gets the first answer back and
//! writes nothing more (one version in the history, one user), while a different key, or none,
//! is a new write and meets the conflict it should. Two users' equal keys never collide, a key
//! reused on another path is a new write, malformed keys are refused, and the calls whose
//! answers cannot be replayed (a new token) make a fresh, working answer instead of a false one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_test_cluster::http::{self, Reply};
use cairn_test_cluster::{ProcessCluster, Settings};

struct Api {
    addrs: Vec<std::net::SocketAddr>,
}

impl Api {
    /// Calls node `n % nodes` as `token`, with `key` as the Idempotency-Key when given.
    fn call(&self, n: usize, token: &str, key: Option<&str>, method: &str, path: &str, body: &[u8]) -> Reply {
        self.call_with(n, token, key, &[], method, path, body)
    }

    #[allow(clippy::too_many_arguments)]
    fn call_with(
        &self,
        n: usize,
        token: &str,
        key: Option<&str>,
        extra: &[(&str, &str)],
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Reply {
        let mut headers: Vec<(&str, &str)> = key.map(|key| ("Idempotency-Key", key)).into_iter().collect();
        headers.extend_from_slice(extra);
        http::call(&self.addrs, n, Some(token), method, path, &headers, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_key_replays_the_first_answer() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let admin = cluster.add_user("root", true);
    let api = Api { addrs: cluster.nodes.values().map(|n| n.api).collect() };
    let token = |user: &str| {
        let r = api.call(0, &admin, None, "POST", &format!("/v1/users/{user}/tokens"), br#"{"label":"t"}"#);
        assert_eq!(r.status, 201, "{:?}", r.json());
        r.json()["token"].as_str().unwrap().to_owned()
    };

    // Creating a user (two commands: create, make administrator) twice with one key: one user.
    let body = br#"{"name":"ada","admin":true}"#;
    let first = api.call(0, &admin, Some("create-ada"), "POST", "/v1/users", body);
    assert_eq!(first.status, 201, "{:?}", first.json());
    let again = api.call(1, &admin, Some("create-ada"), "POST", "/v1/users", body);
    assert_eq!((again.status, again.json()), (201, first.json()));
    let fresh = api.call(0, &admin, Some("create-ada-2"), "POST", "/v1/users", body);
    assert_eq!((fresh.status, fresh.code().as_str()), (409, "exists"));
    api.call(1, &admin, None, "POST", "/v1/users", br#"{"name":"bob"}"#);
    let (ada, bob) = (token("ada"), token("bob"));

    // An upload that creates, sent twice with one key to both nodes: one version.
    let create = [("If-None-Match", "*")];
    let first = api.call_with(0, &ada, Some("k-1"), &create, "PUT", "/v1/content/notes.txt", b"first");
    assert_eq!((first.status, first.json()["version"].as_u64()), (201, Some(1)), "{:?}", first.json());
    let again = api.call_with(1, &ada, Some("k-1"), &create, "PUT", "/v1/content/notes.txt", b"first");
    assert_eq!((again.status, again.json()), (201, first.json()));
    let history = api.call(0, &ada, None, "GET", "/v1/history/notes.txt", b"");
    assert_eq!(history.json()["versions"].as_array().unwrap().len(), 1, "{:?}", history.json());
    // Another key is another write, and it loses to the first.
    let other = api.call_with(1, &ada, Some("k-2"), &create, "PUT", "/v1/content/notes.txt", b"second");
    assert_eq!((other.status, other.code().as_str()), (409, "conflict"));
    let none = api.call_with(0, &ada, None, &create, "PUT", "/v1/content/notes.txt", b"second");
    assert_eq!((none.status, none.code().as_str()), (409, "conflict"));
    let content = api.call(1, &ada, None, "GET", "/v1/content/notes.txt", b"");
    assert_eq!(content.body, b"first");

    // The same key from another user is that user's own write.
    let bobs = api.call_with(0, &bob, Some("k-1"), &create, "PUT", "/v1/content/notes.txt", b"bob's");
    assert_eq!((bobs.status, bobs.json()["version"].as_u64()), (201, Some(1)), "{:?}", bobs.json());
    assert_ne!(bobs.json()["file"], first.json()["file"]);
    // The same key on another path is a new write too.
    let elsewhere = api.call_with(1, &ada, Some("k-1"), &create, "PUT", "/v1/content/other.txt", b"x");
    assert_eq!(elsewhere.status, 201, "{:?}", elsewhere.json());
    assert_ne!(elsewhere.json()["file"], first.json()["file"]);

    // Malformed keys.
    let too_long = "k".repeat(129);
    for bad in ["", "two words", too_long.as_str(), "caf\u{e9}"] {
        let r = api.call(0, &ada, Some(bad), "POST", "/v1/folders/docs", b"");
        assert_eq!((r.status, r.code().as_str()), (400, "bad_request"), "{bad:?}");
        assert!(r.json()["message"].as_str().unwrap().contains("Idempotency-Key"), "{:?}", r.json());
    }

    // A new token cannot be replayed (only its hash is stored): the key is ignored, and each
    // answer is a token that works.
    let path = "/v1/users/ada/tokens";
    let one = api.call(0, &admin, Some("token-1"), "POST", path, br#"{"label":"a"}"#);
    let two = api.call(1, &admin, Some("token-1"), "POST", path, br#"{"label":"a"}"#);
    assert_eq!((one.status, two.status), (201, 201));
    assert_ne!(one.json()["token"], two.json()["token"]);
    for reply in [one, two] {
        let me = api.call(0, reply.json()["token"].as_str().unwrap(), None, "GET", "/v1/me", b"");
        assert_eq!((me.status, me.json()["name"].as_str()), (200, Some("ada")));
    }
}
