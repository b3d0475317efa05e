//! Only holders of a certificate from the cluster's CA take part: a client with another CA's
//! certificate can neither read nor write, even under a member's name, and a node whose
//! certificate comes from another CA, added to the membership, never receives a log entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cairn_metadata::AdminCommand;
use cairn_node::ClusterClient;
use cairn_node::ClusterClientError;
use cairn_node::SecretsDir;
use cairn_raft::NodeAddr;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{
    ProcessCluster, Settings, create_user, created, free_tcp_port, free_udp_port, wait_until,
};
use cairn_transport::{ClusterCa, NodeIdentity};

fn foreign_identity(name: &str) -> NodeIdentity {
    let ca = ClusterCa::generate("impostor").unwrap();
    let issued = ca.issue_node(name).unwrap();
    NodeIdentity::from_pem(ca.cert_pem(), issued.cert_pem(), issued.key_pem()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_certificates_cannot_read_write_or_join() {
    let mut cluster = ProcessCluster::start(3, Settings::default()).await;
    let client = cluster.client().await;
    assert!(created(&client.write(create_user(1, "secret-user")).await.unwrap()));

    // A client with a foreign certificate, even one naming a member, is refused at the handshake.
    for name in ["operator", "node-2"] {
        let impostor = cluster.client_with(&foreign_identity(name), Duration::from_secs(3)).await;
        let read = impostor.query(&Query::UserByName("secret-user".into())).await;
        assert!(matches!(read, Err(ClusterClientError::Unreachable(_))), "{name} read: {read:?}");
        let write = impostor.write(create_user(2, "planted")).await;
        assert!(matches!(write, Err(ClusterClientError::Unreachable(_))), "{name} wrote: {write:?}");
        impostor.shutdown().await;
    }
    let answer = client.query(&Query::UserByName("planted".into())).await.unwrap();
    assert_eq!(answer, Answer::User(None));

    // A node with its own CA, named as node 4, is added to the membership: the leader cannot
    // authenticate it, so it never gets an entry, while the real members go on.
    let foreign = SecretsDir::new(cluster.path().join("foreign-secrets"));
    foreign.create_cluster("impostor").unwrap();
    foreign.issue_node(4).unwrap();
    let quic = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port()));
    let api = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()));
    let config = cluster.write_config(4, quic, api, "foreign-secrets");
    cluster.add_node(4, config, quic, api);
    cluster.start_node(4);
    let addr = NodeAddr { raft_addr: quic.to_string(), api_addr: api.to_string() };
    client.admin(&AdminCommand::AddLearner { id: 4, addr }).await.unwrap();
    for i in 0..50 {
        assert!(created(&client.write(create_user(100 + i, &format!("after-{i}"))).await.unwrap()));
    }
    let leader = cluster.wait_for_leader().await;
    let target = client.status_of(leader).await.unwrap().applied_index;
    for id in [1, 2, 3] {
        wait_until("the members to apply the writes", || async {
            (client.status_of(id).await.ok()?.applied_index >= target).then_some(())
        })
        .await;
    }
    let leader_view = client.status_of(leader).await.unwrap();
    let replication = leader_view.replication.unwrap();
    assert_eq!(replication.get(&4), Some(&None), "the leader replicated to the impostor: {replication:?}");
    // Ask the impostor itself, with a certificate of its own CA: it has nothing.
    let own = impostor_client(&foreign, quic).await;
    let status = own.status_of(4).await.unwrap();
    assert_eq!(status.applied_index, None, "the impostor applied entries: {status:?}");
    assert_eq!(status.last_log_index, None, "the impostor holds log entries: {status:?}");
    own.shutdown().await;

    client.admin(&AdminCommand::Remove { id: 4 }).await.unwrap();
    cluster.kill(4);
    client.shutdown().await;
}

/// A client of the impostor node, trusted by the impostor's CA.
async fn impostor_client(secrets: &SecretsDir, addr: SocketAddr) -> ClusterClient {
    let ca = secrets.ca().unwrap();
    let issued = ca.issue_node("operator").unwrap();
    let identity = NodeIdentity::from_pem(ca.cert_pem(), issued.cert_pem(), issued.key_pem()).unwrap();
    ClusterClient::new(&identity, vec![(4, addr)], Duration::from_secs(5)).await.unwrap()
}
