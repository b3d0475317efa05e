//! The linearizability checker: were the drive's commits, reads, deletes and moves, as the
//! clients saw them, consistent with some one-at-a-time order that respects real time?
//!
//! The history is split into independent components (paths joined by moves; linearizability
//! is compositional, so each can be checked alone), and each is searched for a linearization
//! against the [`file_model`](super::file_model) by the Wing–Gong search with Lowe's
//! memoisation (the crate-private `check::search` module).
//! Failed operations are dropped (they did not happen); unknown ones may have happened at
//! any time after their invocation, or never; unknown reads, which change nothing and
//! promise nothing, are dropped too.

use std::time::{Duration, Instant};

use super::context::{Spans, describe_op, describe_operation, faults_around};
use super::file_model::{FileOp, FileOutcome};
use super::lin_op::{Expect, LinOp};
use super::partition::{Component, components};
use super::search::{self, Stuck};
use super::verdict::{Validity, Verdict, Violation};
use crate::history::{self, Event, EventKind, Op, Operation};

/// The checker's name in verdicts.
const NAME: &str = "linearizable";
/// How many candidate operations a violation lists before summarising the rest.
const LISTED: usize = 8;

/// Checks that the commits, reads, deletes and moves in `events` are linearizable with
/// respect to the drive's per-path file model, giving up (answering
/// [`Validity::Unknown`], never `Valid`) once `time_limit` has passed.
pub fn check(events: &[Event], time_limit: Duration) -> Verdict {
    let started = Instant::now();
    let deadline =
        started.checked_add(time_limit).unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
    let all = history::operations(events);
    let ops: Vec<&Operation> = all.iter().filter(|op| takes_part(op)).collect();
    let spans = Spans::new(events);

    let mut parts = components(&ops);
    // Small components first, so one hard component cannot starve the easy ones of time.
    parts.sort_by_key(|c| c.ops.len());

    let (mut valid, mut unknown, mut invalid) = (0usize, 0usize, 0usize);
    let mut gave_up: Vec<&str> = Vec::new();
    let mut furthest: Option<String> = None;
    let mut first: Option<Violation> = None;
    for part in &parts {
        let (order, lin_ops) = compile(part, &ops);
        let original: Vec<&Operation> = order.iter().map(|i| ops[*i]).collect();
        let (stuck, why) = match search::search(&lin_ops, part.paths.len(), deadline) {
            search::Outcome::Linearizable => {
                valid += 1;
                continue;
            }
            search::Outcome::NotLinearizable(stuck) => {
                invalid += 1;
                let violation = explain(events, part, &original, &lin_ops, &stuck, &spans);
                if first.as_ref().is_none_or(|f| violation.to_index < f.to_index) {
                    first = Some(violation);
                }
                continue;
            }
            search::Outcome::OutOfTime(stuck) => (stuck, "time limit"),
            search::Outcome::OutOfMemory(stuck) => (stuck, "memory budget"),
        };
        unknown += 1;
        gave_up.push(why);
        // Where an unfinished search got stuck is where to look for a violation.
        if let (None, Some(stuck)) = (&furthest, stuck) {
            let window = explain(events, part, &original, &lin_ops, &stuck, &spans);
            furthest = Some(format!(
                "; on paths {} the search got no further than the operations #{}..#{}",
                part.paths.join(", "),
                window.from_index,
                window.to_index
            ));
        }
    }

    gave_up.sort_unstable();
    gave_up.dedup();
    let paths: usize = parts.iter().map(|c| c.paths.len()).sum();
    let mut detail = format!(
        "{} on {} in {}: {valid} linearizable, {invalid} not, {unknown} undecided",
        plural(ops.len(), "operation"),
        plural(paths, "path"),
        plural(parts.len(), "independent component"),
    );
    if !gave_up.is_empty() {
        detail.push_str(&format!(" (hit the {})", gave_up.join(" and the ")));
    }
    detail.push_str(furthest.as_deref().unwrap_or_default());
    detail.push_str(&format!("; {:.1} s", started.elapsed().as_secs_f64()));

    let validity = match (invalid, unknown) {
        (0, 0) => Validity::Valid,
        (0, _) => Validity::Unknown,
        _ => Validity::Invalid,
    };
    match (validity, first) {
        (Validity::Invalid, Some(violation)) => Verdict::invalid(NAME, ops.len(), detail, violation),
        (Validity::Valid, _) => Verdict::valid(NAME, ops.len(), detail),
        _ => Verdict::unknown(NAME, ops.len(), detail),
    }
}

/// "1 path", "2 paths".
fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// Whether an operation takes part: a commit, read, delete or move that did not fail, and
/// not a read whose answer never came back.
fn takes_part(op: &Operation) -> bool {
    let file_op = matches!(op.op, Op::Commit { .. } | Op::Read { .. } | Op::Delete { .. } | Op::Move { .. });
    let pointless = op.end != EventKind::Ok && matches!(op.op, Op::Read { .. });
    file_op && op.end != EventKind::Fail && !pointless
}

/// The component's operations as the search wants them: model operations with their
/// allowed outcomes, sorted by invocation, and beside each its index into `ops`.
fn compile(part: &Component, ops: &[&Operation]) -> (Vec<usize>, Vec<LinOp>) {
    let mut order = part.ops.clone();
    order.sort_by_key(|i| (ops[*i].invoked_ns, ops[*i].index));
    order
        .into_iter()
        .filter_map(|i| {
            let op = ops[i];
            let file_op = FileOp::from_op(&op.op, |p| part.slot_of(p))?;
            let required = op.end == EventKind::Ok;
            let expect = match (&op.outcome, required) {
                (Some(outcome), true) => {
                    FileOutcome::observed(file_op, outcome).map_or(Expect::Never, Expect::Exactly)
                }
                _ => Expect::Any,
            };
            let lin_op = LinOp {
                op: file_op,
                expect,
                required,
                invoked_ns: op.invoked_ns,
                completed_ns: op.completed_ns,
            };
            Some((i, lin_op))
        })
        .unzip()
}

/// Turns the search's deepest dead end into a violation a person can act on: the window is
/// from the earliest acknowledged operation that could have gone next to the completion of
/// the one that had to. `original[i]` is the recorded operation of `lin_ops[i]`.
fn explain(
    events: &[Event],
    part: &Component,
    original: &[&Operation],
    lin_ops: &[LinOp],
    stuck: &Stuck,
    spans: &Spans,
) -> Violation {
    let original = |i: usize| original[i];
    let required = &stuck.candidates;

    // The window opens with the earliest acknowledged operation that could have gone next,
    // or earlier if one of the operations just put in order overlapped it: that is usually
    // the one the stuck operation contradicts (the other of two commits from one base).
    let opens = required.iter().map(|i| original(*i).invoked_ns).min();
    let overlapping = stuck.recent.iter().filter(|i| opens.is_some_and(|t| original(**i).completed_ns >= t));
    let from = required.iter().chain(overlapping).map(|i| original(*i).index).min();
    let to = stuck.blocker.map(|b| spans.end(original(b).index));
    let (from, to) = match (from, to) {
        (Some(from), Some(to)) => (from, to),
        (Some(at), None) | (None, Some(at)) => (at, at),
        (None, None) => (0, 0),
    };

    let mut text = format!("Not linearizable (paths {}): ", part.paths.join(", "));
    let state: Vec<String> =
        part.paths.iter().zip(&stuck.state).map(|(path, s)| format!("{path}: {s}")).collect();
    text.push_str(&format!(
        "after {} acknowledged operations could be put in order, the model has {}, and nothing that \
         could go next fits.",
        stuck.linearized,
        state.join("; "),
    ));
    if !stuck.recent.is_empty() {
        let recent: Vec<String> =
            stuck.recent.iter().map(|i| describe_operation(original(*i), spans)).collect();
        text.push_str(&format!(" Last put in order: {}.", recent.join("; ")));
    }
    for i in required.iter().take(LISTED) {
        let says = lin_ops[*i].op.apply(&mut stuck.state.clone());
        let why = match lin_ops[*i].expect {
            Expect::Never => "an outcome this operation cannot have".to_owned(),
            expect if expect.allows(says) => "fits here, but every order after it is stuck".to_owned(),
            _ => format!("the model says {says}"),
        };
        text.push_str(&format!(" {}: {why}.", describe_operation(original(*i), spans)));
    }
    if required.len() > LISTED {
        text.push_str(&format!(" And {} more acknowledged operations.", required.len() - LISTED));
    }
    if stuck.pending > 0 {
        text.push_str(&format!(
            " {} operations with unknown outcome could have gone in too; none helps.",
            stuck.pending
        ));
    }
    if let Some(b) = stuck.blocker {
        text.push_str(&format!(" The window closes when {} completes.", describe_op(original(b))));
    }
    text.push_str(&faults_around(events, from, to));
    Violation::new(from, to, text)
}
