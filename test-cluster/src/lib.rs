//! A cluster of real `cairn-node` processes on loopback, for integration tests and the load
//! generator: configs with free ports in a temporary folder, `cairn-node init` for the first
//! node, certificates for the rest, processes started and killed at will, and a client: the
//! cluster's own ([`ClusterClient`]), the SDK's ([`sdk`]), or raw HTTP ([`http`]).
//!
//! Every process is killed when the cluster is dropped, also when a test panics. A [`Front`]
//! (the chaos suite's fault proxies) may stand between each node and its peers and clients.
//! With [`Settings::hosts`], each node runs instead on a host of its own, a network namespace
//! on a virtual bridge ([`netns`]), whose link [`ProcessCluster::cut`] pulls.

// A test harness: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod netns;
pub mod sdk;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_metadata::{AdminCommand, NodeStatus};
use cairn_node::ClusterClient;
use cairn_node::SecretsDir;
use cairn_raft::model::{Command as Cmd, Request, RequestId, Response};
use cairn_raft::{NodeAddr, NodeId};
use cairn_transport::NodeIdentity;

/// A generous bound for what should happen promptly; only a hang reaches it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The QUIC port of a node on a host of its own: every host is its own machine, so all use
/// the same ports, as real deployments do.
pub const HOST_QUIC_PORT: u16 = 7000;

/// The API port of a node on a host of its own.
pub const HOST_API_PORT: u16 = 8443;

/// The `cairn-node` binary: `$CAIRN_NODE_BIN`, else the one Cargo built next to the running
/// test or benchmark (`target/<profile>/cairn-node`, the parent of its `deps/`).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CAIRN_NODE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
    }
    let binary = dir.join("cairn-node");
    assert!(binary.exists(), "no cairn-node at {} (build it, or set CAIRN_NODE_BIN)", binary.display());
    binary
}

/// What stands between a node and everyone else: the chaos suite's fault proxies.
pub trait Front: std::fmt::Debug + Send + Sync {
    /// Node `id` listens for its peers on `quic` and for clients on `api`: the addresses its
    /// peers should dial and its clients should use instead.
    fn front(&self, id: NodeId, quic: SocketAddr, api: SocketAddr) -> (SocketAddr, SocketAddr);
}

/// Raft settings for a test cluster.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Entries between snapshots.
    pub snapshot_every: u64,
    /// Entries kept behind a snapshot.
    pub keep_after_snapshot: u64,
    /// Lines of every node's `[storage]` section.
    pub storage: String,
    /// Zone of each node by id (`zone-<id>` when absent).
    pub zones: BTreeMap<NodeId, String>,
    /// Extra `[storage]` lines for single nodes (a small capacity, say).
    pub node_storage: BTreeMap<NodeId, String>,
    /// Serve the API over HTTPS with the cluster CA (`network.api_tls`); off by default, so the
    /// API tests speak plain HTTP on loopback with nothing between them and the bytes.
    pub api_tls: bool,
    /// `network.api_max_upload_bytes`, when not the default.
    pub api_max_upload_bytes: Option<u64>,
    /// Extra lines of every node's `[network]` section: the API's connection limits and
    /// timeouts, say (`"max_connections_per_address = 2000\nwrite_timeout_s = 2"`).
    pub network: String,
    /// Lines of every node's `[accounts]` section: short sessions, say (`"session_idle_s = 3"`).
    pub accounts: String,
    /// Proxies in front of every node, if any.
    pub front: Option<Arc<dyn Front>>,
    /// A virtual network to put each node on a host of its own: node `id` runs in host `id`'s
    /// namespace and listens on its address ([`HOST_QUIC_PORT`], [`HOST_API_PORT`]). `None`:
    /// every node on loopback, with free ports.
    pub hosts: Option<Arc<netns::Network>>,
    /// Environment variables every node's process starts with (each node's own copy is
    /// [`NodeProc::env`], to change before a restart).
    pub env: BTreeMap<String, String>,
    /// Run with `cairn-node`'s own heartbeat and election timeouts, as a deployment does (a
    /// failover benchmark), instead of the tests' slower ones, which hold one leader steady on
    /// a machine busy with many clusters at once.
    pub node_raft_timing: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            snapshot_every: 20_000,
            keep_after_snapshot: 5_000,
            storage: String::new(),
            zones: BTreeMap::new(),
            node_storage: BTreeMap::new(),
            api_tls: false,
            api_max_upload_bytes: None,
            network: String::new(),
            accounts: String::new(),
            front: None,
            hosts: None,
            env: BTreeMap::new(),
            node_raft_timing: false,
        }
    }
}

/// One node's files and process.
pub struct NodeProc {
    /// Its id.
    pub id: NodeId,
    /// Its config file.
    pub config: PathBuf,
    /// Its QUIC address.
    pub quic: SocketAddr,
    /// The QUIC address its peers dial (`network.advertise`): a proxy's, or `quic`.
    pub advertise: SocketAddr,
    /// The API address clients use: a proxy's, or the one it listens on.
    pub api: SocketAddr,
    /// The API address it listens on.
    pub api_listen: SocketAddr,
    /// Where its output goes.
    pub log: PathBuf,
    /// Environment variables its process starts with.
    pub env: BTreeMap<String, String>,
    /// Its host, with [`Settings::hosts`].
    host: Option<netns::Host>,
    child: Option<Child>,
}

/// A cluster of processes.
pub struct ProcessCluster {
    /// The folder everything lives in.
    pub dir: tempfile::TempDir,
    /// The nodes by id (started or not).
    pub nodes: BTreeMap<NodeId, NodeProc>,
    /// Nodes whose link is cut: asking them would only wait out a deadline.
    cut_off: BTreeSet<NodeId>,
    // Dropped after `Drop::drop` has killed every process: the network (in `hosts`) must
    // outlive the nodes on it.
    settings: Settings,
}

/// A UDP port on loopback that was free a moment ago.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// A TCP port on loopback that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

impl ProcessCluster {
    /// Makes the files of `size` nodes, runs `cairn-node init` for node 1, starts every node,
    /// and adds nodes 2.. as voters. Returns once all are voters and a leader is known.
    pub async fn start(size: u64, settings: Settings) -> Self {
        let mut cluster = Self::prepare(settings);
        cluster.add_files(1);
        // `init` starts the node for a moment, so it must run where the node listens.
        cluster.run_ok_on(1, &["init", "-c", cluster.config_arg(1).as_str()]);
        cluster.start_node(1);
        cluster.wait_for_leader().await;
        for id in 2..=size {
            cluster.add_files(id);
            cluster.start_node(id);
            cluster.join(id).await;
        }
        cluster
    }

    /// An empty cluster folder.
    pub fn prepare(settings: Settings) -> Self {
        Self { dir: tempfile::tempdir().unwrap(), nodes: BTreeMap::new(), cut_off: BTreeSet::new(), settings }
    }

    /// The cluster's secrets folder.
    pub fn secrets(&self) -> SecretsDir {
        SecretsDir::new(self.dir.path().join("secrets"))
    }

    /// Node `id`'s config file, as a command-line argument.
    pub fn config_arg(&self, id: NodeId) -> String {
        self.nodes[&id].config.display().to_string()
    }

    /// Writes node `id`'s config (free ports on loopback, or with [`Settings::hosts`] host
    /// `id`'s address, made now) and, unless it is node 1 (which `init` makes), issues its
    /// certificate.
    pub fn add_files(&mut self, id: NodeId) {
        self.place(id, "secrets");
        if id != 1 {
            self.secrets().issue_node(id).unwrap();
        }
    }

    /// Writes node `id`'s config as [`ProcessCluster::add_files`] does, but with a secrets
    /// folder of its own (`secrets<id>`, empty) and no certificate: a machine about to run
    /// `cairn-node join`, which gets its certificates from the cluster itself.
    pub fn add_joining_files(&mut self, id: NodeId) {
        self.place(id, &format!("secrets{id}"));
    }

    /// Writes node `id`'s config using secrets folder `secrets` and registers the node.
    fn place(&mut self, id: NodeId, secrets: &str) {
        let host = self.settings.hosts.as_ref().map(|network| network.host(host_index(id)));
        let (quic, api_listen) = match &host {
            Some(host) => {
                (SocketAddr::from((host.ip(), HOST_QUIC_PORT)), SocketAddr::from((host.ip(), HOST_API_PORT)))
            }
            None => (
                SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port())),
                SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port())),
            ),
        };
        let (advertise, api) = match &self.settings.front {
            Some(front) => front.front(id, quic, api_listen),
            None => (quic, api_listen),
        };
        let config = self.write_config_advertising(id, quic, advertise, api_listen, secrets);
        let log = self.dir.path().join(format!("node{id}.log"));
        let env = self.settings.env.clone();
        self.nodes.insert(
            id,
            NodeProc { id, config, quic, advertise, api, api_listen, log, env, host, child: None },
        );
    }

    /// Writes a config for node `id` using `secrets` (a folder name under the cluster folder).
    pub fn write_config(&self, id: NodeId, quic: SocketAddr, api: SocketAddr, secrets: &str) -> PathBuf {
        self.write_config_advertising(id, quic, quic, api, secrets)
    }

    /// [`ProcessCluster::write_config`] for a node its peers reach at `advertise`.
    fn write_config_advertising(
        &self,
        id: NodeId,
        quic: SocketAddr,
        advertise: SocketAddr,
        api: SocketAddr,
        secrets: &str,
    ) -> PathBuf {
        let s = &self.settings;
        let zone = s.zones.get(&id).cloned().unwrap_or_else(|| format!("zone-{id}"));
        let storage = s.node_storage.get(&id).map_or("", String::as_str);
        // No disk kept back, unless the test sets its own reserve (a key may appear only once).
        let reserve = if s.storage.contains("reserve_disk_bytes") || storage.contains("reserve_disk_bytes") {
            ""
        } else {
            "reserve_disk_bytes = 0\n"
        };
        let timing =
            if s.node_raft_timing { "" } else { "heartbeat_ms = 150\nelection_timeout_ms = [1000, 2000]\n" };
        let upload_limit =
            s.api_max_upload_bytes.map(|n| format!("api_max_upload_bytes = {n}\n")).unwrap_or_default();
        let text = format!(
            "id = {id}\ndata_dir = \"node{id}\"\nsecrets_dir = \"{secrets}\"\nzone = \"{zone}\"\n\
             log = \"info\"\n[network]\nlisten = \"{quic}\"\nadvertise = \"{advertise}\"\napi = \"{api}\"\napi_tls = {}\n{upload_limit}{}\n\
             [raft]\n{timing}snapshot_every = {}\nkeep_after_snapshot = {}\n\
             call_timeout_ms = 20000\n[accounts]\n{}\n[storage]\n{reserve}{}\n{storage}\n",
            s.api_tls, s.network, s.snapshot_every, s.keep_after_snapshot, s.accounts, s.storage
        );
        let path = self.dir.path().join(format!("node{id}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Rewrites node `id`'s config with `lines` as its extra `[storage]` lines (a tiny
    /// `capacity_bytes`, say); a running node sees it when it restarts.
    pub fn set_node_storage(&mut self, id: NodeId, lines: &str) {
        self.settings.node_storage.insert(id, lines.to_owned());
        let node = &self.nodes[&id];
        self.write_config_advertising(id, node.quic, node.advertise, node.api_listen, "secrets");
    }

    /// Registers a node whose files were made by hand (see [`ProcessCluster::write_config`]);
    /// it runs in the test's own namespace, also with [`Settings::hosts`].
    pub fn add_node(&mut self, id: NodeId, config: PathBuf, quic: SocketAddr, api: SocketAddr) {
        let log = self.dir.path().join(format!("node{id}.log"));
        let node = NodeProc {
            id,
            config,
            quic,
            advertise: quic,
            api,
            api_listen: api,
            log,
            env: self.settings.env.clone(),
            host: None,
            child: None,
        };
        self.nodes.insert(id, node);
    }

    /// Runs a `cairn-node` command to completion and returns its stdout; panics with its
    /// output if it fails.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = Command::new(binary()).args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "cairn-node {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a `cairn-node` command to completion where node `id` runs: inside its host's
    /// namespace with [`Settings::hosts`] (so it binds and dials as that host), else here.
    /// Node `id` needs files ([`ProcessCluster::add_files`]), not a running process.
    pub fn run_on(&self, id: NodeId, args: &[&str]) -> Output {
        self.node_command(id).args(args).output().unwrap()
    }

    /// [`ProcessCluster::run_on`], returning stdout; panics with its output if it fails.
    pub fn run_ok_on(&self, id: NodeId, args: &[&str]) -> String {
        let out = self.run_on(id, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "cairn-node {args:?} (where node {id} runs) failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// A `cairn-node` command as it runs on node `id`'s machine: in its host, with its
    /// environment.
    fn node_command(&self, id: NodeId) -> Command {
        let node = &self.nodes[&id];
        let mut command = match &node.host {
            Some(host) => host.command(binary()),
            None => Command::new(binary()),
        };
        command.envs(&node.env);
        command
    }

    /// Node `id`'s host, with [`Settings::hosts`]: its namespace and address.
    pub fn host(&self, id: NodeId) -> Option<&netns::Host> {
        self.nodes[&id].host.as_ref()
    }

    /// Pulls node `id`'s cable: its host's link to the bridge goes down, so it reaches no peer
    /// and no client, and none reaches it, while its process runs on. Needs [`Settings::hosts`].
    pub fn cut(&mut self, id: NodeId) {
        let (network, host) = self.network_and_host(id);
        network.cut(host);
        self.cut_off.insert(id);
    }

    /// Plugs node `id`'s cable back in.
    pub fn restore(&mut self, id: NodeId) {
        let (network, host) = self.network_and_host(id);
        network.restore(host);
        self.cut_off.remove(&id);
    }

    fn network_and_host(&self, id: NodeId) -> (&netns::Network, &netns::Host) {
        match (&self.settings.hosts, self.host(id)) {
            (Some(network), Some(host)) => (network, host),
            _ => panic!("node {id} has no host of its own: cutting links needs Settings::hosts"),
        }
    }

    /// Starts node `id`'s process (`cairn-node start`), its output appended to its log.
    pub fn start_node(&mut self, id: NodeId) {
        let mut command = self.node_command(id);
        let node = self.nodes.get_mut(&id).unwrap();
        assert!(node.child.is_none(), "node {id} is already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap();
        // The node's `log` setting decides what it logs: a RUST_LOG meant for the test runner
        // (say `cairn_chaos=info`) would otherwise silence the node's log entirely.
        let child = command
            .env_remove("RUST_LOG")
            .args(["start", "-c", node.config.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
    }

    /// kill -9 node `id`.
    pub fn kill(&mut self, id: NodeId) {
        if let Some(mut child) = self.nodes.get_mut(&id).unwrap().child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `id` as an operator or systemd does: SIGTERM, then waits for the process to
    /// exit on its own (a graceful shutdown). Returns how it exited; panics, after a kill -9,
    /// if it is still running after [`PATIENCE`], since a node that ignores SIGTERM would hold
    /// up every rolling restart.
    pub async fn stop(&mut self, id: NodeId) -> std::process::ExitStatus {
        let Some(mut child) = self.nodes.get_mut(&id).unwrap().child.take() else {
            panic!("node {id} is not running");
        };
        let pid = child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
        let give_up = Instant::now() + PATIENCE;
        loop {
            if let Some(exit) = child.try_wait().unwrap() {
                return exit;
            }
            if Instant::now() >= give_up {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {id} was still running {PATIENCE:?} after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops node `id`'s process with SIGSTOP (a paused node: its sockets stay open, it answers
    /// nothing), or lets it go on with SIGCONT.
    pub fn pause(&self, id: NodeId, paused: bool) {
        if let Some(pid) = self.pid(id) {
            let signal = if paused { "-STOP" } else { "-CONT" };
            let status = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
            assert!(status.success(), "kill {signal} {pid} failed");
        }
    }

    /// Creates user `name` with `cairn-node user add` through node 1 and returns its token.
    pub fn add_user(&self, name: &str, admin: bool) -> String {
        let config = self.config_arg(1);
        let mut args = vec!["user", "add", "-c", config.as_str(), name];
        if admin {
            args.push("--admin");
        }
        let out = self.run_ok(&args);
        out.lines().find_map(|l| l.strip_prefix("token: ")).unwrap().trim().to_owned()
    }

    /// Sets user `name`'s password with `cairn-node user passwd`, which reads it from stdin.
    pub fn set_password(&self, name: &str, password: &str) {
        use std::io::Write as _;
        let config = self.config_arg(1);
        let mut child = Command::new(binary())
            .args(["user", "passwd", "-c", config.as_str(), name])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "user passwd {name} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Node `id`'s process id, if it is running.
    pub fn pid(&self, id: NodeId) -> Option<u32> {
        self.nodes[&id].child.as_ref().map(Child::id)
    }

    /// Whether node `id`'s process is running.
    pub fn is_running(&self, id: NodeId) -> bool {
        self.nodes[&id].child.is_some()
    }

    /// The ids of running nodes.
    pub fn running(&self) -> Vec<NodeId> {
        self.nodes.values().filter(|n| n.child.is_some()).map(|n| n.id).collect()
    }

    /// An operator identity, issued by the cluster CA.
    pub fn operator_identity(&self) -> NodeIdentity {
        let ca = self.secrets().ca().unwrap();
        let issued = ca.issue_node("operator").unwrap();
        NodeIdentity::from_pem(ca.cert_pem(), issued.cert_pem(), issued.key_pem()).unwrap()
    }

    /// A client of every node, authenticated as an operator.
    pub async fn client(&self) -> ClusterClient {
        self.client_with(&self.operator_identity(), Duration::from_secs(5)).await
    }

    /// A client of every node with `identity` and a per-call `deadline`.
    pub async fn client_with(&self, identity: &NodeIdentity, deadline: Duration) -> ClusterClient {
        let nodes = self.nodes.values().map(|n| (n.id, n.quic)).collect();
        ClusterClient::new(identity, nodes, deadline).await.unwrap()
    }

    /// Waits until some running node reports a leader that itself reports leading, and
    /// returns it. A node whose link is cut is not asked: it cannot answer.
    pub async fn wait_for_leader(&self) -> NodeId {
        let client = self.client_with(&self.operator_identity(), Duration::from_secs(3)).await;
        let leader = wait_until("a leader", || async {
            for id in self.running().into_iter().filter(|id| !self.cut_off.contains(id)) {
                if let Ok(status) = client.status_of(id).await
                    && status.state == "Leader"
                {
                    return Some(id);
                }
            }
            None
        })
        .await;
        client.shutdown().await;
        leader
    }

    /// Node `id`'s status, waiting until it answers.
    pub async fn status_of(&self, client: &ClusterClient, id: NodeId) -> NodeStatus {
        wait_until(&format!("node {id} to answer"), || async { client.status_of(id).await.ok() }).await
    }

    /// Adds running node `id` as a learner, waits until it has caught up, and promotes it.
    pub async fn join(&self, id: NodeId) {
        let client = self.client().await;
        self.add_learner_with(&client, id).await;
        self.wait_caught_up(&client, id).await;
        client.admin(&AdminCommand::Promote { id }).await.unwrap();
        client.shutdown().await;
    }

    /// Adds running node `id` as a learner, without waiting for it to catch up.
    pub async fn add_learner(&self, id: NodeId) {
        let client = self.client().await;
        self.add_learner_with(&client, id).await;
        client.shutdown().await;
    }

    async fn add_learner_with(&self, client: &ClusterClient, id: NodeId) {
        let node = &self.nodes[&id];
        let addr = NodeAddr { raft_addr: node.advertise.to_string(), api_addr: node.api_listen.to_string() };
        client.admin(&AdminCommand::AddLearner { id, addr }).await.unwrap();
    }

    /// Waits until node `id` has applied everything the leader had applied when the wait began.
    pub async fn wait_caught_up(&self, client: &ClusterClient, id: NodeId) {
        self.wait_caught_up_within(client, id, PATIENCE).await
    }

    /// [`ProcessCluster::wait_caught_up`], for up to `patience` (a snapshot of gigabytes).
    pub async fn wait_caught_up_within(&self, client: &ClusterClient, id: NodeId, patience: Duration) {
        let leader = self.wait_for_leader().await;
        let target = self.status_of(client, leader).await.applied_index;
        wait_until_within(&format!("node {id} to catch up to {target:?}"), patience, || async {
            let status = client.status_of(id).await.ok()?;
            (status.applied_index >= target).then_some(())
        })
        .await;
    }

    /// The contents of node `id`'s log, for failure messages.
    pub fn log_of(&self, id: NodeId) -> String {
        std::fs::read_to_string(&self.nodes[&id].log).unwrap_or_default()
    }

    /// The folder of node `id`'s data.
    pub fn data_dir(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("node{id}"))
    }

    /// The cluster folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        // The fields, and with them any network in `settings.hosts`, are dropped after this:
        // once no process is left in its namespaces.
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            // Keep what the nodes said: the one clue to a failure in CI.
            for node in self.nodes.values() {
                let log = std::fs::read_to_string(&node.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- node {} log (last 40 lines) ----", node.id);
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// The host index of node `id`: the last octet of its address.
fn host_index(id: NodeId) -> u8 {
    u8::try_from(id)
        .ok()
        .filter(|&i| i > 0 && i < 254)
        .unwrap_or_else(|| panic!("node {id} cannot have a host: ids 1..=253 can"))
}

/// Polls `check` until it gives `Some`, for up to [`PATIENCE`]; panics naming `what`.
pub async fn wait_until<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_until_within(what, PATIENCE, check).await
}

/// [`wait_until`], giving up after `patience`.
pub async fn wait_until_within<T, F, Fut>(what: &str, patience: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < give_up, "gave up waiting for {what} after {patience:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates users `w<writer>-<i>` through `client` until `stop` is set; returns the names whose
/// creation was acknowledged. A write that fails (its node died under it) is simply not
/// acknowledged; the next one goes through whichever node answers.
pub async fn write_until_stopped(
    client: std::sync::Arc<ClusterClient>,
    writer: u128,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<String> {
    let mut acknowledged = Vec::new();
    let mut i = 0u128;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        i += 1;
        let name = format!("w{writer}-{i}");
        if let Ok(response) = client.write(create_user(writer << 64 | i, &name)).await {
            assert!(created(&response), "{response:?}");
            acknowledged.push(name);
        }
    }
    acknowledged
}

/// A `CreateUser` request with id `id` for user `name`.
pub fn create_user(id: u128, name: &str) -> Request {
    Request { id: RequestId(id), time_ms: 1_000, command: Cmd::CreateUser { name: name.to_owned() } }
}

/// Whether a response says a user was created.
pub fn created(response: &Response) -> bool {
    matches!(response, Response::UserCreated { .. })
}

/// `GET path` from an HTTP/1.1 server at `addr`; the response body (panics on a non-200).
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
