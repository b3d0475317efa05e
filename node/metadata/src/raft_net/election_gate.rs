//! When this node may stand for election.
//!
//! openraft 0.9 has no pre-vote. A follower that stands cannot win while its log is behind the
//! others', but its higher term still reaches the leader, which steps down: the cluster has no
//! leader for an election round, and whatever the leader was sending starts over. Two moments
//! make a follower stand although its leader is alive:
//!
//! - **While it receives a snapshot.** openraft takes a snapshot's chunks for no heartbeat, and
//!   the leader sends the follower nothing else meanwhile, so a transfer longer than the
//!   election timeout ends in an election, and the transfer starts over, for ever. The
//!   ten-million-file benchmark's restarted follower did this until the benchmark gave up.
//! - **Just after it starts.** It has heard no leader yet, and the leader, whose replication to
//!   a node that was down backs off, may reach it later than its election timeout.
//!
//! The gate holds this node's candidacy off (openraft's `elect` switch; it still votes for
//! others) in both cases, for a bounded time, so a node whose leader really died still stands.
//! A single voter is never held: it has no one to disrupt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_raft::TypeConfig;
use openraft::Raft;
use parking_lot::Mutex;

/// How long the gate holds elections off.
#[derive(Clone, Copy, Debug)]
pub struct GateTimes {
    /// After the start, until the first AppendEntries or snapshot chunk arrives.
    pub after_start: Duration,
    /// After each snapshot chunk, until the last one has been installed.
    pub after_chunk: Duration,
    /// How often the gate looks again (the heartbeat interval).
    pub tick: Duration,
}

/// This node's election switch, held off at the start and while a snapshot comes in.
pub struct ElectionGate {
    raft: Raft<TypeConfig>,
    times: GateTimes,
    started: Instant,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// A leader has sent something since the start.
    leader: bool,
    /// When the last chunk of a snapshot still being received arrived.
    chunk: Option<Instant>,
}

impl Seen {
    /// Whether a node that `started` and has seen this may stand for election at `now`.
    fn open(&self, times: &GateTimes, started: Instant, now: Instant) -> bool {
        let starting = !self.leader && now < started + times.after_start;
        let receiving = self.chunk.is_some_and(|at| now < at + times.after_chunk);
        !(starting || receiving)
    }
}

impl ElectionGate {
    /// Holds `raft`'s elections off from now, and lets them go as [`GateTimes`] says.
    pub fn start(raft: Raft<TypeConfig>, times: GateTimes) -> Arc<Self> {
        raft.runtime_config().elect(false);
        let gate = Arc::new(Self { raft, times, started: Instant::now(), seen: Mutex::default() });
        tokio::spawn(gate.clone().run());
        gate
    }

    /// An AppendEntries came in: a leader is alive and reaches this node.
    pub fn heard_leader(&self) {
        self.seen.lock().leader = true;
    }

    /// A snapshot chunk came in; `last` if it completed the snapshot.
    pub fn snapshot_chunk(&self, last: bool) {
        let mut seen = self.seen.lock();
        seen.leader = true;
        seen.chunk = (!last).then(Instant::now);
    }

    async fn run(self: Arc<Self>) {
        let mut open = false;
        loop {
            let metrics = self.raft.metrics().borrow().clone();
            if metrics.running_state.is_err() {
                return;
            }
            let alone = metrics.membership_config.membership().voter_ids().count() <= 1;
            let now_open = alone || self.seen.lock().open(&self.times, self.started, Instant::now());
            if now_open != open {
                self.raft.runtime_config().elect(now_open);
                tracing::debug!(open = now_open, "election switch");
                open = now_open;
            }
            tokio::time::sleep(self.times.tick).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMES: GateTimes = GateTimes {
        after_start: Duration::from_secs(2),
        after_chunk: Duration::from_secs(10),
        tick: Duration::from_millis(100),
    };

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn held_at_the_start_until_a_leader_is_heard_or_the_wait_ends() {
        let t0 = Instant::now();
        let mut seen = Seen::default();
        assert!(!seen.open(&TIMES, t0, at(t0, 500)));
        assert!(seen.open(&TIMES, t0, at(t0, 2_500)), "a node whose leader died still stands");
        seen.leader = true;
        assert!(seen.open(&TIMES, t0, at(t0, 500)));
    }

    #[test]
    fn held_while_a_snapshot_comes_in_and_not_for_ever() {
        let t0 = Instant::now();
        let mut seen = Seen { leader: true, chunk: Some(at(t0, 5_000)) };
        assert!(!seen.open(&TIMES, t0, at(t0, 14_000)));
        assert!(seen.open(&TIMES, t0, at(t0, 15_500)), "the leader died mid-transfer");
        seen.chunk = None;
        assert!(seen.open(&TIMES, t0, at(t0, 6_000)), "the last chunk lets go");
    }
}
