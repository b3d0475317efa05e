//! The search against brute force: on many small random histories, valid and not, the
//! checker's answer must equal that of trying every order of every subset of operations.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::generated::{Shape, generate};
use crate::check::file_model::{FileOp, FileOutcome, FileState};
use crate::check::{Validity, check_linearizable};
use crate::history::{self, Event, EventKind, Op, Operation, Outcome};

/// Whether some order of all acknowledged operations and any unknown ones, respecting real
/// time, fits the model: plain depth-first search, no memo, no reductions.
fn brute_force(events: &[Event]) -> bool {
    let ops: Vec<Operation> = history::operations(events)
        .into_iter()
        .filter(|op| op.end != EventKind::Fail)
        .filter(|op| {
            matches!(op.op, Op::Commit { .. } | Op::Read { .. } | Op::Delete { .. } | Op::Move { .. })
        })
        .collect();
    let mut paths: HashMap<String, usize> = HashMap::new();
    for op in &ops {
        match &op.op {
            Op::Commit { path, .. } | Op::Read { path } | Op::Delete { path } => {
                let n = paths.len();
                paths.entry(path.clone()).or_insert(n);
            }
            Op::Move { from, to } => {
                for p in [from, to] {
                    let n = paths.len();
                    paths.entry(p.clone()).or_insert(n);
                }
            }
            _ => {}
        }
    }
    let file_ops: Vec<FileOp> =
        ops.iter().map(|op| FileOp::from_op(&op.op, |p| paths.get(p).copied()).unwrap()).collect();
    let mut used = vec![false; ops.len()];
    let mut state = vec![FileState::Empty; paths.len()];
    explore(&ops, &file_ops, &mut used, &mut state)
}

fn explore(ops: &[Operation], file_ops: &[FileOp], used: &mut [bool], state: &mut Vec<FileState>) -> bool {
    if (0..ops.len()).all(|i| used[i] || ops[i].end != EventKind::Ok) {
        return true;
    }
    for i in 0..ops.len() {
        if used[i] {
            continue;
        }
        // Nothing still to go may have completed before this one was invoked.
        if (0..ops.len()).any(|j| !used[j] && j != i && ops[j].completed_ns < ops[i].invoked_ns) {
            continue;
        }
        let saved = state.clone();
        let outcome = file_ops[i].apply(state);
        let fits = match (&ops[i].end, &ops[i].outcome) {
            (EventKind::Ok, Some(observed)) => FileOutcome::observed(file_ops[i], observed) == Some(outcome),
            _ => true,
        };
        if fits {
            used[i] = true;
            if explore(ops, file_ops, used, state) {
                return true;
            }
            used[i] = false;
        }
        *state = saved;
    }
    false
}

/// A random outcome of the right kind for `op`.
fn random_outcome(rng: &mut SmallRng, op: &Op) -> Outcome {
    let version = |rng: &mut SmallRng| if rng.random_bool(0.3) { None } else { Some(rng.random_range(1..4)) };
    match op {
        Op::Commit { .. } if rng.random_bool(0.5) => {
            Outcome::Committed { file: 0, version: rng.random_range(1..4), seq: 0 }
        }
        Op::Commit { .. } => Outcome::Conflict { head: version(rng) },
        Op::Read { .. } => Outcome::Head { version: version(rng) },
        _ if rng.random_bool(0.5) => Outcome::Done,
        _ => Outcome::Refused { code: "exists".to_owned() },
    }
}

#[test]
fn search_agrees_with_brute_force() {
    let (mut valid, mut invalid) = (0, 0);
    for seed in 0..3000 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let shape = Shape {
            ops: rng.random_range(3..9),
            paths: 2 + (seed % 2) as usize,
            processes: rng.random_range(2..5),
            unknown_percent: 40,
            pairs: false,
        };
        let mut events = generate(seed, shape);
        if rng.random_bool(0.5) {
            let oks: Vec<usize> = events
                .iter()
                .filter(|e| e.kind == EventKind::Ok && e.process != crate::history::NEMESIS)
                .map(|e| e.index)
                .collect();
            if !oks.is_empty() {
                let at = oks[rng.random_range(0..oks.len())];
                events[at].outcome = Some(random_outcome(&mut rng, &events[at].op));
            }
        }
        let expected = brute_force(&events);
        let verdict = check_linearizable(&events, Duration::from_secs(10));
        let want = if expected { Validity::Valid } else { Validity::Invalid };
        assert_eq!(verdict.validity, want, "seed {seed}: {verdict:#?}\n{events:#?}");
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    // Both answers must be well represented for the comparison to mean anything.
    assert!(valid > 300 && invalid > 300, "{valid} valid, {invalid} invalid");
}
