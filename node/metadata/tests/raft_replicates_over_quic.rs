//! Three in-process Raft nodes over real QUIC with mutual TLS and real RocksDB storage elect a
//! leader, replicate metadata writes to every replica, and elect a new leader that keeps every
//! acknowledged write when the old one stops.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_metadata::raft_net::{ElectionTimes, Elector, PreVote, PreVoteRequest, RaftNetwork, handler};
use cairn_raft::model::users::user_by_name;
use cairn_raft::model::{Command, Request, RequestId, Response};
use cairn_raft::storage::{RocksLogStore, RocksStateMachine, StateReader};
use cairn_raft::{NodeAddr, NodeId, TypeConfig};
use cairn_transport::node_name;
use cairn_transport::{Transport, TransportSettings};
use openraft::{CommittedLeaderId, Config, LogId, Raft};

use cairn_transport::testkit::{PATIENCE, any_loopback_port, cluster};

struct Node {
    id: NodeId,
    raft: Raft<TypeConfig>,
    reader: StateReader,
    transport: Arc<Transport>,
    elector: Arc<Elector>,
    _dir: tempfile::TempDir,
}

async fn start_cluster(size: u64) -> Vec<Node> {
    let names: Vec<String> = (1..=size).map(node_name).collect();
    let (_, identities) = cluster(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let config = Arc::new(
        Config {
            heartbeat_interval: 150,
            election_timeout_min: 600,
            election_timeout_max: 1200,
            ..Config::default()
        }
        .validate()
        .unwrap(),
    );
    let mut nodes = Vec::new();
    for (i, identity) in identities.iter().enumerate() {
        let id = i as NodeId + 1;
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(
            Transport::bind(any_loopback_port(), identity, TransportSettings::default()).await.unwrap(),
        );
        let log = RocksLogStore::open(&dir.path().join("log")).unwrap();
        let state = RocksStateMachine::open(&dir.path().join("state")).unwrap();
        let reader = state.reader();
        let raft = Raft::new(id, config.clone(), RaftNetwork::new(transport.clone()), log.clone(), state)
            .await
            .unwrap();
        let elector = Elector::start(
            id,
            raft.clone(),
            log,
            transport.clone(),
            ElectionTimes {
                lease: Duration::from_millis(1200),
                spread: Duration::from_millis(600),
                call: Duration::from_millis(1200),
                tick: Duration::from_millis(40),
            },
        );
        transport.serve(handler(raft.clone(), elector.clone()));
        nodes.push(Node { id, raft, reader, transport, elector, _dir: dir });
    }
    let members: BTreeMap<NodeId, NodeAddr> = nodes
        .iter()
        .map(|n| {
            (n.id, NodeAddr { raft_addr: n.transport.local_addr().to_string(), api_addr: String::new() })
        })
        .collect();
    nodes[0].raft.initialize(members).await.unwrap();
    nodes
}

/// Waits until the nodes agree on a leader and returns its id.
async fn leader(nodes: &[Node]) -> NodeId {
    let metrics =
        nodes[0].raft.wait(Some(PATIENCE)).metrics(|m| m.current_leader.is_some(), "a leader").await.unwrap();
    let leader = metrics.current_leader.unwrap();
    for node in nodes {
        node.raft.wait(Some(PATIENCE)).current_leader(leader, "agreement on the leader").await.unwrap();
    }
    leader
}

async fn create_user(node: &Node, request: u128, name: &str) -> u64 {
    let request =
        Request { id: RequestId(request), time_ms: 1, command: Command::CreateUser { name: name.into() } };
    let written = node.raft.client_write(request.into()).await.unwrap();
    assert!(matches!(written.data[..], [Response::UserCreated { .. }]), "{:?}", written.data);
    written.log_id.index
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_replicate_and_survive_the_leader() {
    let mut nodes = start_cluster(3).await;
    let first = leader(&nodes).await;
    let on_leader = nodes.iter().find(|n| n.id == first).unwrap();
    let mut last_index = 0;
    for i in 0..20u32 {
        last_index = create_user(on_leader, u128::from(i) + 1, &format!("user-{i}")).await;
    }
    for node in &nodes {
        node.raft.wait(Some(PATIENCE)).applied_index(Some(last_index), "replication").await.unwrap();
        assert!(
            user_by_name(&node.reader.view(), "user-19").unwrap().is_some(),
            "node {} lacks the write",
            node.id
        );
    }

    // While the leader lives, no one would vote for a candidate, however long its log: a
    // follower that stops hearing the leader (a slow snapshot, a restart) cannot depose it.
    let eager = PreVoteRequest {
        candidate: 99,
        last_log_id: Some(LogId::new(CommittedLeaderId::new(u64::MAX, 99), u64::MAX)),
    };
    for node in &nodes {
        let expected = if node.id == first { PreVote::Leading } else { PreVote::LeaderAlive };
        assert_eq!(node.elector.answer(&eager).await, expected, "node {}", node.id);
    }

    // The leader stops; the other two elect a new one, which has every acknowledged write.
    let old = nodes.iter().position(|n| n.id == first).unwrap();
    let stopped = nodes.remove(old);
    stopped.raft.shutdown().await.unwrap();
    stopped.transport.shutdown().await;
    let elected = nodes[0]
        .raft
        .wait(Some(PATIENCE))
        .metrics(|m| m.current_leader.is_some_and(|l| l != first), "a new leader")
        .await
        .unwrap();
    let second = elected.current_leader.unwrap();
    for node in &nodes {
        node.raft.wait(Some(PATIENCE)).current_leader(second, "agreement on the new leader").await.unwrap();
    }
    let on_leader = nodes.iter().find(|n| n.id == second).unwrap();
    let index = create_user(on_leader, 1_000, "after-failover").await;
    for node in &nodes {
        node.raft
            .wait(Some(PATIENCE))
            .applied_index(Some(index), "replication after failover")
            .await
            .unwrap();
        let view = node.reader.view();
        for i in 0..20 {
            assert!(
                user_by_name(&view, &format!("user-{i}")).unwrap().is_some(),
                "lost user-{i} on node {}",
                node.id
            );
        }
        assert!(user_by_name(&view, "after-failover").unwrap().is_some());
    }
    for node in nodes {
        node.raft.shutdown().await.unwrap();
    }
}
