//! Generated histories: a random sequential run of the file model, spread over several
//! processes whose operations overlap in time, must check as linearizable; the same with one
//! read's answer altered must not.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::check::file_model::{FileOp, FileOutcome, FileState};
use crate::check::{Validity, check_linearizable};
use crate::history::{Event, EventKind, Op, Outcome};

/// How a generated operation ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Ok,
    /// Unknown, and it did take effect.
    UnknownApplied,
    /// Unknown, and it did not.
    UnknownNot,
    Fail,
}

/// What a generated history looks like.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    /// Operations.
    pub(super) ops: usize,
    /// Paths.
    pub(super) paths: usize,
    /// Client processes.
    pub(super) processes: u64,
    /// About this many percent of operations end unknown (half of those took effect); 5%
    /// more fail.
    pub(super) unknown_percent: u32,
    /// Moves stay within pairs of paths (0 and 1, 2 and 3, …), as the metadata workload's do,
    /// so each pair is an independent component; otherwise they go anywhere, joining all.
    pub(super) pairs: bool,
}

/// A random sequential run of the model in the given shape. Operation `i` takes effect at
/// time `100 i` in model order; its invocation and completion are spread up to
/// `50 processes` either side, so it overlaps its neighbours but never its own process's
/// previous or next operation.
pub(super) fn generate(seed: u64, shape: Shape) -> Vec<Event> {
    let Shape { ops: count, paths, processes, unknown_percent, pairs } = shape;
    let mut rng = SmallRng::seed_from_u64(seed);
    let names: Vec<String> = (0..paths).map(|p| format!("p{p}")).collect();
    let mut state = vec![FileState::Empty; paths];
    let spread = 50 * processes - 1;
    // (time, process, kind, op, outcome)
    let mut raw: Vec<(u64, u64, EventKind, Op, Option<Outcome>)> = Vec::new();
    for i in 0..count {
        let slot = rng.random_range(0..paths);
        let (file_op, op) = match rng.random_range(0..10) {
            0..=3 => {
                let base = match rng.random_range(0..4) {
                    0 => None,
                    1 => Some(rng.random_range(1..4)),
                    _ => state[slot].visible_head(),
                };
                let op = Op::Commit { path: names[slot].clone(), base, size: 1, hash: format!("h{i}") };
                (FileOp::Commit { slot, base }, op)
            }
            4..=6 => (FileOp::Read { slot }, Op::Read { path: names[slot].clone() }),
            7 => (FileOp::Delete { slot }, Op::Delete { path: names[slot].clone() }),
            _ => {
                let to = if pairs && slot ^ 1 < paths { slot ^ 1 } else { rng.random_range(0..paths) };
                (
                    FileOp::Move { from: slot, to },
                    Op::Move { from: names[slot].clone(), to: names[to].clone() },
                )
            }
        };
        let end = match rng.random_range(0..100) {
            n if n < unknown_percent / 2 => End::UnknownApplied,
            n if n < unknown_percent => End::UnknownNot,
            n if n < unknown_percent + 5 => End::Fail,
            _ => End::Ok,
        };
        let outcome = match end {
            End::Ok | End::UnknownApplied => Some(file_op.apply(&mut state)),
            End::UnknownNot | End::Fail => None,
        };
        let outcome = outcome.filter(|_| end == End::Ok).map(|o| match o {
            FileOutcome::Committed { version } => Outcome::Committed { file: slot as u64, version, seq: 0 },
            FileOutcome::Conflict { head } => Outcome::Conflict { head },
            FileOutcome::Head { version } => Outcome::Head { version },
            FileOutcome::Done => Outcome::Done,
            FileOutcome::Refused => Outcome::Refused { code: "exists".to_owned() },
        });
        let at = 100 * i as u64 + spread + 1;
        let process = i as u64 % processes;
        let kind = match end {
            End::Ok => EventKind::Ok,
            End::UnknownApplied | End::UnknownNot => EventKind::Unknown,
            End::Fail => EventKind::Fail,
        };
        raw.push((at - rng.random_range(1..=spread), process, EventKind::Invoke, op.clone(), None));
        raw.push((at + rng.random_range(1..=spread), process, kind, op, outcome));
        if i % 97 == 0 {
            let fault = Op::Fault { what: format!("kill {}", i % 3) };
            raw.push((at, crate::history::NEMESIS, EventKind::Ok, fault, Some(Outcome::Applied)));
        }
    }
    raw.sort_by_key(|e| e.0);
    raw.into_iter()
        .enumerate()
        .map(|(index, (time_ns, process, kind, op, outcome))| Event {
            index,
            time_ns,
            process,
            kind,
            op,
            outcome,
            error: None,
        })
        .collect()
}

/// Alters the answer of the middle successful read to a version no commit made; returns the
/// index of its completion.
fn corrupt_a_read(events: &mut [Event]) -> usize {
    let reads: Vec<usize> = events
        .iter()
        .filter(|e| e.kind == EventKind::Ok && matches!(e.op, Op::Read { .. }))
        .map(|e| e.index)
        .collect();
    let at = reads[reads.len() / 2];
    events[at].outcome = Some(Outcome::Head { version: Some(1_000_000) });
    at
}

#[test]
fn random_sequential_runs_spread_over_processes_are_linearizable() {
    // Four paths joined by moves into one component, five processes.
    let shape = Shape { ops: 300, paths: 4, processes: 5, unknown_percent: 10, pairs: false };
    for seed in 0..20 {
        let mut events = generate(seed, shape);
        let verdict = check_linearizable(&events, Duration::from_secs(20));
        assert_eq!(verdict.validity, Validity::Valid, "seed {seed}: {verdict:#?}");

        let altered = corrupt_a_read(&mut events);
        let verdict = check_linearizable(&events, Duration::from_secs(20));
        assert_eq!(verdict.validity, Validity::Invalid, "seed {seed}: {verdict:#?}");
        let violation = verdict.first_violation.expect("a violation");
        assert!(
            violation.from_index <= altered && altered <= violation.to_index,
            "seed {seed}: window {}..={} misses the altered read at #{altered}: {}",
            violation.from_index,
            violation.to_index,
            violation.description
        );
    }
}

#[test]
fn ten_thousand_operations_check_in_seconds() {
    // The metadata workload's shape: paths in pairs, eight processes.
    let paired = Shape { ops: 10_000, paths: 8, processes: 8, unknown_percent: 10, pairs: true };
    // And one component of eight paths joined by moves, with fewer unknown outcomes.
    let joined = Shape { ops: 10_000, paths: 8, processes: 8, unknown_percent: 2, pairs: false };
    for (seed, shape) in [(7, paired), (8, joined)] {
        let events = generate(seed, shape);
        let started = Instant::now();
        let verdict = check_linearizable(&events, Duration::from_secs(60));
        let took = started.elapsed();
        assert_eq!(verdict.validity, Validity::Valid, "seed {seed}, {shape:?}: {verdict:#?}");
        assert!(took < Duration::from_secs(5), "seed {seed}, {shape:?}: took {took:?}: {}", verdict.detail);
    }
}

/// How long the checker takes on long histories of several shapes, valid and with one read
/// corrupted: `cargo test -p cairn-chaos --lib checker_speed -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark, not a test"]
fn checker_speed() {
    let shapes = [
        Shape { ops: 10_000, paths: 6, processes: 6, unknown_percent: 2, pairs: true },
        Shape { ops: 10_000, paths: 6, processes: 6, unknown_percent: 10, pairs: true },
        Shape { ops: 10_000, paths: 2, processes: 8, unknown_percent: 10, pairs: true },
        Shape { ops: 10_000, paths: 8, processes: 8, unknown_percent: 2, pairs: false },
        Shape { ops: 10_000, paths: 8, processes: 8, unknown_percent: 10, pairs: false },
    ];
    for shape in shapes {
        for seed in 0..3 {
            let mut events = generate(seed, shape);
            let started = Instant::now();
            let valid = check_linearizable(&events, Duration::from_secs(10)).validity;
            let took = started.elapsed();
            corrupt_a_read(&mut events);
            let started = Instant::now();
            let corrupted = check_linearizable(&events, Duration::from_secs(10)).validity;
            println!(
                "{shape:?} seed {seed}: {valid:?} in {took:.2?}; corrupted: {corrupted:?} in {:.2?}",
                started.elapsed()
            );
        }
    }
}
