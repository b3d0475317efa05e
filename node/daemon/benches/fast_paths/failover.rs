//! The failover row: writers make folders without pause while the leader is killed (`kill -9`),
//! and the longest pause between acknowledged writes around each kill is what a user of the
//! cluster would have seen as its outage.
//!
//! Each writer holds one SDK client per node, starting at its own node, and makes one attempt
//! per call (`retry_for` zero): on any failure it moves to the next node at once, and pauses
//! 20 ms only once every node has failed in a row. The SDK's own retry backs off up to 2 s
//! between rounds, which would add its schedule to the cluster's; this way the writers notice a
//! new leader within ~20 ms of its first commit. A call still waits out the SDK's read timeout
//! (30 s) on a node that holds it without answering, as a user's call would.
//!
//! The gap of one kill: every acknowledged write has its moment (the moment its answer came
//! back); the kill's window runs from [`LEAD_IN`] before the kill to [`LEAD_OUT`] after the
//! first acknowledgement of a write that was *sent* after the kill (so a write the old leader
//! committed just before dying does not count as recovery); the gap is the longest interval
//! between consecutive acknowledgements, over all writers, inside that window. Then the killed
//! node is started again and the next kill waits until it has caught up with the leader.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_client::{Client, ClientConfig};
use cairn_raft::NodeId;
use cairn_test_cluster::{PATIENCE, ProcessCluster};

/// Steady writing before each kill, which opens its window.
const LEAD_IN: Duration = Duration::from_secs(1);
/// Writing after the cluster has recovered, which closes the window: a second stall soon
/// after the first (a leader that steps down again) is seen.
const LEAD_OUT: Duration = Duration::from_secs(1);
/// A writer's pause once every node has failed it in a row.
const ROUND_PAUSE: Duration = Duration::from_millis(20);

/// What one kill measured.
#[derive(Clone, Debug)]
pub struct Kill {
    /// The leader that was killed.
    pub leader: NodeId,
    /// The leader after it.
    pub new_leader: NodeId,
    /// The longest interval between acknowledged writes in the kill's window.
    pub gap: Duration,
    /// From the kill to the first acknowledgement of a write sent after it.
    pub first_ack: Duration,
    /// Failed attempts in the window, over all writers.
    pub errors: u64,
    /// From restarting the killed node until it had caught up.
    pub caught_up: Duration,
    /// The election as the survivors logged it, in ms after the kill: who stood, who refused
    /// and why, who won.
    pub election: String,
}

/// Every acknowledged write, as (sent, acknowledged).
type Acks = Arc<Mutex<Vec<(Instant, Instant)>>>;

/// Runs `writers` writers over `nodes` while killing the leader `kills` times; calls `each` with
/// every kill's numbers as it is measured. The cluster has all its nodes running again when
/// this returns.
pub async fn kill_leaders(
    cluster: &mut ProcessCluster,
    nodes: &[String],
    ca_pem: &str,
    token: &str,
    writers: usize,
    kills: usize,
    mut each: impl FnMut(usize, &Kill),
) -> Vec<Kill> {
    let acks: Acks = Arc::default();
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let clients: Vec<Client> = (0..nodes.len())
            .map(|n| {
                let mut config = ClientConfig::new(vec![nodes[(w + n) % nodes.len()].clone()], token);
                config.ca_pem = Some(ca_pem.to_owned());
                config.retry_for = Duration::ZERO;
                Client::new(config).unwrap()
            })
            .collect();
        // Its folder, and a connection to its first node, before the clock matters.
        clients[0].make_folder(&format!("/failover/w{w}"), None).await.unwrap();
        tasks.push(tokio::spawn(write(w, clients, acks.clone(), errors.clone(), stop.clone())));
    }

    let mut measured = Vec::with_capacity(kills);
    for k in 0..kills {
        let leader = cluster.wait_for_leader().await;
        let before = acks.lock().unwrap().len();
        tokio::time::sleep(LEAD_IN).await;
        assert!(acks.lock().unwrap().len() > before, "no write was acknowledged before kill {k}");
        let errors_before = errors.load(Ordering::Relaxed);
        let survivors: Vec<NodeId> = cluster.running().into_iter().filter(|&id| id != leader).collect();
        let log_from: Vec<usize> = survivors.iter().map(|&id| cluster.log_of(id).len()).collect();
        let killed_wall = seconds_of_day(SystemTime::now());
        let killed_at = Instant::now();
        cluster.kill(leader);
        let recovered = wait_for_ack_sent_after(&acks, killed_at).await;
        tokio::time::sleep(LEAD_OUT).await;
        let gap = longest_gap(&acks.lock().unwrap(), killed_at - LEAD_IN, Instant::now());
        let errors = errors.load(Ordering::Relaxed) - errors_before;
        let new_leader = cluster.wait_for_leader().await;
        let logs: Vec<(NodeId, String)> = survivors
            .iter()
            .zip(&log_from)
            .map(|(&id, &from)| (id, cluster.log_of(id)[from..].to_owned()))
            .collect();
        let election = election_stages(&logs, killed_wall);

        let restarted = Instant::now();
        cluster.start_node(leader);
        let client = cluster.client().await;
        cluster.wait_caught_up(&client, leader).await;
        client.shutdown().await;
        let kill = Kill {
            leader,
            new_leader,
            gap,
            first_ack: recovered - killed_at,
            errors,
            caught_up: restarted.elapsed(),
            election,
        };
        each(k, &kill);
        measured.push(kill);
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    measured
}

/// Writer `w`: makes folders `/failover/wW/N` until `stop`, through `clients` (one per node).
async fn write(w: usize, clients: Vec<Client>, acks: Acks, errors: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let (mut node, mut failed_in_row, mut i) = (0, 0, 0u64);
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let sent = Instant::now();
        match clients[node].make_folder(&format!("/failover/w{w}/{i}"), None).await {
            Ok(_) => {
                acks.lock().unwrap().push((sent, Instant::now()));
                failed_in_row = 0;
            }
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                node = (node + 1) % clients.len();
                failed_in_row += 1;
                if failed_in_row >= clients.len() {
                    failed_in_row = 0;
                    tokio::time::sleep(ROUND_PAUSE).await;
                }
            }
        }
    }
}

/// Waits until a write sent after `since` has been acknowledged; returns when it was.
async fn wait_for_ack_sent_after(acks: &Acks, since: Instant) -> Instant {
    let give_up = Instant::now() + PATIENCE;
    loop {
        let found =
            acks.lock().unwrap().iter().rev().filter(|(sent, _)| *sent >= since).map(|(_, at)| *at).min();
        if let Some(at) = found {
            return at;
        }
        assert!(
            Instant::now() < give_up,
            "no write sent after the kill was acknowledged within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The longest interval between consecutive acknowledgements of `acks` that fall in
/// `from..=to`.
fn longest_gap(acks: &[(Instant, Instant)], from: Instant, to: Instant) -> Duration {
    let mut moments: Vec<Instant> =
        acks.iter().map(|(_, at)| *at).filter(|at| (from..=to).contains(at)).collect();
    moments.sort();
    moments.windows(2).map(|pair| pair[1] - pair[0]).max().unwrap_or(to - from)
}

/// The election steps openraft logs (at `info`) in `logs`, each node's log since the kill, as
/// `"n2 stands 812, n3 refuses n2 (log) 815, n3 stands 1120, n3 wins 1128"`: ms after the kill,
/// read off the lines' UTC time of day. Refusals say why: the voter's lease on the old leader
/// had not run out, or the candidate's log was behind the voter's.
fn election_stages(logs: &[(NodeId, String)], killed: f64) -> String {
    let mut steps: Vec<(f64, String)> = Vec::new();
    for (id, log) in logs {
        for line in log.lines() {
            let Some(at) = line.get(11..26).and_then(time_of_day) else { continue };
            let after = (at - killed) * 1000.0;
            let what = if line.contains("new candidate:") {
                format!("n{id} stands")
            } else if line.contains("reject vote-request: leader lease") {
                format!("n{id} refuses (lease)")
            } else if line.contains("reject vote-request: by last_log_id") {
                format!("n{id} refuses (log)")
            } else if line.contains("a quorum granted my vote") {
                format!("n{id} wins")
            } else {
                continue;
            };
            steps.push((after, what));
        }
    }
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let steps: Vec<String> = steps.iter().map(|(after, what)| format!("{what} {after:.0}")).collect();
    if steps.is_empty() { "no election logged".into() } else { steps.join(", ") }
}

/// Seconds since midnight UTC of `at`.
fn seconds_of_day(at: SystemTime) -> f64 {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs() % 86_400) as f64 + f64::from(since.subsec_nanos()) / 1e9
}

/// Seconds since midnight of a log line's `HH:MM:SS.ffffff`.
fn time_of_day(text: &str) -> Option<f64> {
    let mut parts = text.splitn(3, ':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    Some(hours * 3600.0 + minutes * 60.0 + seconds)
}
