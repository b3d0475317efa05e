//! The `cairn` command line against a real 3-node cluster over HTTPS, as a user drives it:
//! login (a refused token saves nothing, a good one saves a private profile), status, folders,
//! upload and download byte-identical (files, a folder tree, stdout), `--json` answers that
//! parse, move, delete to the trash and back, history with restore and pin, sharing with
//! another user who then lists, downloads and (as an editor) uploads through `--ns`, a public
//! link whose URL serves the file without a token, and the exit codes scripts branch on: 5 for
//! a refused token or a forbidden write, 4 for a conflict, 3 for a missing path, 9 for a bad
//! path, 8 for a missing local file, 2 for a wrong command line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

mod common;

use std::path::Path;

use cairn_client::nodes::{Call, Nodes};
use cairn_client::{ClientConfig, ClientError};
use cairn_proto::sample_data::{random, text};
use cairn_test_cluster::{ProcessCluster, Settings};
use common::cli::{Cairn, ca_file, node_url};
use serde_json::{Value, json};

/// The exit codes of `cairn --help`.
const NOT_FOUND: i32 = 3;
const CONFLICT: i32 = 4;
const PERMISSION: i32 = 5;
const BAD_INPUT: i32 = 9;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_drives_the_cluster() {
    let cluster = ProcessCluster::start(3, Settings { api_tls: true, ..Settings::default() }).await;
    let home = tempfile::tempdir().unwrap();
    let ada_token = cluster.add_user("ada", false);
    let bob_token = cluster.add_user("bob", false);
    let ada = Cairn::new(&home.path().join("ada"));
    let bob = Cairn::new(&home.path().join("bob"));
    let urls: Vec<String> = cluster.nodes.keys().map(|id| node_url(&cluster, *id)).collect();
    let ca = ca_file(&cluster);

    login(&ada, &urls, &ca, &ada_token);
    login(&bob, &urls, &ca, &bob_token);
    status(&ada);
    files_round_trip(&ada);
    folder_round_trip(&ada);
    move_trash_and_back(&ada);
    versions(&ada);
    conflicts_and_refusals(&ada);
    sharing(&ada, &bob);
    public_link(&ada, &urls, &ca).await;
}

/// A refused token exits 5 and writes no profile; a good one saves a private profile.
fn login(user: &Cairn, urls: &[String], ca: &Path, token: &str) {
    let mut args = vec!["login"];
    for url in urls {
        args.extend(["--node", url.as_str()]);
    }
    args.extend(["--ca", ca.to_str().unwrap()]);

    let with_token = [&args[..], &["--token-stdin"]].concat();
    let refused = user.run_with_input(&with_token, "not-a-token\n");
    assert_eq!(refused.code, PERMISSION, "{}", refused.stderr);
    assert!(refused.stderr.contains("unauthenticated"), "{}", refused.stderr);
    assert!(!user.config.exists(), "a refused login saved a profile");

    let run = user.login_with_token(token, &args[1..]);
    assert!(run.text().contains("logged in as"), "{}", run.text());
    let saved = std::fs::read_to_string(&user.config).unwrap();
    assert!(saved.contains(token) && saved.contains(&urls[0]) && saved.contains("BEGIN CERTIFICATE"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&user.config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the profile holds a token: owner only");
    }
}

fn status(ada: &Cairn) {
    let status = ada.json(&["status"]);
    assert_eq!(status["user"]["name"], "ada");
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n["ok"] == true), "{status}");
    let human = ada.ok(&["status"]).text();
    assert_eq!(human.matches("  up ").count(), 3, "{human}");
}

/// mkdir, put, ls, get: the bytes come back identical, to a file and to stdout.
fn files_round_trip(ada: &Cairn) {
    let content = random(3 << 20, 1);
    std::fs::write(ada.cwd.join("a.bin"), &content).unwrap();
    ada.ok(&["mkdir", "/docs/inner"]);
    let put = ada.json(&["put", "a.bin", "/docs/"]);
    assert_eq!(put["path"], "/docs/a.bin");
    assert_eq!(put["files"][0]["version"], 1);
    assert_eq!(put["size"], content.len());
    assert!(put["blocks_sent"].as_u64().unwrap() >= 1, "{put}");

    // The same content again sends no block: the cluster has them all.
    let again = ada.json(&["put", "a.bin", "/docs/copy.bin"]);
    assert_eq!(again["blocks_sent"], 0, "{again}");
    // Into an existing folder, as `cp` does, slash or not.
    assert_eq!(ada.json(&["put", "a.bin", "/docs/inner"])["path"], "/docs/inner/a.bin");

    let human = ada.ok(&["ls", "/docs"]).text();
    assert_eq!(human, "inner/\na.bin\ncopy.bin\n", "folders first, then files");
    let listed = ada.json(&["ls", "-l", "/docs"]);
    let children = listed["children"].as_array().unwrap();
    assert_eq!(children[0]["kind"], "folder");
    let a = children.iter().find(|c| c["name"] == "a.bin").unwrap();
    assert_eq!(a["file"]["size"], content.len());
    assert_eq!(a["file"]["version"], 1);

    ada.ok(&["get", "/docs/a.bin", "back.bin"]);
    assert!(std::fs::read(ada.cwd.join("back.bin")).unwrap() == content, "get changed the bytes");
    let stdout = ada.ok(&["get", "/docs/a.bin", "-"]);
    assert!(stdout.stdout == content, "get - changed the bytes");
}

/// A local folder tree goes up recursively and comes back the same.
fn folder_round_trip(ada: &Cairn) {
    let tree = ada.cwd.join("photos");
    std::fs::create_dir_all(tree.join("2024/summer")).unwrap();
    std::fs::create_dir_all(tree.join("empty")).unwrap();
    std::fs::write(tree.join("cover.txt"), text(10_000, 2)).unwrap();
    std::fs::write(tree.join("2024/summer/beach.raw"), random(1 << 20, 3)).unwrap();
    std::fs::write(tree.join("2024/index.txt"), b"").unwrap();

    let put = ada.json(&["put", "photos", "/backup/"]);
    assert_eq!(put["path"], "/backup/photos");
    assert_eq!(put["files"].as_array().unwrap().len(), 3, "{put}");
    assert_eq!(put["folders"], 4, "{put}");
    // Again: the folders exist already, and no block needs sending.
    let again = ada.json(&["put", "photos", "/backup/"]);
    assert_eq!((again["folders"].as_u64(), again["blocks_sent"].as_u64()), (Some(4), Some(0)), "{again}");
    let listed = ada.json(&["ls", "/backup/photos"]);
    let names: Vec<&str> =
        listed["children"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["2024", "empty", "cover.txt"]);

    std::fs::create_dir(ada.cwd.join("restored")).unwrap();
    let got = ada.json(&["get", "/backup/photos", "restored"]);
    assert_eq!(got["files"].as_array().unwrap().len(), 3, "{got}");
    let back = ada.cwd.join("restored/photos");
    for file in ["cover.txt", "2024/summer/beach.raw", "2024/index.txt"] {
        assert_eq!(
            std::fs::read(back.join(file)).unwrap(),
            std::fs::read(tree.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(back.join("empty").is_dir(), "an empty folder did not come back");
}

fn move_trash_and_back(ada: &Cairn) {
    ada.ok(&["mv", "/docs/copy.bin", "/docs/moved.bin"]);
    let names = names(&ada.json(&["ls", "/docs"]));
    assert!(names.contains(&"moved.bin".to_owned()) && !names.contains(&"copy.bin".to_owned()), "{names:?}");

    ada.ok(&["rm", "/docs/moved.bin"]);
    assert!(!names_of(ada, "/docs").contains(&"moved.bin".to_owned()));
    // Its name stays taken while it is in the trash: `-a` shows it.
    let all = ada.json(&["ls", "-a", "/docs"]);
    let trashed = all["children"].as_array().unwrap().iter().find(|c| c["name"] == "moved.bin").unwrap();
    assert_eq!(trashed["file"]["status"], "trashed", "{all}");
    let trash = ada.json(&["trash"]);
    let trashed: Vec<&str> =
        trash["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(trashed.iter().any(|p| p.trim_start_matches('/') == "docs/moved.bin"), "{trash}");
    let restored = ada.json(&["trash", "restore", "/docs/moved.bin"]);
    assert_eq!(restored["files"].as_array().unwrap().len(), 1, "{restored}");
    assert!(names_of(ada, "/docs").contains(&"moved.bin".to_owned()));
}

/// Two versions, restore the first as a third, pin and unpin.
fn versions(ada: &Cairn) {
    let first = std::fs::read(ada.cwd.join("a.bin")).unwrap();
    std::fs::write(ada.cwd.join("a2.bin"), random(1 << 20, 4)).unwrap();
    let put = ada.json(&["put", "a2.bin", "/docs/a.bin"]);
    assert_eq!(put["files"][0]["version"], 2);
    let history = ada.json(&["history", "/docs/a.bin"]);
    assert_eq!(history["head"], 2);
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    assert_eq!(
        ada.json(&["history", "/docs/a.bin", "--limit", "1"])["versions"].as_array().unwrap().len(),
        1
    );

    let restored = ada.json(&["restore", "/docs/a.bin", "--version", "1"]);
    assert_eq!((restored["version"].as_u64(), restored["restored_from"].as_u64()), (Some(3), Some(1)));
    assert!(ada.ok(&["get", "/docs/a.bin", "-"]).stdout == first, "restore did not bring version 1 back");
    let old = ada.ok(&["get", "/docs/a.bin", "-", "--version", "2"]);
    assert!(old.stdout == std::fs::read(ada.cwd.join("a2.bin")).unwrap());

    assert_eq!(ada.json(&["pin", "/docs/a.bin", "--version", "1"])["pinned"], true);
    let history = ada.json(&["history", "/docs/a.bin"]);
    let v1 = history["versions"].as_array().unwrap().iter().find(|v| v["version"] == 1).unwrap();
    assert_eq!(v1["pinned"], true);
    assert_eq!(ada.json(&["pin", "/docs/a.bin", "--version", "1", "--unpin"])["pinned"], false);
}

/// Exit codes with meaning, and the `--json` error document.
fn conflicts_and_refusals(ada: &Cairn) {
    // Someone else (another device of ada's) commits version 4 meanwhile.
    std::fs::write(ada.cwd.join("theirs.bin"), b"theirs").unwrap();
    std::fs::write(ada.cwd.join("mine.bin"), b"mine").unwrap();
    ada.ok(&["put", "theirs.bin", "/docs/a.bin"]);
    let run = ada.fails(CONFLICT, &["--json", "put", "--if-version", "1", "mine.bin", "/docs/a.bin"]);
    let doc = run.json();
    assert_eq!(doc["error"]["code"], "conflict", "{doc}");
    assert_eq!(doc["error"]["exit"], CONFLICT);
    ada.fails(CONFLICT, &["put", "--new", "mine.bin", "/docs/a.bin"]);
    assert!(ada.ok(&["get", "/docs/a.bin", "-"]).stdout == b"theirs", "a refused put changed the file");

    let missing = ada.fails(NOT_FOUND, &["--json", "get", "/docs/nope.bin"]);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    ada.fails(NOT_FOUND, &["history", "/docs/nope.bin"]);
    ada.fails(BAD_INPUT, &["mkdir", "/docs/../etc"]);
    ada.fails(BAD_INPUT, &["get", "../secrets", "x"]);
    ada.fails(BAD_INPUT, &["link", "/docs/a.bin", "--expires", "soon"]);
    // A local file that is not there is a local error, not the cluster's.
    ada.fails(8, &["put", "no-such-local-file", "/x"]);
    // Usage errors are clap's: 2.
    let usage = ada.run(&["put"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert!(usage.stderr.contains("required arguments"), "{}", usage.stderr);
}

/// Ada shares a folder with bob as a viewer; bob finds it, lists and downloads it through
/// `--ns`, and may not write to it.
fn sharing(ada: &Cairn, bob: &Cairn) {
    let plan = text(50_000, 5);
    std::fs::write(ada.cwd.join("plan.txt"), &plan).unwrap();
    ada.ok(&["put", "plan.txt", "/team/"]);
    let shared = ada.json(&["share", "/team", "bob", "--role", "viewer"]);
    assert_eq!(shared["shared"], true);

    let given = ada.json(&["share", "--list"]);
    assert_eq!(given["given"][0]["user"], "bob", "{given}");
    let received = bob.json(&["share", "--list"]);
    let share = &received["received"][0];
    assert_eq!(
        (share["owner"].as_str(), share["role"].as_str()),
        (Some("ada"), Some("viewer")),
        "{received}"
    );
    let ns = share["ns"].as_u64().unwrap().to_string();

    assert_eq!(names(&bob.json(&["--ns", &ns, "ls", "/team"])), ["plan.txt"]);
    bob.ok(&["--ns", &ns, "get", "/team/plan.txt", "plan-from-ada.txt"]);
    assert_eq!(std::fs::read(bob.cwd.join("plan-from-ada.txt")).unwrap(), plan);
    std::fs::write(bob.cwd.join("mine.txt"), b"bob was here").unwrap();
    // A viewer's upload is refused and writes nothing.
    bob.fails(PERMISSION, &["--ns", &ns, "put", "mine.txt", "/team/"]);
    assert_eq!(names_of(ada, "/team"), ["plan.txt"]);
    // Without --ns bob sees his own (empty) drive.
    bob.fails(NOT_FOUND, &["ls", "/team"]);
    // As an editor he may upload into it (and ada finds his file there).
    ada.ok(&["share", "/team", "bob", "--role", "editor"]);
    assert_eq!(bob.json(&["--ns", &ns, "put", "mine.txt", "/team/"])["path"], "/team/mine.txt");
    assert_eq!(ada.ok(&["get", "/team/mine.txt", "-"]).stdout, b"bob was here");

    ada.ok(&["share", "--revoke", "/team", "bob"]);
    // Once revoked, the folder is hidden from bob as from any stranger: not found.
    bob.fails(NOT_FOUND, &["--ns", &ns, "ls", "/team"]);
}

/// A link's URL serves the file to anyone, without a token; `link --list` shows it where its file
/// is; a revoked link serves nothing and is listed no more.
async fn public_link(ada: &Cairn, urls: &[String], ca: &Path) {
    let url = ada.ok(&["link", "/docs/a.bin", "--expires", "7d"]).text().trim().to_owned();
    assert!(urls.iter().any(|u| url.starts_with(&format!("{u}/v1/links/"))), "{url}");
    let link = ada.json(&["link", "/docs/a.bin"]);
    let content_url = link["content_url"].as_str().unwrap();
    assert!(content_url.starts_with(link["url"].as_str().unwrap()));

    let anonymous = anonymous(urls, ca);
    let body = fetch(&anonymous, &format!("{url}/content")).await.unwrap();
    assert_eq!(&body[..], b"theirs");
    let id = link["id"].as_str().unwrap();
    let listed = ada.json(&["link", "--list"]);
    let mine =
        listed["links"].as_array().unwrap().iter().find(|l| l["id"] == id).expect("the link is not listed");
    assert_eq!(
        (&mine["path"], &mine["status"], &mine["kind"]),
        (&json!("docs/a.bin"), &json!("live"), &json!("file"))
    );
    let text = ada.ok(&["link", "--list"]).text();
    assert!(text.lines().any(|l| l.starts_with(id) && l.contains("/docs/a.bin")), "{text}");
    ada.ok(&["link", "--revoke", id]);
    let listed = ada.json(&["link", "--list"]);
    assert!(!listed["links"].as_array().unwrap().iter().any(|l| l["id"] == id), "a revoked link is listed");
    match fetch(&anonymous, content_url).await {
        Err(ClientError::Api { code, .. }) => assert_eq!(code.as_str(), "not_found"),
        other => panic!("a revoked link gave {other:?}"),
    }
}

/// A client of the cluster that sends no token.
fn anonymous(urls: &[String], ca: &Path) -> Nodes {
    let mut config = ClientConfig::new(urls.to_vec(), "");
    config.ca_pem = Some(std::fs::read_to_string(ca).unwrap());
    Nodes::new(&config).unwrap()
}

/// GETs the `/v1/…` path of `url` without a token.
async fn fetch(nodes: &Nodes, url: &str) -> Result<bytes::Bytes, ClientError> {
    let (_, path) = url.split_once("/v1/").unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    Ok(nodes.send_anonymous(&Call::new(reqwest::Method::GET, &segments)).await?.body)
}

fn names(listing: &Value) -> Vec<String> {
    listing["children"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

fn names_of(user: &Cairn, folder: &str) -> Vec<String> {
    names(&user.json(&["ls", folder]))
}
