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

/// A history of `count` operations on `paths` paths by `processes` processes, about
/// `unknown_percent` of them with unknown outcomes (half of those took effect) and 5% failed.
/// Operation `i` takes effect at time `100 i` in model order; its invocation and completion
/// are spread up to `50 processes` either side, so it overlaps its neighbours but never its
/// own process's previous or next operation.
pub(super) fn generate(
    seed: u64,
    count: usize,
    paths: usize,
    processes: u64,
    unknown_percent: u32,
) -> Vec<Event> {
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
                // Moves stay within a pair of paths (0 and 1, 2 and 3, …), as the metadata workload's
                // do, unless there is an odd path out; then they may go anywhere.
                let to = if paths % 2 == 0 { slot ^ 1 } else { rng.random_range(0..paths) };
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
    for seed in 0..20 {
        let mut events = generate(seed, 300, 4, 5, 10);
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
    let seed = 7;
    let events = generate(seed, 10_000, 8, 8, 10);
    let started = Instant::now();
    let verdict = check_linearizable(&events, Duration::from_secs(60));
    let took = started.elapsed();
    assert_eq!(verdict.validity, Validity::Valid, "seed {seed}: {verdict:#?}");
    assert!(took < Duration::from_secs(10), "seed {seed}: took {took:?}: {}", verdict.detail);
}

#[test]
#[ignore]
fn perf_probe() {
    let shapes: Vec<(usize, usize, u64, u32)> = std::env::var("SHAPES")
        .map(|v| {
            v.split(';')
                .map(|t| {
                    let p: Vec<u64> = t.split(',').map(|x| x.parse().unwrap()).collect();
                    (p[0] as usize, p[1] as usize, p[2], p[3] as u32)
                })
                .collect()
        })
        .unwrap_or_default();
    let seeds: u64 = std::env::var("SEEDS").map(|v| v.parse().unwrap()).unwrap_or(1);
    for (count, paths, procs, unk) in shapes {
        for seed in 0..seeds {
            let mut events = generate(seed, count, paths, procs, unk);
            let started = Instant::now();
            let verdict = check_linearizable(&events, Duration::from_secs(10));
            eprintln!(
                "{count} {paths} {procs} {unk} seed {seed}: {:?} {:?}",
                verdict.validity,
                started.elapsed()
            );
            if std::env::var("CORRUPT").is_ok() {
                corrupt_a_read(&mut events);
                let started = Instant::now();
                let verdict = check_linearizable(&events, Duration::from_secs(60));
                eprintln!("  corrupted: {:?} {:?}", verdict.validity, started.elapsed());
            }
        }
    }
}
