//! A rolling upgrade under a steady client load: every node of a 3-process cluster in turn is
//! stopped with SIGTERM, started again on the same config and data as the new release, and
//! waited for (caught up, marked up, every block back at full redundancy) before the next; the
//! leader is restarted deliberately too. The nodes start as the previous release would say it
//! is (they run at cluster version 1 at most), so the cluster stays at version 1, refuses what
//! needs version 2 (`member drain`), and refuses `upgrade finalize` while one old node is left;
//! once the last one is upgraded, the leader raises the version by itself. Meanwhile SDK clients, each configured
//! with every node's address as a user would, upload small and multi-block files, overwrite,
//! read back, rename and delete. Not one SDK call may fail (failing over is the SDK's job), and
//! every acknowledged write is listed and reads back byte for byte from every node.
//!
//! The seed of the load is printed; `CAIRN_SEED=<n>` runs the same load again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cairn_client::api::DownloadOptions;
use cairn_client::upload::PutOptions;
use cairn_client::{Client, ClientConfig, ClientError};
use cairn_metadata::upgrade::NEWEST_OVERRIDE_VAR;
use cairn_node::ClusterClient;
use cairn_proto::sample_data::{random, text};
use cairn_raft::NodeId;
use cairn_raft::model::cluster::NodeState;
use cairn_raft::model::version::CURRENT;
use cairn_raft::model::{Answer, Query};
use cairn_test_cluster::{ProcessCluster, Settings, wait_until};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Mutex;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
/// Concurrent SDK clients, each of a user of its own and starting at a different node.
const CLIENTS: usize = 3;
/// Operations every client completes before the first restart and after each one, so the
/// load is seen running across every restart.
const OPS_BETWEEN_RESTARTS: u64 = 4;

/// What the load did, for the numbers the test prints.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    uploads: u64,
    large_uploads: u64,
    reads: u64,
    renames: u64,
    deletes: u64,
    bytes_up: u64,
    bytes_down: u64,
    /// HTTP requests the SDK made, and attempts it repeated (on the same node or another).
    requests: u64,
    retries: u64,
}

impl Tally {
    fn ops(&self) -> u64 {
        self.uploads + self.reads + self.renames + self.deletes
    }

    fn add(&mut self, other: &Tally) {
        self.uploads += other.uploads;
        self.large_uploads += other.large_uploads;
        self.reads += other.reads;
        self.renames += other.renames;
        self.deletes += other.deletes;
        self.bytes_up += other.bytes_up;
        self.bytes_down += other.bytes_down;
        self.requests += other.requests;
        self.retries += other.retries;
    }
}

/// An SDK call that returned an error (or, for a read, the wrong bytes).
#[derive(Debug)]
struct Failure {
    client: usize,
    /// Since the load began, to set beside the restarts' times.
    at: Duration,
    op: String,
    error: String,
}

/// One client of the load: its own user and folder, and what it knows the folder holds.
struct Worker {
    id: usize,
    client: Client,
    folder: String,
    rng: StdRng,
    /// Every file whose last write was acknowledged, with its content.
    files: BTreeMap<String, Vec<u8>>,
    /// Names touched by a failed call: whether it took effect is unknown, so the final check
    /// neither expects nor forbids them (the failure itself already fails the test).
    uncertain: BTreeSet<String>,
    next_name: u64,
    tally: Tally,
    failures: Vec<Failure>,
    began: Instant,
    /// Operations completed by every worker, for the orchestrator to see the load move.
    done: Arc<AtomicU64>,
}

impl Worker {
    /// Runs operations until `stop` is set; the one under way when it is set is finished.
    async fn run(mut self, stop: Arc<AtomicBool>) -> Self {
        while !stop.load(Ordering::Relaxed) {
            self.step().await;
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        let counters = self.client.counters().snapshot();
        (self.tally.requests, self.tally.retries) = (counters.requests, counters.retries);
        self
    }

    /// One operation, drawn from a mix that is mostly uploads and reads.
    async fn step(&mut self) {
        let roll = self.rng.random_range(0..100);
        let existing = self.pick();
        match (roll, existing) {
            (0..3, _) => {
                let len = self.rng.random_range(2 * MIB..5 * MIB);
                let content = random(len, self.rng.random());
                let path = self.new_path();
                self.tally.large_uploads += 1;
                self.upload(path, content).await;
            }
            (3..15, Some(path)) => {
                let content = self.small_content();
                self.upload(path, content).await;
            }
            (15..45, Some(path)) => self.read(path).await,
            (45..53, Some(path)) => self.rename(path).await,
            (53..60, Some(path)) => self.delete(path).await,
            _ => {
                let content = self.small_content();
                let path = self.new_path();
                self.upload(path, content).await;
            }
        }
    }

    /// A file this client holds, at random.
    fn pick(&mut self) -> Option<String> {
        if self.files.is_empty() {
            return None;
        }
        let index = self.rng.random_range(0..self.files.len());
        self.files.keys().nth(index).cloned()
    }

    fn new_path(&mut self) -> String {
        self.next_name += 1;
        format!("{}/file-{}", self.folder, self.next_name)
    }

    /// 1 to 128 KiB of text or random bytes: one block.
    fn small_content(&mut self) -> Vec<u8> {
        let len = self.rng.random_range(KIB..128 * KIB);
        let seed = self.rng.random();
        if self.rng.random_bool(0.5) { text(len, seed) } else { random(len, seed) }
    }

    async fn upload(&mut self, path: String, content: Vec<u8>) {
        let len = content.len() as u64;
        let reader = std::io::Cursor::new(content.clone());
        match self.client.upload_reader(reader, &path, &PutOptions::default()).await {
            Ok(_) => {
                self.tally.uploads += 1;
                self.tally.bytes_up += len;
                self.files.insert(path, content);
            }
            Err(e) => {
                self.fail(format!("upload {path} ({len} bytes)"), &e);
                self.files.remove(&path);
                self.uncertain.insert(path);
            }
        }
    }

    async fn read(&mut self, path: String) {
        match read_back(&self.client, &path).await {
            Ok(got) if got == self.files[&path] => {
                self.tally.reads += 1;
                self.tally.bytes_down += got.len() as u64;
            }
            Ok(got) => {
                let error =
                    format!("{} bytes that differ from the {} written", got.len(), self.files[&path].len());
                self.failures.push(Failure {
                    client: self.id,
                    at: self.began.elapsed(),
                    op: format!("read {path}"),
                    error,
                });
            }
            Err(e) => self.fail(format!("read {path}"), &e),
        }
    }

    async fn rename(&mut self, from: String) {
        let to = self.new_path();
        match self.client.move_path(&from, &to, None).await {
            Ok(_) => {
                self.tally.renames += 1;
                let content = self.files.remove(&from).unwrap();
                self.files.insert(to, content);
            }
            Err(e) => {
                self.fail(format!("rename {from} to {to}"), &e);
                self.files.remove(&from);
                self.uncertain.extend([from, to]);
            }
        }
    }

    async fn delete(&mut self, path: String) {
        match self.client.delete(&path, None).await {
            Ok(_) => {
                self.tally.deletes += 1;
                self.files.remove(&path);
            }
            Err(e) => {
                self.fail(format!("delete {path}"), &e);
                self.files.remove(&path);
                self.uncertain.insert(path);
            }
        }
    }

    fn fail(&mut self, op: String, error: &ClientError) {
        let at = self.began.elapsed();
        println!("client {} at {at:?}: {op} failed: {error}", self.id);
        self.failures.push(Failure { client: self.id, at, op, error: error.to_string() });
    }
}

/// The head version of `path`, downloaded through `client` and checked by the SDK.
async fn read_back(client: &Client, path: &str) -> Result<Vec<u8>, ClientError> {
    let manifest = client.manifest(path, &DownloadOptions::default()).await?;
    let mut content = Vec::with_capacity(manifest.size as usize);
    client.download_into(&manifest, None, &mut content, None).await?;
    Ok(content)
}

/// An SDK client of `nodes` (`http://host:port`, in the order tried) as user `token`.
fn sdk(nodes: Vec<String>, token: &str) -> Client {
    Client::new(ClientConfig::new(nodes, token)).unwrap()
}

/// How long each phase of one node's restart took.
#[derive(Debug)]
struct Restart {
    node: NodeId,
    was_leader: bool,
    /// SIGTERM until the process exited.
    stop: Duration,
    /// Started again until it had applied what the leader had.
    catch_up: Duration,
    /// Caught up until every node was marked up and every block fully redundant again.
    healthy: Duration,
    /// Operations the load completed from the SIGTERM until the node was healthy again.
    ops_during: u64,
    /// Who led once it was healthy again: a leader back within the election timeout may
    /// still lead, in the same term.
    leader_after: NodeId,
}

impl Restart {
    fn total(&self) -> Duration {
        self.stop + self.catch_up + self.healthy
    }
}

/// Restarts node `id` as an operator does: SIGTERM, wait for the process to exit, start it on
/// the same config and data, wait until it has caught up, the leader sees it up, and repair has
/// given back every shard a block was written without while it was away; only then is the
/// cluster ready to lose another node.
async fn restart(
    cluster: &mut ProcessCluster,
    operator: &ClusterClient,
    id: NodeId,
    done: &AtomicU64,
) -> Restart {
    let was_leader = cluster.wait_for_leader().await == id;
    let ops_before = done.load(Ordering::Relaxed);
    let began = Instant::now();
    let exit = cluster.stop(id).await;
    let stop = began.elapsed();
    assert!(exit.success(), "node {id} exited with {exit} after SIGTERM:\n{}", cluster.log_of(id));
    // It comes back as the new release.
    cluster.nodes.get_mut(&id).unwrap().env.remove(NEWEST_OVERRIDE_VAR);
    cluster.start_node(id);
    let started = Instant::now();
    cluster.wait_caught_up(operator, id).await;
    let catch_up = started.elapsed();
    let caught_up = Instant::now();
    wait_until(&format!("every node marked up after node {id}'s restart"), || async {
        let Answer::ClusterMap(map) = operator.query(&Query::ClusterMap).await.ok()? else { return None };
        map.nodes.iter().all(|n| n.state == NodeState::Active).then_some(())
    })
    .await;
    wait_for_full_redundancy(cluster, operator).await;
    let leader_after = cluster.wait_for_leader().await;
    let healthy = caught_up.elapsed();
    let ops_during = done.load(Ordering::Relaxed) - ops_before;
    Restart { node: id, was_leader, stop, catch_up, healthy, ops_during, leader_after }
}

/// Waits until the leader has finished two repair scans since the wait began (so the second
/// started after it) and the last found no block lacking shards. A change of leader starts
/// the count again: scans are counted by each node.
async fn wait_for_full_redundancy(cluster: &ProcessCluster, operator: &ClusterClient) {
    let baseline: Mutex<Option<(NodeId, u64)>> = Mutex::new(None);
    wait_until("every block at full redundancy", || async {
        let leader = cluster.wait_for_leader().await;
        let blocks = operator.status_of(leader).await.ok()?.blocks?;
        let mut baseline = baseline.lock().await;
        match *baseline {
            Some((node, scans)) if node == leader => {
                (blocks.repair_scans >= scans + 2 && blocks.repair_pending == 0).then_some(())
            }
            _ => {
                *baseline = Some((leader, blocks.repair_scans));
                None
            }
        }
    })
    .await;
}

/// Every worker's files, as listed and read back through node `node` alone.
async fn assert_all_there(node: NodeId, nodes: Vec<String>, workers: &[Worker], tokens: &[String]) -> u64 {
    let mut bytes = 0;
    for (worker, token) in workers.iter().zip(tokens) {
        let client = sdk(nodes.clone(), token);
        let listing = client.list_all(&worker.folder, None).await.unwrap();
        let listed: BTreeSet<String> = listing
            .children
            .iter()
            .filter(|c| c.kind == "file" && c.status.as_deref() != Some("trashed"))
            .map(|c| format!("{}/{}", worker.folder, c.name))
            .filter(|path| !worker.uncertain.contains(path))
            .collect();
        let expected: BTreeSet<String> = worker.files.keys().cloned().collect();
        assert_eq!(listed, expected, "node {node} lists client {}'s folder differently", worker.id);
        for (path, content) in &worker.files {
            let got =
                read_back(&client, path).await.unwrap_or_else(|e| panic!("node {node}: read {path}: {e}"));
            assert!(got == *content, "node {node}: {path} reads back {} bytes that differ", got.len());
            bytes += got.len() as u64;
        }
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_restarts_in_turn_under_load_and_nothing_fails_or_is_lost() {
    let seed: u64 =
        std::env::var("CAIRN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("seed {seed} (CAIRN_SEED={seed} runs this load again)");
    let started = Instant::now();
    let previous_release = [(NEWEST_OVERRIDE_VAR.to_owned(), "1".to_owned())].into();
    let mut cluster =
        ProcessCluster::start(3, Settings { env: previous_release, ..Default::default() }).await;
    let config = cluster.config_arg(1);
    let status = cluster.run_ok(&["upgrade", "status", "-c", &config]);
    assert!(status.contains("cluster version: 1"), "{status}");
    let drain = cluster.run_on(1, &["member", "drain", "-c", &config, "--id", "2"]);
    let refused = String::from_utf8_lossy(&drain.stderr);
    assert!(!drain.status.success() && refused.contains("needs cluster version 2"), "{refused}");
    let operator = cluster.client().await;
    let urls: Vec<String> = cluster.nodes.values().map(|n| format!("http://{}", n.api)).collect();
    let tokens: Vec<String> = (0..CLIENTS).map(|i| cluster.add_user(&format!("user{i}"), false)).collect();
    println!("cluster and users ready in {:?}", started.elapsed());

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    let mut load = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        // Every client knows every node, as a user's config does, but each starts at another.
        let mut nodes = urls.clone();
        nodes.rotate_left(i % urls.len());
        let client = sdk(nodes, token);
        let folder = format!("load-{i}");
        client.make_folder(&folder, None).await.unwrap();
        let worker = Worker {
            id: i,
            client,
            folder,
            rng: StdRng::seed_from_u64(seed.wrapping_add(i as u64)),
            files: BTreeMap::new(),
            uncertain: BTreeSet::new(),
            next_name: 0,
            tally: Tally::default(),
            failures: Vec::new(),
            began,
            done: done.clone(),
        };
        load.push(tokio::spawn(worker.run(stop.clone())));
    }
    let load_moves = |from: u64| {
        let done = done.clone();
        async move {
            wait_until("the load to make progress", || async {
                (done.load(Ordering::Relaxed) >= from + OPS_BETWEEN_RESTARTS * CLIENTS as u64).then_some(())
            })
            .await;
        }
    };
    load_moves(0).await;

    // A follower first, then whichever node leads by then, then the last one.
    let leader = cluster.wait_for_leader().await;
    let follower = cluster.running().into_iter().find(|&id| id != leader).unwrap();
    let mut restarts = Vec::new();
    restarts.push(restart(&mut cluster, &operator, follower, &done).await);
    load_moves(done.load(Ordering::Relaxed)).await;
    let leader = cluster.wait_for_leader().await;
    restarts.push(restart(&mut cluster, &operator, leader, &done).await);
    load_moves(done.load(Ordering::Relaxed)).await;
    let last = cluster.running().into_iter().find(|id| restarts.iter().all(|r| r.node != *id)).unwrap();
    let config = cluster.config_arg(last);
    let finalize = cluster.run_on(last, &["upgrade", "finalize", "-c", &config]);
    let held_back = String::from_utf8_lossy(&finalize.stderr);
    assert!(
        !finalize.status.success() && held_back.contains(&format!("node {last} runs release")),
        "finalize with node {last} not upgraded: {held_back}"
    );
    restarts.push(restart(&mut cluster, &operator, last, &done).await);
    load_moves(done.load(Ordering::Relaxed)).await;
    // Every node runs the new release: the leader raises the cluster version by itself.
    let upgraded = wait_until("the leader to raise the cluster version", || async {
        let out = cluster.run_on(last, &["upgrade", "status", "-c", &config]);
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        status.contains(&format!("cluster version: {CURRENT}")).then_some(status)
    })
    .await;
    println!("{upgraded}");
    let finalized = cluster.run_ok(&["upgrade", "finalize", "-c", &config]);
    assert!(finalized.contains(&format!("runs at version {CURRENT}")), "{finalized}");

    stop.store(true, Ordering::Relaxed);
    let mut workers = Vec::new();
    for task in load {
        workers.push(task.await.unwrap());
    }
    let load_time = began.elapsed();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for worker in &mut workers {
        tally.add(&worker.tally);
        failures.append(&mut worker.failures);
    }
    for r in &restarts {
        println!(
            "restart of node {}{}: stopped in {:?}, caught up in {:?}, healthy after {:?} more; \
             {:?} in all, {} operations completed meanwhile; node {} leads",
            r.node,
            if r.was_leader { " (the leader)" } else { "" },
            r.stop,
            r.catch_up,
            r.healthy,
            r.total(),
            r.ops_during,
            r.leader_after
        );
    }
    println!(
        "load: {} operations in {load_time:?} ({} uploads of which {} of 2-5 MiB, {} reads, {} renames, \
         {} deletes), {:.1} MiB up, {:.1} MiB down, {} HTTP requests of which {} retried; \
         {} restarts; {} failed",
        tally.ops(),
        tally.uploads,
        tally.large_uploads,
        tally.reads,
        tally.renames,
        tally.deletes,
        tally.bytes_up as f64 / MIB as f64,
        tally.bytes_down as f64 / MIB as f64,
        tally.requests,
        tally.retries,
        restarts.len(),
        failures.len()
    );
    assert!(restarts.iter().any(|r| r.was_leader), "the leader was never restarted: {restarts:?}");
    assert!(
        failures.is_empty(),
        "{} SDK calls failed during the rolling restart (seed {seed}):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| format!("  client {} at {:?}: {}: {}", f.client, f.at, f.op, f.error))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Every acknowledged write, from every node on its own.
    let checked = Instant::now();
    for (id, node) in &cluster.nodes {
        let bytes = assert_all_there(*id, vec![format!("http://{}", node.api)], &workers, &tokens).await;
        println!(
            "node {id} lists and serves all {} files ({:.1} MiB)",
            files(&workers),
            bytes as f64 / MIB as f64
        );
    }
    println!("checked every node in {:?}; whole test {:?}", checked.elapsed(), started.elapsed());
    operator.shutdown().await;
}

fn files(workers: &[Worker]) -> usize {
    workers.iter().map(|w| w.files.len()).sum()
}
