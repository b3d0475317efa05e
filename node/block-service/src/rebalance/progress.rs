//! What the leader's mover reports: the shards left at the current scan, counted down as they
//! move, and the totals since it began to lead. Read by `cairn-node status`, `member drain`
//! and Prometheus.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_raft::NodeId;
use parking_lot::Mutex;

use crate::messages::{NodeLeft, RebalanceReport};

/// The live report, shared by the mover and whoever asks.
#[derive(Debug, Default)]
pub struct RebalanceProgress {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    report: RebalanceReport,
    /// Shards and bytes left to move off each node.
    leaving: BTreeMap<NodeId, (u64, u64)>,
    /// Blocks that wait for repair, at the last count.
    awaiting_repair: u64,
    /// When a count was last logged at info.
    logged: Option<Instant>,
}

/// What one counting pass found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Shards and bytes to move off each node.
    pub leaving: BTreeMap<NodeId, (u64, u64)>,
    /// Blocks that should move but cannot.
    pub stuck: u64,
    /// Blocks that wait for repair before they can move (see [`Plan::AwaitRepair`]).
    ///
    /// [`Plan::AwaitRepair`]: super::plan::Plan::AwaitRepair
    pub awaiting_repair: u64,
}

impl Tally {
    /// Counts one shard of `bytes` to move off `node`.
    pub fn add(&mut self, node: NodeId, bytes: u64) {
        let entry = self.leaving.entry(node).or_default();
        entry.0 += 1;
        entry.1 += bytes;
    }
}

impl RebalanceProgress {
    /// The report now.
    pub fn report(&self) -> RebalanceReport {
        let state = self.state.lock();
        let mut report = state.report.clone();
        report.leaving = state
            .leaving
            .iter()
            .filter(|(_, (shards, _))| *shards > 0)
            .map(|(&node, &(shards, bytes))| NodeLeft { node, shards, bytes })
            .collect();
        report.shards_left = report.leaving.iter().map(|l| l.shards).sum();
        report.bytes_left = report.leaving.iter().map(|l| l.bytes).sum();
        report
    }

    /// This node began or stopped leading: the counts start over.
    pub fn set_leading(&self, leading: bool) {
        let mut state = self.state.lock();
        if state.report.leading != leading {
            *state = State::default();
            state.report.leading = leading;
        }
    }

    /// A counting pass is done: what it found is what is left.
    pub fn begin_scan(&self, tally: Tally) {
        let mut state = self.state.lock();
        state.report.blocks_stuck = tally.stuck;
        state.leaving = tally.leaving;
        state.awaiting_repair = tally.awaiting_repair;
    }

    /// Blocks that wait for repair before they can move, at the last count.
    pub fn awaiting_repair(&self) -> u64 {
        self.state.lock().awaiting_repair
    }

    /// Whether a count is due to be logged at info: at most once every `every`.
    pub fn log_due(&self, every: Duration) -> bool {
        let mut state = self.state.lock();
        let due = state.logged.is_none_or(|at| at.elapsed() >= every);
        if due {
            state.logged = Some(Instant::now());
        }
        due
    }

    /// A scan is done.
    pub fn end_scan(&self) {
        self.state.lock().report.scans += 1;
    }

    /// A shard of `bytes` moved off `node`.
    pub fn moved(&self, node: NodeId, bytes: u64) {
        let mut state = self.state.lock();
        state.report.moved_shards += 1;
        state.report.moved_bytes += bytes;
        if let Some((shards, left)) = state.leaving.get_mut(&node) {
            *shards = shards.saturating_sub(1);
            *left = left.saturating_sub(bytes);
        }
    }

    /// A block's move failed.
    pub fn failed(&self) {
        self.state.lock().report.failures += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_count_down_what_the_scan_found_and_leadership_starts_over() {
        let progress = RebalanceProgress::default();
        progress.set_leading(true);
        let mut tally = Tally::default();
        tally.add(3, 100);
        tally.add(3, 100);
        tally.add(1, 50);
        progress.begin_scan(tally);
        progress.moved(3, 100);
        let report = progress.report();
        assert_eq!((report.shards_left, report.bytes_left, report.moved_bytes), (2, 150, 100));
        progress.moved(1, 50);
        assert_eq!(progress.report().leaving, vec![NodeLeft { node: 3, shards: 1, bytes: 100 }]);
        progress.set_leading(false);
        assert_eq!(progress.report(), RebalanceReport::default());
    }
}
