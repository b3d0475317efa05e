//! A cluster for chaos: real `cairn-node` processes (the shared test harness), each behind a UDP
//! fault proxy for its peers and a TCP fault proxy for its clients, with one fault table for
//! all of them; and the membership operations the nemesis needs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cairn_client::{Client, ClientConfig};
use cairn_metadata::AdminCommand;
use cairn_node::ClusterClient;
use cairn_raft::NodeId;
use cairn_test_cluster::{Front, ProcessCluster, Settings};

use crate::proxy::{Faults, Peers, TcpProxy, UdpProxy};

/// Storage settings that make a fault's consequences visible within a run: quick to mark a
/// node down and to repair, and a scrubber that rereads every shard every few seconds.
const STORAGE: &str = "hedge_after_ms = 200\ndown_after_ms = 3000\nrepair_grace_ms = 5000\n\
                       repair_every_ms = 1000\nscrub_every_ms = 2000\nscrub_bytes_per_sec = 200000000";

/// How long a client keeps retrying one call before the workload records it as unknown.
const CLIENT_RETRY: Duration = Duration::from_secs(10);

/// The proxies of every node, made as the harness creates each node.
struct ProxyFront {
    faults: Faults,
    peers: Peers,
    proxies: Mutex<BTreeMap<NodeId, (UdpProxy, TcpProxy)>>,
}

impl std::fmt::Debug for ProxyFront {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<NodeId> =
            self.proxies.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect();
        f.debug_struct("ProxyFront").field("nodes", &nodes).finish()
    }
}

impl Front for ProxyFront {
    fn front(&self, id: NodeId, quic: SocketAddr, api: SocketAddr) -> (SocketAddr, SocketAddr) {
        self.peers.insert(quic, id);
        self.faults.add_node(id);
        let udp = UdpProxy::start(id, quic, self.faults.clone(), self.peers.clone())
            .unwrap_or_else(|e| panic!("the UDP proxy of node {id}: {e}"));
        let tcp = TcpProxy::start(id, api, self.faults.clone())
            .unwrap_or_else(|e| panic!("the TCP proxy of node {id}: {e}"));
        let addrs = (udp.addr(), tcp.addr());
        self.proxies.lock().unwrap_or_else(PoisonError::into_inner).insert(id, (udp, tcp));
        addrs
    }
}

/// The cluster under test.
pub struct ChaosCluster {
    /// The processes.
    pub nodes: ProcessCluster,
    /// The faults every proxy applies.
    pub faults: Faults,
    members: BTreeSet<NodeId>,
    next_id: NodeId,
}

impl ChaosCluster {
    /// Starts `size` nodes behind proxies whose random faults follow `seed`; blocks are coded
    /// 2+1 on three nodes and 3+2 on five or more.
    pub async fn start(size: u64, seed: u64) -> Self {
        let faults = Faults::new(seed);
        let front = ProxyFront { faults: faults.clone(), peers: Peers::new(), proxies: Mutex::default() };
        let profile = if size >= 5 { "3+2" } else { "2+1" };
        let settings = Settings {
            storage: format!("profile = \"{profile}\"\n{STORAGE}"),
            front: Some(Arc::new(front)),
            ..Settings::default()
        };
        let nodes = ProcessCluster::start(size, settings).await;
        Self { nodes, faults, members: (1..=size).collect(), next_id: size + 1 }
    }

    /// The nodes in the cluster now.
    pub fn members(&self) -> Vec<NodeId> {
        self.members.iter().copied().collect()
    }

    /// An SDK client with `token` over the client proxies of every member.
    pub fn client(&self, token: &str) -> Client {
        let nodes = self.members.iter().map(|id| format!("http://{}", self.nodes.nodes[id].api)).collect();
        let mut config = ClientConfig::new(nodes, token);
        config.retry_for = CLIENT_RETRY;
        config.connect_timeout = Duration::from_secs(2);
        config.read_timeout = Duration::from_secs(10);
        // Configuration of a fixed, valid shape: only a bug makes this fail.
        Client::new(config).unwrap_or_else(|e| panic!("client configuration: {e}"))
    }

    /// An operator client of every member, straight to their QUIC ports (past the proxies: the
    /// harness's own control must not suffer the faults it injects).
    pub async fn operator(&self) -> ClusterClient {
        let identity = self.nodes.operator_identity();
        let members = self.members.iter().map(|id| (*id, self.nodes.nodes[id].quic)).collect();
        ClusterClient::new(&identity, members, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("operator client: {e}"))
    }

    /// Adds a new node: its files, its proxies, its process, then learner and voter.
    pub async fn add_member(&mut self) -> NodeId {
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.add_files(id);
        self.nodes.start_node(id);
        self.nodes.join(id).await;
        self.members.insert(id);
        id
    }

    /// Removes node `id` from the cluster, then stops its process.
    pub async fn remove_member(&mut self, id: NodeId) -> Result<(), String> {
        let operator = self.operator().await;
        let removed = operator.admin(&AdminCommand::Remove { id }).await;
        operator.shutdown().await;
        removed.map_err(|e| format!("remove node {id}: {e}"))?;
        self.members.remove(&id);
        self.nodes.kill(id);
        // It is out for good: its shards are repair's business now, and long runs need the disk.
        let _ = std::fs::remove_dir_all(self.nodes.data_dir(id));
        Ok(())
    }

    /// Every node's log file, members or not.
    pub fn logs(&self) -> Vec<(NodeId, PathBuf)> {
        self.nodes.nodes.values().map(|n| (n.id, n.log.clone())).collect()
    }
}
