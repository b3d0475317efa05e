//! The upload status: a large file being uploaded is visible as `uploading` — in its folder's
//! listing and at its own path, to its owner and to the users it is shared with — and then as
//! `complete`; an upload that fails stops showing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::sync::mpsc;

use cairn_client::Client;
use cairn_client::api::{Listing, Role};
use cairn_client::upload::PutOptions;
use cairn_proto::sample_data::random;
use cairn_test_cluster::sdk::{Gated, client};
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};

const MIB: usize = 1 << 20;

async fn child_status(client: &Client, ns: Option<u64>, name: &str) -> Option<(String, Option<u64>)> {
    let view = client.stat("docs", &Listing { ns, ..Default::default() }).await.unwrap();
    let child = view.children.into_iter().find(|c| c.name == name)?;
    Some((child.status.unwrap_or_default(), child.uploading.map(|u| u.size)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_shows_as_uploading_then_complete() {
    let cluster = ProcessCluster::start(3, Settings::default()).await;
    let ada = client(&cluster, &cluster.add_user("ada", false));
    let bob = client(&cluster, &cluster.add_user("bob", false));
    let drive = ada.me().await.unwrap().drive;
    ada.make_folder("docs", None).await.unwrap();
    ada.share("docs", "bob", Role::Viewer, None).await.unwrap();

    let content = random(40 * MIB, 3);
    let (open, gate) = mpsc::channel();
    let reader = Gated::new(content.clone(), 20 * MIB as u64, gate);
    let uploader = ada.clone();
    let upload = tokio::spawn(async move {
        uploader.upload_reader_sized(reader, 40 * MIB as u64, "docs/big.bin", &PutOptions::default()).await
    });

    let size = Some(40 * MIB as u64);
    wait_until("the owner to see docs/big.bin uploading", || async {
        (child_status(&ada, None, "big.bin").await == Some(("uploading".into(), size))).then_some(())
    })
    .await;
    assert_eq!(child_status(&bob, Some(drive), "big.bin").await, Some(("uploading".into(), size)));
    let at = ada.stat("docs/big.bin", &Listing::default()).await.unwrap();
    assert!(at.file.is_none() && at.uploading.as_ref().map(|u| u.size) == size, "{at:?}");

    open.send(()).unwrap();
    let report = upload.await.unwrap().unwrap();
    assert_eq!(report.committed.version, 1);
    assert_eq!(child_status(&ada, None, "big.bin").await, Some(("complete".into(), None)));
    assert_eq!(child_status(&bob, Some(drive), "big.bin").await, Some(("complete".into(), None)));

    // A new version on its way shows on the existing file, which stays complete meanwhile.
    let (open, gate) = mpsc::channel::<()>();
    let reader = Gated::new(content, 20 * MIB as u64, gate);
    let uploader = ada.clone();
    let failing = tokio::spawn(async move {
        uploader.upload_reader_sized(reader, 40 * MIB as u64, "docs/big.bin", &PutOptions::default()).await
    });
    wait_until("the new version to show as uploading", || async {
        (child_status(&ada, None, "big.bin").await == Some(("complete".into(), size))).then_some(())
    })
    .await;
    // The upload fails (its source breaks): the session ends, and the file shows plain again.
    drop(open);
    assert!(failing.await.unwrap().is_err());
    wait_until("the failed upload to stop showing", || async {
        (child_status(&ada, None, "big.bin").await == Some(("complete".into(), None))).then_some(())
    })
    .await;
}
