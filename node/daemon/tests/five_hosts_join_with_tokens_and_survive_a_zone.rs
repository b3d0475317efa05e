//! Five machines in three zones, as an operator deploys them: each node on a host of its own (a
//! network namespace on a virtual bridge), the first `init`ed, the other four joined with a
//! token and one command each, every node with its own secrets folder — no key copied by hand.
//! `status` on any node shows five members in three zones; a node renews its certificates
//! without moving a key; a token used twice, an expired
//! token and another cluster's token are refused, saying why. Then zone b (nodes 3 and 4)
//! loses its links: every file still downloads, uploads go on, and once the links are back,
//! repair brings every block to its full 3+2 shards.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_client::{Client, ClientConfig};
use cairn_node::join::token::JoinToken;
use cairn_proto::api::DownloadOptions;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::netns::Network;
use cairn_test_cluster::{HOST_API_PORT, ProcessCluster, Settings, wait_until};

const STORAGE: &str = "profile = \"3+2\"\ndown_after_ms = 1500\nrepair_grace_ms = 2000\nrepair_every_ms = 500\n\
                       hedge_after_ms = 200";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hosts_join_with_tokens_and_survive_the_loss_of_a_zone() {
    let zones: BTreeMap<u64, String> = [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c")]
        .into_iter()
        .map(|(id, z)| (id, z.to_owned()))
        .collect();
    let settings = Settings {
        storage: STORAGE.into(),
        zones: zones.clone(),
        api_tls: true,
        hosts: Some(Arc::new(Network::new())),
        ..Default::default()
    };
    let mut cluster = ProcessCluster::prepare(settings);
    cluster.add_files(1);
    cluster.run_ok_on(1, &["init", "-c", &cluster.config_arg(1)]);
    cluster.start_node(1);
    cluster.wait_for_leader().await;
    let peer = format!("{}:{HOST_API_PORT}", cluster.host(1).unwrap().ip());
    let mint = |cluster: &ProcessCluster, extra: &[&str]| {
        let config = cluster.config_arg(1);
        let mut args = vec!["join-token", "-c", config.as_str()];
        args.extend_from_slice(extra);
        cluster.run_ok_on(1, &args).trim().to_owned()
    };

    // Four machines join, one command each, through node 1 (which holds the CA key).
    let mut used = String::new();
    for id in 2..=5 {
        cluster.add_joining_files(id);
        let token = mint(&cluster, &["--ttl", "10m"]);
        let out = cluster
            .run_ok_on(id, &["join", "-c", &cluster.config_arg(id), "--token", &token, "--peer", &peer]);
        assert!(out.contains(&format!("node {id} is a voter")), "{out}");
        cluster.start_node(id);
        used = token;
    }
    // Each has its own key, made on its own host; only the CA key's holder has ca.key.
    for id in 2..=5 {
        let secrets = cluster.path().join(format!("secrets{id}"));
        assert!(secrets.join(format!("node-{id}.key")).is_file());
        assert!(!secrets.join("ca.key").exists());
    }

    let status = wait_until("status to show five members in three zones", || async {
        let out = cluster.run_on(3, &["status", "-c", &cluster.config_arg(3)]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("cluster: 5 members in 3 zones (5 voters, 0 learners)").then_some(text)
    })
    .await;
    for id in 1..=5 {
        let ip = cluster.host(id).unwrap().ip().to_string();
        assert!(
            status.lines().any(|l| l.contains(&ip) && l.contains(&format!(" {} ", zones[&id]))),
            "{status}"
        );
    }

    // Node 5 renews its certificates through the members (node 1 signs), its key made on its
    // own host; restarted, it serves with them.
    let cert_path = cluster.path().join("secrets5/node-5.crt");
    let before = std::fs::read_to_string(&cert_path).unwrap();
    let out = cluster.run_ok_on(5, &["renew-cert", "-c", &cluster.config_arg(5)]);
    assert!(out.contains("renewed"), "{out}");
    assert_ne!(std::fs::read_to_string(&cert_path).unwrap(), before);
    assert_eq!(std::fs::read_to_string(cluster.path().join("secrets5/node-5.crt.old")).unwrap(), before);
    cluster.kill(5);
    cluster.start_node(5);
    let renewed = cluster.client().await;
    cluster.wait_caught_up(&renewed, 5).await;
    renewed.shutdown().await;

    // Refusals, each with its reason, and nothing stored for the machine that was refused.
    cluster.add_joining_files(6);
    let refused = |token: &str| {
        let out =
            cluster.run_on(6, &["join", "-c", &cluster.config_arg(6), "--token", token, "--peer", &peer]);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let twice = refused(&used);
    assert!(twice.contains("used already, by node 5"), "{twice}");
    let short = mint(&cluster, &["--ttl", "1s"]);
    wait_until("the short token to expire", || async {
        let out = cluster.run_ok_on(1, &["join-token", "list", "-c", &cluster.config_arg(1)]);
        out.lines().any(|l| l.contains("expired")).then_some(())
    })
    .await;
    let late = refused(&short);
    assert!(late.contains("expired"), "{late}");
    let other_ca = cairn_transport::ClusterCa::generate("elsewhere").unwrap();
    let foreign =
        JoinToken::generate(cairn_transport::cert_fingerprint(other_ca.cert_pem()).unwrap()).to_text();
    let elsewhere = refused(&foreign);
    assert!(elsewhere.contains("belongs to another cluster"), "{elsewhere}");
    assert!(!cluster.path().join("secrets6").join("ca.crt").exists());
    cluster.nodes.remove(&6);

    // Files through the HTTPS API, from the test's side of the bridge.
    let token = cluster.add_user("ada", false);
    let ca = std::fs::read_to_string(cluster.path().join("secrets/ca.crt")).unwrap();
    let client = {
        let nodes = [1, 2, 5].iter().map(|id| format!("https://{}", cluster.nodes[id].api)).collect();
        Client::new(ClientConfig { ca_pem: Some(ca), ..ClientConfig::new(nodes, &token) }).unwrap()
    };
    // Placement needs every node registered with its zone and taking work (node 5 was just
    // restarted, and may still be marked down).
    let admin = cluster.client().await;
    assert_eq!(zone_map(&admin).await, zones, "every node registered its zone");
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                format!("/zone-test/file-{i}.bin"),
                cairn_proto::sample_data::random(300_000 + i * 70_000, i as u64),
            )
        })
        .collect();
    for (path, bytes) in &files {
        upload(&client, path, bytes).await;
    }

    // A block written while a node was still marked down (node 5 was just restarted) is placed
    // short and made whole by repair moments later: the zone is cut only once every block is
    // whole, as a healthy cluster's are.
    wait_until("every block to hold its 3+2 shards before the cut", || async {
        whole(&admin, &all_blocks(&admin).await, &zones).await
    })
    .await;

    // Zone b loses its links.
    cluster.cut(3);
    cluster.cut(4);
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in &files {
        assert_eq!(&download(&client, path, dir.path()).await, bytes, "{path} after zone b was cut");
    }
    let later = cairn_proto::sample_data::random(500_000, 99);
    upload(&client, "/zone-test/while-b-was-gone.bin", &later).await;
    assert_eq!(download(&client, "/zone-test/while-b-was-gone.bin", dir.path()).await, later);
    // Its blocks could be given only three of their five shards: two are owed to repair.
    assert!(
        all_blocks(&admin).await.iter().any(|r| !r.damaged.is_empty()),
        "a block written without zone b lacks no shard"
    );

    // The zone comes back; repair restores every block's five shards, none of them damaged.
    cluster.restore(3);
    cluster.restore(4);
    let stored = all_blocks(&admin).await.len();
    assert!(stored >= files.len(), "{stored} blocks for {} files", files.len());
    wait_until("repair to bring every block back to 3+2 shards", || async {
        let blocks = all_blocks(&admin).await;
        assert_eq!(blocks.len(), stored, "blocks came or went");
        whole(&admin, &blocks, &zones).await
    })
    .await;
    for (path, bytes) in &files {
        assert_eq!(&download(&client, path, dir.path()).await, bytes);
    }
    admin.shutdown().await;

    // A node whose profile could not survive a zone's loss over this layout (4+1: two shards
    // in some zone, one parity) is refused at start, saying why.
    cluster.kill(5);
    let config = cluster.config_arg(5);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("profile = \"3+2\"", "profile = \"4+1\"")).unwrap();
    let out = cluster.run_on(5, &["start", "-c", &config]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("cannot survive the loss of a zone"), "{said}");
}

async fn upload(client: &Client, path: &str, bytes: &[u8]) {
    let reader = std::io::Cursor::new(bytes.to_vec());
    client
        .upload_reader(reader, path, &cairn_client::upload::PutOptions::default())
        .await
        .unwrap_or_else(|e| panic!("upload {path}: {e}"));
}

async fn download(client: &Client, path: &str, dir: &std::path::Path) -> Vec<u8> {
    let local = dir.join("download");
    client
        .download_file(path, &local, &DownloadOptions::default(), None)
        .await
        .unwrap_or_else(|e| panic!("download {path}: {e}"));
    std::fs::read(&local).unwrap()
}

/// Whether every block holds its five shards, undamaged, at most two in a zone, and every node
/// holds at least the shards the records give it.
async fn whole(
    admin: &cairn_node::ClusterClient,
    blocks: &[cairn_raft::model::blocks::BlockRecord],
    zones: &BTreeMap<u64, String>,
) -> Option<()> {
    for r in blocks {
        let mut per_zone: BTreeMap<&str, usize> = BTreeMap::new();
        for node in &r.placement {
            *per_zone.entry(zones[node].as_str()).or_default() += 1;
        }
        if !(r.damaged.is_empty() && r.placement.len() == 5 && per_zone.values().all(|&n| n <= 2)) {
            return None;
        }
    }
    for id in 1..=5u64 {
        let owed = blocks.iter().filter(|r| r.placement.contains(&id)).count() as u64;
        let held = admin.status_of(id).await.ok()?.blocks?.shards_held;
        if held < owed {
            return None;
        }
    }
    Some(())
}

/// The zones of the cluster map's nodes, once all five are in it and active.
async fn zone_map(client: &cairn_node::ClusterClient) -> BTreeMap<u64, String> {
    wait_until("every node in the cluster map and active", || async {
        match client.query(&Query::ClusterMap).await.ok()? {
            Answer::ClusterMap(map)
                if map.nodes.len() == 5
                    && map.nodes.iter().all(|n| n.state == cairn_raft::model::cluster::NodeState::Active) =>
            {
                Some(map.nodes.into_iter().map(|n| (n.spec.id, n.spec.zone)).collect())
            }
            _ => None,
        }
    })
    .await
}

/// Every block's record (the test stores far fewer than a page).
async fn all_blocks(client: &cairn_node::ClusterClient) -> Vec<cairn_raft::model::blocks::BlockRecord> {
    match client.query(&Query::Blocks { after: None, limit: 1_000 }).await {
        Ok(Answer::Blocks(list)) => list.into_iter().map(|(_, _, record)| record).collect(),
        other => panic!("{other:?}"),
    }
}
