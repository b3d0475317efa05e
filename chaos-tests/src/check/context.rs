//! Helpers that turn history positions and operations into words for violation reports.

use std::collections::HashMap;

use crate::history::{Event, EventKind, NEMESIS, Op, Operation, Outcome};

/// Where each operation's completion sits in the history, keyed by its invocation index.
///
/// [`crate::history::operations`] keeps only the invocation index; reports want the whole
/// window an operation spanned, so this pairs events the same way it does.
pub(crate) struct Spans {
    ends: HashMap<usize, usize>,
}

impl Spans {
    /// Pairs every client invocation with its process's next completion.
    pub(crate) fn new(events: &[Event]) -> Self {
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut ends = HashMap::new();
        for event in events.iter().filter(|e| e.process != NEMESIS) {
            match event.kind {
                EventKind::Invoke => {
                    open.insert(event.process, event.index);
                }
                _ => {
                    if let Some(start) = open.remove(&event.process) {
                        ends.insert(start, event.index);
                    }
                }
            }
        }
        Self { ends }
    }

    /// The history index of the completion of the operation invoked at `invoke_index` (the
    /// invocation itself if it never completed).
    pub(crate) fn end(&self, invoke_index: usize) -> usize {
        self.ends.get(&invoke_index).copied().unwrap_or(invoke_index)
    }
}

/// The operation in words: "process 3 commit a (base v2)".
pub(crate) fn describe_op(op: &Operation) -> String {
    format!("process {} {}", op.process, op_words(&op.op))
}

/// The operation together with how it ended and where: "process 3 read a → head v2 (#10..#14)".
pub(crate) fn describe_operation(op: &Operation, spans: &Spans) -> String {
    let ending = match (&op.end, &op.outcome) {
        (EventKind::Ok, Some(outcome)) => outcome_words(outcome),
        (EventKind::Ok, None) => "ok (no outcome recorded)".to_owned(),
        (EventKind::Fail, _) => "failed".to_owned(),
        _ => "unknown outcome".to_owned(),
    };
    format!("{} → {} (#{}..#{})", describe_op(op), ending, op.index, spans.end(op.index))
}

/// An operation as invoked, in words.
pub(crate) fn op_words(op: &Op) -> String {
    match op {
        Op::Commit { path, base, .. } => format!("commit {path} (base {})", version_words(*base)),
        Op::Read { path } => format!("read {path}"),
        Op::Delete { path } => format!("delete {path}"),
        Op::Move { from, to } => format!("move {from} to {to}"),
        Op::Journal { cursor } => format!("journal after {cursor}"),
        Op::Download { path, version } => format!("download {path} v{version}"),
        Op::Fault { what } => format!("fault {what}"),
    }
}

/// An outcome in words.
pub(crate) fn outcome_words(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Committed { file, version, seq } => format!("committed file {file} v{version} at seq {seq}"),
        Outcome::Conflict { head } => format!("conflict, head {}", version_words(*head)),
        Outcome::Head { version } => format!("head {}", version_words(*version)),
        Outcome::Done => "done".to_owned(),
        Outcome::Refused { code } => format!("refused ({code})"),
        Outcome::Changes { changes, latest } => format!("{} changes, latest {latest}", changes.len()),
        Outcome::Content { hash, size } => format!("content {size} bytes, hash {hash}"),
        Outcome::Applied => "applied".to_owned(),
    }
}

/// A visible head in words: "v3" or "none".
pub(crate) fn version_words(version: Option<u64>) -> String {
    version.map_or_else(|| "none".to_owned(), |v| format!("v{v}"))
}

/// The nemesis faults relevant to the window `from..=to`: the last one begun before it and
/// every one inside it, as a sentence to append to a description ("" when there are none).
pub(crate) fn faults_around(events: &[Event], from: usize, to: usize) -> String {
    let faults: Vec<&Event> = events
        .iter()
        .filter(|e| e.process == NEMESIS && e.kind == EventKind::Ok && matches!(e.op, Op::Fault { .. }))
        .collect();
    let before = faults.iter().rev().find(|e| e.index < from);
    let inside = faults.iter().filter(|e| (from..=to).contains(&e.index));
    let words: Vec<String> =
        before.into_iter().chain(inside).map(|e| format!("{} (#{})", op_words(&e.op), e.index)).collect();
    if words.is_empty() { String::new() } else { format!(" Nemesis: {}.", words.join(", ")) }
}
