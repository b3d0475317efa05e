//! The history of a run: every operation a client (or the nemesis) began, and how it ended.
//!
//! As in Jepsen, an operation is two events of one process: an [`EventKind::Invoke`] and then
//! exactly one completion — [`EventKind::Ok`] (it happened, with this [`Outcome`]),
//! [`EventKind::Fail`] (it certainly did not happen: refused before it could take effect) or
//! [`EventKind::Unknown`] (a timeout or a lost connection: it may have happened, at any time
//! after its invocation, or never). A process runs one operation at a time, so its events
//! alternate; times are monotonic nanoseconds since the run began. Checkers never treat an
//! unknown as failed.
//!
//! Paths are drive paths without a leading slash, as the API spells them.

use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Who did something: a client process, or the nemesis.
pub type Process = u64;

/// The process number of the nemesis (its fault events are [`Op::Fault`]s).
pub const NEMESIS: Process = u64::MAX;

/// An operation, as invoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum Op {
    /// Commit a new version of `path`, only if its visible head is `base` (`None`: only if no
    /// live file is there — a trashed one comes back with a new version on top of its history).
    /// The content is `size` bytes hashing to `hash` (blake3, hex).
    Commit {
        /// The file.
        path: String,
        /// The head it replaces.
        base: Option<u64>,
        /// Content size.
        size: u64,
        /// Content hash.
        hash: String,
    },
    /// Read the visible head version of `path`.
    Read {
        /// The file.
        path: String,
    },
    /// Move the file at `from` to the trash.
    Delete {
        /// The file.
        path: String,
    },
    /// Rename `from` to `to` (a file; `to` must be free: no file there, live or trashed).
    Move {
        /// The file.
        from: String,
        /// Its new path.
        to: String,
    },
    /// Read the caller's change journal after `cursor`, one page.
    Journal {
        /// The cursor read after.
        cursor: u64,
    },
    /// Download `version` of `path` and hash it.
    Download {
        /// The file.
        path: String,
        /// The version.
        version: u64,
    },
    /// A fault the nemesis began or ended (`NEMESIS` process; completed `Ok` when in force).
    Fault {
        /// What, in words the report shows: "partition {1} | {2,3}", "kill 2", "heal".
        what: String,
    },
}

/// What came back from an operation that completed [`EventKind::Ok`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum Outcome {
    /// A commit went in: the file, its new version and the caller's journal position of it.
    Committed {
        /// The file id.
        file: u64,
        /// The new head version.
        version: u64,
        /// The journal sequence number of the commit.
        seq: u64,
    },
    /// A commit was refused because the head was not its base: the head it saw.
    Conflict {
        /// The visible head then (`None`: no live file).
        head: Option<u64>,
    },
    /// A read's answer: the visible head version (`None`: no live file there).
    Head {
        /// The head.
        version: Option<u64>,
    },
    /// A delete or a move happened.
    Done,
    /// A delete found no live file, or a move found nothing at `from` or something at `to`:
    /// nothing changed.
    Refused {
        /// The API's error code (`not_found`, `exists`, `wrong_kind`).
        code: String,
    },
    /// A page of the journal.
    Changes {
        /// The changes, oldest first.
        changes: Vec<JournalEntry>,
        /// The journal's newest sequence number when read.
        latest: u64,
    },
    /// A download: the content's hash (blake3, hex) and size.
    Content {
        /// Hash.
        hash: String,
        /// Size.
        size: u64,
    },
    /// A nemesis fault is in force (or was healed).
    Applied,
}

/// One change as the journal showed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Its sequence number.
    pub seq: u64,
    /// The path.
    pub path: String,
    /// The file, for file changes.
    pub file: Option<u64>,
    /// The kind, as the API names it (`version_committed`, `trashed`, `moved`, …).
    pub kind: String,
    /// For `version_committed`: the version.
    pub version: Option<u64>,
}

/// How an event ends (or begins) an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The operation began.
    Invoke,
    /// It happened, with an outcome.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// It may or may not have happened.
    Unknown,
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the history, from 0.
    pub index: usize,
    /// Nanoseconds since the run began (monotonic).
    pub time_ns: u64,
    /// Who.
    pub process: Process,
    /// Invoke or completion.
    pub kind: EventKind,
    /// The operation (repeated on the completion).
    pub op: Op,
    /// For `Ok`: what came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// For `Fail` and `Unknown`: why, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A history being recorded by many tasks at once.
pub struct Recorder {
    start: Instant,
    events: Mutex<Vec<Event>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty history whose clock starts now.
    pub fn new() -> Self {
        Self { start: Instant::now(), events: Mutex::new(Vec::new()) }
    }

    /// Records that `process` invokes `op`.
    pub fn invoke(&self, process: Process, op: &Op) {
        self.push(process, EventKind::Invoke, op, None, None);
    }

    /// Records that `process`'s operation `op` happened with `outcome`.
    pub fn ok(&self, process: Process, op: &Op, outcome: Outcome) {
        self.push(process, EventKind::Ok, op, Some(outcome), None);
    }

    /// Records that `process`'s operation `op` certainly did not happen, and why.
    pub fn fail(&self, process: Process, op: &Op, error: impl Into<String>) {
        self.push(process, EventKind::Fail, op, None, Some(error.into()));
    }

    /// Records that `process`'s operation `op` may or may not have happened, and why.
    pub fn unknown(&self, process: Process, op: &Op, error: impl Into<String>) {
        self.push(process, EventKind::Unknown, op, None, Some(error.into()));
    }

    fn push(
        &self,
        process: Process,
        kind: EventKind,
        op: &Op,
        outcome: Option<Outcome>,
        error: Option<String>,
    ) {
        let time_ns = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        // The time is taken under the lock, so the history's order is its time order.
        let mut events = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let time_ns = time_ns.max(events.last().map_or(0, |e| e.time_ns));
        let index = events.len();
        events.push(Event { index, time_ns, process, kind, op: op.clone(), outcome, error });
    }

    /// The history so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// An operation with its two ends paired up: the shape checkers work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Who.
    pub process: Process,
    /// What.
    pub op: Op,
    /// When it was invoked (ns).
    pub invoked_ns: u64,
    /// How it ended: `Ok`, `Fail` or `Unknown` (an invocation never completed counts as
    /// `Unknown`, ending at the end of time).
    pub end: EventKind,
    /// When it completed (ns; `u64::MAX` for an unknown one: it may take effect any time later).
    pub completed_ns: u64,
    /// For `Ok`: the outcome.
    pub outcome: Option<Outcome>,
    /// Index of the invocation event in the history.
    pub index: usize,
}

/// Pairs each invocation with its process's next completion. Nemesis events are left out.
pub fn operations(events: &[Event]) -> Vec<Operation> {
    let mut open: std::collections::HashMap<Process, Operation> = std::collections::HashMap::new();
    let mut done = Vec::new();
    for event in events.iter().filter(|e| e.process != NEMESIS) {
        match event.kind {
            EventKind::Invoke => {
                let op = Operation {
                    process: event.process,
                    op: event.op.clone(),
                    invoked_ns: event.time_ns,
                    end: EventKind::Unknown,
                    completed_ns: u64::MAX,
                    outcome: None,
                    index: event.index,
                };
                if let Some(unfinished) = open.insert(event.process, op) {
                    done.push(unfinished);
                }
            }
            kind => {
                if let Some(mut op) = open.remove(&event.process) {
                    op.end = kind;
                    if kind != EventKind::Unknown {
                        op.completed_ns = event.time_ns;
                    }
                    op.outcome = event.outcome.clone();
                    done.push(op);
                }
            }
        }
    }
    done.extend(open.into_values());
    done.sort_by_key(|op| op.index);
    done
}
