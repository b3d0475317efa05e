//! Proof that the checkers catch what they are meant to: hand-made histories that keep and
//! break each promise, and generated ones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod exhaustive;
mod generated;
mod journal;
mod linearizable;
mod lost_writes;
mod nemesis;
mod panics;

use std::collections::HashMap;

use crate::history::{Event, EventKind, JournalEntry, NEMESIS, Op, Outcome, Process};

/// Builds histories by hand: each call is one event, ten nanoseconds after the last.
#[derive(Default)]
pub(super) struct History {
    pub(super) events: Vec<Event>,
    open: HashMap<Process, Op>,
}

impl History {
    fn push(&mut self, process: Process, kind: EventKind, op: Op, outcome: Option<Outcome>) -> usize {
        let index = self.events.len();
        let error = matches!(kind, EventKind::Fail | EventKind::Unknown).then(|| "test".to_owned());
        self.events.push(Event { index, time_ns: index as u64 * 10, process, kind, op, outcome, error });
        index
    }

    /// `process` invokes `op`; returns the event's index.
    pub(super) fn call(&mut self, process: Process, op: Op) -> usize {
        self.open.insert(process, op.clone());
        self.push(process, EventKind::Invoke, op, None)
    }

    fn end(&mut self, process: Process, kind: EventKind, outcome: Option<Outcome>) -> usize {
        let op = self.open.remove(&process).expect("no open operation");
        self.push(process, kind, op, outcome)
    }

    /// `process`'s open operation completes with `outcome`.
    pub(super) fn ok(&mut self, process: Process, outcome: Outcome) -> usize {
        self.end(process, EventKind::Ok, Some(outcome))
    }

    /// `process`'s open operation certainly did not happen.
    pub(super) fn fail(&mut self, process: Process) -> usize {
        self.end(process, EventKind::Fail, None)
    }

    /// `process`'s open operation may or may not have happened.
    pub(super) fn info(&mut self, process: Process) -> usize {
        self.end(process, EventKind::Unknown, None)
    }

    /// `process` does `op`, which comes back at once with `outcome`.
    pub(super) fn done(&mut self, process: Process, op: Op, outcome: Outcome) -> usize {
        self.call(process, op);
        self.ok(process, outcome)
    }

    /// The nemesis applies a fault.
    pub(super) fn fault(&mut self, what: &str) {
        let op = Op::Fault { what: what.to_owned() };
        self.push(NEMESIS, EventKind::Invoke, op.clone(), None);
        self.push(NEMESIS, EventKind::Ok, op, Some(Outcome::Applied));
    }
}

pub(super) fn commit(path: &str, base: Option<u64>) -> Op {
    Op::Commit { path: path.to_owned(), base, size: 3, hash: format!("hash-{path}-{base:?}") }
}

pub(super) fn read(path: &str) -> Op {
    Op::Read { path: path.to_owned() }
}

pub(super) fn delete(path: &str) -> Op {
    Op::Delete { path: path.to_owned() }
}

pub(super) fn mv(from: &str, to: &str) -> Op {
    Op::Move { from: from.to_owned(), to: to.to_owned() }
}

pub(super) fn committed(version: u64) -> Outcome {
    Outcome::Committed { file: 1, version, seq: version }
}

pub(super) fn conflict(head: Option<u64>) -> Outcome {
    Outcome::Conflict { head }
}

pub(super) fn head(version: Option<u64>) -> Outcome {
    Outcome::Head { version }
}

pub(super) fn refused() -> Outcome {
    Outcome::Refused { code: "not_found".to_owned() }
}

pub(super) fn entry(seq: u64, file: u64, version: u64) -> JournalEntry {
    JournalEntry {
        seq,
        path: format!("f{file}"),
        file: Some(file),
        kind: "version_committed".to_owned(),
        version: Some(version),
    }
}
