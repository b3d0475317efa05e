//! A run's report: `chaos-results/<test>/<time>/` with the history (`history.jsonl`, one event
//! per line), the fault schedule (`schedule.json`), every node's log (`logs/`), and
//! `results.json` — each checker's verdict, the seed, counts of ok / fail / unknown and
//! latencies by operation, the faults applied, and the first violating window.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::{Validity, Verdict};
use crate::history::{Event, NEMESIS};
use crate::history::{EventKind, Op, Operation, operations};
use crate::nemesis::{Nemesis, Strike};
use crate::proxy::ProxyStats;

/// How operations of one kind ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Completed with an answer.
    pub ok: usize,
    /// Certainly did not happen.
    pub fail: usize,
    /// May or may not have happened.
    pub unknown: usize,
}

/// Latencies of the operations of one kind that completed `ok`, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// `results.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// The test's name.
    pub test: String,
    /// The seed of the fault schedule and the workloads.
    pub seed: u64,
    /// Nodes at the start.
    pub nodes: u64,
    /// How long the workload ran (s).
    pub seconds: f64,
    /// The kinds of fault scheduled.
    pub nemeses: Vec<Nemesis>,
    /// No checker found a violation (an unknown verdict is not a violation, nor a pass).
    pub valid: bool,
    /// Every checker's verdict.
    pub verdicts: Vec<Verdict>,
    /// Operations by kind.
    pub counts: BTreeMap<String, Counts>,
    /// Latencies by kind.
    pub latencies_ms: BTreeMap<String, Latency>,
    /// The faults as applied and healed, in order.
    pub faults: Vec<String>,
    /// The first violation found: the checker and its window.
    pub first_violation: Option<String>,
    /// What the proxies did.
    pub proxies: ProxyStats,
}

/// The name of an operation's kind.
pub fn kind(op: &Op) -> &'static str {
    match op {
        Op::Commit { .. } => "commit",
        Op::Read { .. } => "read",
        Op::Delete { .. } => "delete",
        Op::Move { .. } => "move",
        Op::Journal { .. } => "journal",
        Op::Download { .. } => "download",
        Op::Fault { .. } => "fault",
    }
}

/// Counts and latencies by kind.
pub fn tally(events: &[Event]) -> (BTreeMap<String, Counts>, BTreeMap<String, Latency>) {
    let ops: Vec<Operation> = operations(events);
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for op in &ops {
        let name = kind(&op.op).to_owned();
        let c = counts.entry(name.clone()).or_default();
        match op.end {
            EventKind::Ok => {
                c.ok += 1;
                times.entry(name).or_default().push((op.completed_ns - op.invoked_ns) as f64 / 1e6);
            }
            EventKind::Fail => c.fail += 1,
            _ => c.unknown += 1,
        }
    }
    let latencies = times
        .into_iter()
        .map(|(name, mut t)| {
            t.sort_by(f64::total_cmp);
            let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
            (name, Latency { p50: at(0.5), p99: at(0.99), max: at(1.0) })
        })
        .collect();
    (counts, latencies)
}

/// The faults of a history, in order, and the nemesis operations that failed, with why.
pub fn faults(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.process == NEMESIS)
        .filter_map(|e| {
            let Op::Fault { what } = &e.op else { return None };
            let at = e.time_ns as f64 / 1e9;
            match e.kind {
                EventKind::Invoke => Some(format!("{at:>8.1}s {what}")),
                EventKind::Ok => None,
                _ => Some(format!("{at:>8.1}s FAILED: {what}: {}", e.error.as_deref().unwrap_or("?"))),
            }
        })
        .collect()
}

/// The first violation among `verdicts`, in words.
pub fn first_violation(verdicts: &[Verdict]) -> Option<String> {
    verdicts.iter().find(|v| v.validity == Validity::Invalid).map(|v| {
        let window = v.first_violation.as_ref().map_or_else(String::new, |w| {
            format!(" (history events {}..={}: {})", w.from_index, w.to_index, w.description)
        });
        format!("{}: {}{window}", v.checker, v.detail)
    })
}

/// Writes the report folder `dir`: history, schedule, results and copies of `logs`.
pub fn write(
    dir: &Path,
    events: &[Event],
    schedule: &[Strike],
    results: &Results,
    logs: &[(u64, PathBuf)],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("logs"))?;
    let mut history = std::io::BufWriter::new(std::fs::File::create(dir.join("history.jsonl"))?);
    for event in events {
        serde_json::to_writer(&mut history, event)?;
        history.write_all(b"\n")?;
    }
    history.flush()?;
    std::fs::write(dir.join("schedule.json"), serde_json::to_vec_pretty(schedule)?)?;
    std::fs::write(dir.join("results.json"), serde_json::to_vec_pretty(results)?)?;
    for (id, log) in logs {
        // A node that never started has no log; that is not the report's failure.
        let _ = std::fs::copy(log, dir.join("logs").join(format!("node{id}.log")));
    }
    Ok(())
}
