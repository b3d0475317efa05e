//! A sync client deletes in the drive only what it saw: its plan is made from a listing taken
//! after a journal cursor, and another device's edit that lands between that listing and the
//! delete survives it, at its path — as a file, and as a file in a deleted folder — while the
//! deletes nothing raced go through. The API refuses such a delete with 412 `changed`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use cairn_client::api::Listing;
use cairn_client::disk::{DiskNames, Root};
use cairn_client::sync::execute::Executor;
use cairn_client::sync::remote::scan_remote;
use cairn_client::sync::rules::Rules;
use cairn_client::sync::state::StateDb;
use cairn_client::sync::tree::Remote;
use cairn_client::sync::{Action, Plan, SyncConfig, SyncStatus};
use cairn_client::{Client, ClientError};
use cairn_test_cluster::http::request;
use cairn_test_cluster::sdk::{client, put_text};
use cairn_test_cluster::{ProcessCluster, Settings};

/// The head version at `path`, if a live file is there.
async fn head(client: &Client, path: &str) -> Option<u64> {
    match client.stat(path, &Listing::default()).await {
        Ok(view) => view.file.filter(|f| f.status == "complete").map(|f| f.version),
        Err(e) if e.code() == "not_found" => None,
        Err(e) => panic!("stat {path}: {e}"),
    }
}

fn code(result: Result<impl std::fmt::Debug, ClientError>) -> String {
    result.expect_err("the delete should have been refused").code().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_racing_a_sync_delete_survives() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let token = cluster.add_user("ada", false);
    // Two devices of one user: the laptop syncs, the phone edits.
    let (laptop, phone) = (client(&cluster, &token), client(&cluster, &token));
    for path in ["sync/docs/a.txt", "sync/docs/b.txt", "sync/old/x.txt", "sync/keep/y.txt"] {
        put_text(&phone, path, "first").await;
    }

    // The API itself: a delete on a cursor older than an edit there is refused and changes
    // nothing; an expired (here: future) cursor is refused as such; bad input says why.
    let before = laptop.latest_cursor().await.unwrap();
    put_text(&phone, "sync/keep/y.txt", "second").await;
    assert_eq!(code(laptop.delete_if_unchanged("sync/keep/y.txt", None, before).await), "changed");
    assert_eq!(code(laptop.delete_if_unchanged("sync/keep", None, before).await), "changed");
    assert_eq!(head(&laptop, "sync/keep/y.txt").await, Some(2));
    assert_eq!(code(laptop.delete_if_unchanged("sync/keep", None, before + 1000).await), "cursor_expired");
    let api = cluster.nodes.values().next().unwrap().api;
    let auth = format!("Bearer {token}");
    let bad = request(
        api,
        "DELETE",
        "/v1/tree/sync/keep?if_unchanged_since=yesterday",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!((bad.status, bad.code()), (400, "bad_request".to_owned()), "{bad:?}");
    assert_eq!(head(&laptop, "sync/keep/y.txt").await, Some(2));

    // The laptop lists the drive after a cursor and plans deletes of what its disk lost.
    let root = tempfile::tempdir().unwrap();
    let config = SyncConfig::new(root.path(), "sync", "laptop").unwrap();
    let mut state = StateDb::open(root.path(), "sync", None).unwrap();
    let (status, _) = tokio::sync::watch::channel(SyncStatus::default());
    let listed_after = laptop.latest_cursor().await.unwrap();
    let disk = DiskNames::probe(root.path());
    let walled = std::sync::Arc::new(Root::new(root.path(), disk).unwrap());
    let listing = scan_remote(&laptop, "sync", None, &Rules::built_in(), &disk).await.unwrap();
    let listed = |path: &str| match listing.tree.get(path) {
        Some(Remote::File(file)) => *file,
        other => panic!("{path} listed as {other:?}"),
    };
    let plan = Plan {
        actions: vec![
            Action::DeleteRemoteFile { path: "docs/a.txt".into(), remote: listed("docs/a.txt") },
            Action::DeleteRemoteFile { path: "docs/b.txt".into(), remote: listed("docs/b.txt") },
            Action::DeleteRemoteFolder { path: "old".into() },
        ],
        waiting: Vec::new(),
    };

    // Meanwhile the phone edits a.txt and adds a file to old/.
    put_text(&phone, "sync/docs/a.txt", "the phone's edit").await;
    put_text(&phone, "sync/old/new.txt", "new on the phone").await;

    let outcome = Executor::new(&laptop, &config, walled.clone(), &mut state, &status, listed_after)
        .run(&plan)
        .await
        .unwrap();
    let mut waiting: Vec<&str> = outcome.waiting.iter().map(|w| w.path.as_str()).collect();
    waiting.sort_unstable();
    assert_eq!(waiting, ["docs/a.txt", "old"], "{outcome:?}");
    assert_eq!(outcome.changed, 1);
    // The edits are where they were; the delete nobody raced happened.
    assert_eq!(head(&laptop, "sync/docs/a.txt").await, Some(2));
    assert_eq!(head(&laptop, "sync/old/new.txt").await, Some(1));
    assert_eq!(head(&laptop, "sync/old/x.txt").await, Some(1));
    assert_eq!(head(&laptop, "sync/docs/b.txt").await, None);

    // Planned again from a fresh listing, the same deletes go through.
    let listed_after = laptop.latest_cursor().await.unwrap();
    let outcome = Executor::new(&laptop, &config, walled.clone(), &mut state, &status, listed_after)
        .run(&plan)
        .await
        .unwrap();
    assert!(outcome.waiting.is_empty(), "{outcome:?}");
    for path in ["sync/docs/a.txt", "sync/old/new.txt", "sync/old/x.txt"] {
        assert_eq!(head(&laptop, path).await, None, "{path}");
    }
}
