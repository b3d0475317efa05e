//! The nemesis: strikes the cluster on the seeded [`schedule`], one fault at a time, heals each
//! after its time, and records both in the history (process [`NEMESIS`]).
//!
//! - [`schedule`]: which fault strikes when, from the seed;
//! - [`disk`]: rotting a stopped node's shard files;
//! - [`drain`]: a node drained and removed as an operator does it.

pub mod disk;
pub mod drain;
pub mod schedule;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_raft::NodeId;
use tokio::sync::Mutex;

pub use schedule::{Nemesis, Pacing, Strike, parse_list, schedule};

use crate::cluster::ChaosCluster;
use crate::history::{NEMESIS, Op, Outcome, Recorder};
use crate::proxy::{ClientFaults, LinkFaults};
use crate::workload::UserClient;

/// A fault in force, and what healing it takes.
enum Active {
    /// Proxy faults: healed by clearing them.
    Network,
    /// A killed node, to restart.
    Killed(NodeId),
    /// A paused node, to continue.
    Paused(NodeId),
    /// A node restarted with a full disk, to restart with its space back.
    Full(NodeId),
    /// Nothing to undo (a corruption, a membership change or a drain: the cluster must cope).
    Done,
}

/// Runs `strikes` against `cluster` from `start` until `end`, recording into `recorder`; renews
/// `users`' clients after membership changes. Returns with every fault healed. Waiting for
/// repair delays the schedule; strikes that would begin after `end`, when the workload has
/// stopped, are dropped.
pub async fn run(
    cluster: Arc<Mutex<ChaosCluster>>,
    strikes: Vec<Strike>,
    recorder: Arc<Recorder>,
    users: Vec<Arc<UserClient>>,
    start: Instant,
    end: Instant,
) {
    for strike in strikes {
        tokio::time::sleep_until((start + strike.at).into()).await;
        if Instant::now() >= end {
            break;
        }
        if strike.nemesis.destroys_data() && !ready_for_loss(&cluster, &recorder, strike.nemesis).await {
            continue;
        }
        let active = {
            let mut guard = cluster.lock().await;
            let active = strike_once(&mut guard, &strike, &recorder).await;
            if strike.nemesis.changes_membership() {
                for user in &users {
                    user.renew(&guard);
                }
            }
            active
        };
        tokio::time::sleep(strike.lasts).await;
        heal(&mut *cluster.lock().await, active, &recorder);
    }
}

/// How long a destructive fault waits for the damage of the last one to be repaired.
const REPAIR_WAIT: Duration = Duration::from_secs(120);

/// Whether every block is whole — rot found by a scrub pass and repaired (see
/// [`crate::health`]) — so one more lost shard per block stays within what the code tolerates:
/// striking again before repair finished would test two simultaneous failures against a code
/// built for one (2+1), and lose data by design. Waits up to [`REPAIR_WAIT`];
/// a strike that finds repair still under way is recorded as skipped.
async fn ready_for_loss(cluster: &Mutex<ChaosCluster>, recorder: &Recorder, nemesis: Nemesis) -> bool {
    let (operator, members) = {
        let cluster = cluster.lock().await;
        (cluster.operator().await, cluster.members().into_iter().collect())
    };
    let whole = crate::health::wait_whole(&operator, &members, REPAIR_WAIT).await;
    operator.shutdown().await;
    if let Err(e) = whole {
        let op = Op::Fault { what: format!("skip {nemesis}: the last damage is not repaired yet ({e})") };
        recorder.invoke(NEMESIS, &op);
        recorder.ok(NEMESIS, &op, Outcome::Applied);
        return false;
    }
    true
}

/// The member a draw picks among the running ones.
fn pick(cluster: &ChaosCluster, draw: u64) -> NodeId {
    let members: Vec<NodeId> =
        cluster.members().into_iter().filter(|id| cluster.nodes.is_running(*id)).collect();
    members[(draw % members.len() as u64) as usize]
}

async fn strike_once(cluster: &mut ChaosCluster, s: &Strike, recorder: &Recorder) -> Active {
    let node = pick(cluster, s.pick);
    let members = cluster.members();
    let (what, active) = match s.nemesis {
        Nemesis::Partition => {
            // A minority cut off: one node, or two of five.
            let cut = if members.len() >= 5 && s.amount >= 0.5 { 2 } else { 1 };
            let at = members.iter().position(|id| *id == node).unwrap_or(0);
            let minority: Vec<NodeId> = (0..cut).map(|i| members[(at + i) % members.len()]).collect();
            let majority: Vec<NodeId> = members.iter().copied().filter(|id| !minority.contains(id)).collect();
            cluster.faults.partition(&[minority.clone(), majority.clone()]);
            (format!("partition {minority:?} | {majority:?}"), Active::Network)
        }
        Nemesis::OneWay => {
            let others: Vec<NodeId> = members.iter().copied().filter(|id| *id != node).collect();
            let to = others[(s.other % others.len() as u64) as usize];
            cluster.faults.block_one_way(node, to);
            (format!("drop packets {node} -> {to}"), Active::Network)
        }
        Nemesis::Lossy => {
            let faults = LinkFaults {
                drop: 0.02 + 0.2 * s.amount,
                delay: Duration::from_millis(5 + (s.amount * 60.0) as u64),
                jitter: Duration::from_millis(20),
                duplicate: 0.05,
                ..LinkFaults::default()
            };
            let what = format!(
                "lossy links: drop {:.0}%, delay {:?} ± {:?}, duplicate 5%",
                faults.drop * 100.0,
                faults.delay,
                faults.jitter
            );
            cluster.faults.degrade_all(faults);
            (what, Active::Network)
        }
        Nemesis::Clients => {
            let blocked = s.amount < 0.5;
            let delay = if blocked { Duration::ZERO } else { Duration::from_millis(300) };
            cluster.faults.set_client(node, ClientFaults { blocked, delay });
            let what = if blocked {
                format!("clients cut off from {node}")
            } else {
                format!("clients slow to {node}")
            };
            (what, Active::Network)
        }
        Nemesis::Kill => {
            cluster.nodes.kill(node);
            (format!("kill -9 {node}"), Active::Killed(node))
        }
        Nemesis::Pause => {
            cluster.nodes.pause(node, true);
            (format!("SIGSTOP {node}"), Active::Paused(node))
        }
        Nemesis::Corrupt => {
            cluster.nodes.kill(node);
            let flipped = disk::rot_shards(&cluster.nodes.data_dir(node), s.other);
            cluster.nodes.start_node(node);
            (format!("corrupt shards of {node}: {flipped}"), Active::Done)
        }
        Nemesis::DiskFull => {
            cluster.nodes.kill(node);
            cluster.nodes.set_node_storage(node, "capacity_bytes = 1");
            cluster.nodes.start_node(node);
            (format!("disk of {node} full"), Active::Full(node))
        }
        Nemesis::Membership => {
            let added = cluster.add_member().await;
            let old: Vec<NodeId> =
                members.iter().copied().filter(|id| cluster.nodes.is_running(*id)).collect();
            let gone = old[(s.other % old.len() as u64) as usize];
            // Abrupt, as `member remove --force` of a node that died: its shards are gone
            // until repair rebuilds them, which is why this nemesis waits for a whole cluster.
            match cluster.remove_member(gone).await {
                Ok(()) => (format!("add node {added}, remove node {gone} undrained"), Active::Done),
                Err(e) => (format!("add node {added}; {e}"), Active::Done),
            }
        }
        Nemesis::Drain => {
            // Several steps, each recorded as it ends: a drain takes long, and may fail.
            drain::strike(cluster, s.other, recorder).await;
            return Active::Done;
        }
    };
    applied(recorder, what);
    active
}

/// Logs and records `what` as a fault the nemesis applied.
fn applied(recorder: &Recorder, what: String) {
    tracing::info!("nemesis: {what}");
    let op = Op::Fault { what };
    recorder.invoke(NEMESIS, &op);
    recorder.ok(NEMESIS, &op, Outcome::Applied);
}

fn heal(cluster: &mut ChaosCluster, active: Active, recorder: &Recorder) {
    let what = match active {
        Active::Network => {
            cluster.faults.heal();
            cluster.faults.heal_clients();
            "heal the network".to_owned()
        }
        Active::Killed(node) => {
            cluster.nodes.start_node(node);
            format!("restart {node}")
        }
        Active::Paused(node) => {
            cluster.nodes.pause(node, false);
            format!("SIGCONT {node}")
        }
        Active::Full(node) => {
            cluster.nodes.kill(node);
            cluster.nodes.set_node_storage(node, "");
            cluster.nodes.start_node(node);
            format!("disk of {node} has room again")
        }
        Active::Done => return,
    };
    applied(recorder, what);
}
