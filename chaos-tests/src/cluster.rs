//! A cluster for chaos: real `cairn-node` processes (the shared test harness), each behind a UDP
//! fault proxy for its peers and a TCP fault proxy for its clients, with one fault table for
//! all of them; and the membership operations the nemesis needs — an abrupt removal through the
//! admin call, and a drain and removal through `cairn-node member …`, as an operator runs them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cairn_client::{Client, ClientConfig};
use cairn_metadata::AdminCommand;
use cairn_node::ClusterClient;
use cairn_raft::NodeId;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{Front, ProcessCluster, Settings};

use crate::proxy::{Faults, Peers, TcpProxy, UdpProxy};

/// Storage settings that make a fault's consequences visible within a run: quick to mark a
/// node down and to repair, a scrubber that rereads every shard every few seconds, and moves
/// paced at [`REBALANCE_BYTES_PER_SEC`].
const STORAGE: &str = "hedge_after_ms = 200\ndown_after_ms = 3000\nrepair_grace_ms = 5000\n\
                       repair_every_ms = 1000\nscrub_every_ms = 2000\nscrub_bytes_per_sec = 200000000";

/// `storage.rebalance_bytes_per_sec`: a quarter of the default (64 MiB/s, a disk's rate), since
/// the whole cluster shares two cores with the workload. The workload's blocks are mostly
/// small, so the mover's time goes by blocks more than bytes and the pace binds only on the
/// data workload's large blocks: in a three-minute debug run it moved 1.6 to 2.8 MiB/s, and
/// drains took 8 s to 84 s for 0.7k to 7.6k blocks (18 MiB to 236 MiB).
pub const REBALANCE_BYTES_PER_SEC: u64 = 16 << 20;

/// How long a `cairn-node` command other than a drain may take.
const CLI_BOUND: Duration = Duration::from_secs(60);

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
            storage: format!(
                "profile = \"{profile}\"\n{STORAGE}\nrebalance_bytes_per_sec = {REBALANCE_BYTES_PER_SEC}"
            ),
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

    /// Removes node `id` from the cluster at once, whatever it holds, then stops its process:
    /// what `cairn-node member remove --force` does. The check that refuses a node still
    /// holding shards lives in the command, before it makes this same admin call, so the call
    /// itself removes any node; each block with a shard there is one short until repair.
    pub async fn remove_member(&mut self, id: NodeId) -> Result<(), String> {
        let operator = self.operator().await;
        let removed = operator.admin(&AdminCommand::Remove { id }).await;
        operator.shutdown().await;
        removed.map_err(|e| format!("remove node {id}: {e}"))?;
        self.forget(id);
        Ok(())
    }

    /// Waits up to `bound` for node `id` to have entered itself in the cluster map, as every
    /// node does once it runs: until then placement does not know it, and a drain that needs
    /// it to take shards has nowhere to put them.
    pub async fn wait_registered(&self, id: NodeId, bound: Duration) -> Result<(), String> {
        let operator = self.operator().await;
        let give_up = Instant::now() + bound;
        let result = loop {
            match operator.query(&Query::ClusterMap).await {
                Ok(Answer::ClusterMap(map)) if map.nodes.iter().any(|n| n.spec.id == id) => break Ok(()),
                _ if Instant::now() >= give_up => {
                    break Err(format!("node {id} was not in the cluster map {bound:?} after it joined"));
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        operator.shutdown().await;
        result
    }

    /// Node `id`'s state in the cluster map (`Active`, `Draining`, `Down`), in words.
    pub async fn map_state(&self, id: NodeId) -> Result<String, String> {
        let operator = self.operator().await;
        let map = operator.query(&Query::ClusterMap).await;
        operator.shutdown().await;
        match map {
            Ok(Answer::ClusterMap(map)) => Ok(map
                .nodes
                .iter()
                .find(|n| n.spec.id == id)
                .map_or_else(|| "absent".to_owned(), |n| format!("{:?}", n.state))),
            Ok(other) => Err(format!("the cluster map query answered {other:?}")),
            Err(e) => Err(format!("cluster map query: {e}")),
        }
    }

    /// The blocks with a shard on node `id`, and about how many bytes those shards are, from
    /// the block records (what `member remove` checks before it lets a node go).
    pub async fn holding(&self, id: NodeId) -> Result<(u64, u64), String> {
        let operator = self.operator().await;
        let held = crate::health::blocks_on(&operator, id).await;
        operator.shutdown().await;
        held
    }

    /// `cairn-node member drain --id ID --wait`, asking member `via`: returns once no block has a
    /// shard on node `id`, or fails when the command does, or has not returned within `bound`.
    pub async fn drain(&self, id: NodeId, via: NodeId, bound: Duration) -> Result<(), String> {
        self.command(via, &["member", "drain", "--id", &id.to_string(), "--wait"], bound).await.map(drop)
    }

    /// `cairn-node member drain --id ID --cancel`, asking member `via`: node `id` takes shards
    /// again.
    pub async fn cancel_drain(&self, id: NodeId, via: NodeId) -> Result<(), String> {
        self.command(via, &["member", "drain", "--id", &id.to_string(), "--cancel"], CLI_BOUND)
            .await
            .map(drop)
    }

    /// `cairn-node member remove --id ID` without `--force`, asking member `via` — refused while a
    /// block still has a shard on node `id` — then stops its process.
    pub async fn remove_drained(&mut self, id: NodeId, via: NodeId) -> Result<(), String> {
        self.command(via, &["member", "remove", "--id", &id.to_string()], CLI_BOUND).await?;
        self.forget(id);
        Ok(())
    }

    /// The rebalance lines of `cairn-node status`, asking member `via`: shards left to move and
    /// moved, per node, and blocks that have nowhere to go — or that nothing is left.
    pub async fn rebalance_status(&self, via: NodeId) -> Result<String, String> {
        let status = self.command(via, &["status"], CLI_BOUND).await?;
        let Some(from) = status.find("rebalance:") else { return Ok("nothing left to move".into()) };
        Ok(status[from..].lines().map(str::trim).collect::<Vec<_>>().join("; "))
    }

    /// Runs `cairn-node <args> -c <member via's config>` as an operator would, through the
    /// proxies, and returns its output; kills it if it has not returned within `bound`.
    async fn command(&self, via: NodeId, args: &[&str], bound: Duration) -> Result<String, String> {
        let shown = format!("cairn-node {}", args.join(" "));
        let mut command = tokio::process::Command::new(cairn_test_cluster::binary());
        command
            .env_remove("RUST_LOG")
            .args(args)
            .arg("-c")
            .arg(&self.nodes.nodes[&via].config)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = match tokio::time::timeout(bound, command.output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(format!("run `{shown}`: {e}")),
            Err(_) => return Err(format!("`{shown}` had not returned after {bound:?}")),
        };
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!("`{shown}` failed ({}): {}", out.status, stderr.trim()))
    }

    /// Forgets node `id`, removed from the cluster, and stops its process.
    fn forget(&mut self, id: NodeId) {
        self.members.remove(&id);
        self.nodes.kill(id);
        // It is out for good: any shards it held are repair's business now, and long runs need
        // the disk.
        let _ = std::fs::remove_dir_all(self.nodes.data_dir(id));
    }

    /// Every node's log file, members or not.
    pub fn logs(&self) -> Vec<(NodeId, PathBuf)> {
        self.nodes.nodes.values().map(|n| (n.id, n.log.clone())).collect()
    }
}
