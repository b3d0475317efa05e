//! The Wing–Gong linearizability search with Lowe's memoisation, as porcupine and Knossos run
//! it, over one independent component of a history and the [`file_model`](super::file_model).
//!
//! Operations sit in a doubly linked list of call and return entries in time order. The
//! operations whose calls come before the first remaining return are the ones that may be
//! linearized next; the search tries each against the model, lifts the one that fits out of
//! the list and starts over, and backtracks when none fits. Every (set of linearized
//! operations, model state) pair it reaches is remembered, so no configuration is explored
//! twice. The search is iterative (an explicit stack), so long histories cannot overflow the
//! thread's stack, and it gives up at a deadline or a memory budget.
//!
//! Operations whose outcome is unknown have no return entry: they may be linearized any time
//! after their call, or never. The search succeeds as soon as every operation that must
//! happen has been linearized, and never applies an unknown operation where the model says
//! it would change nothing (that is the same as not applying it at all). Unknown operations
//! that never happened would otherwise multiply the search (every dead end would try every
//! subset of them), so two reductions keep them in check, both exact: of identical pending
//! unknown operations only the earliest is tried (see [`Unknowns`]), and an unknown
//! operation must be followed by one that depends on it (see [`commutes`]). Required
//! operations are tried before unknown ones (see [`Cursor`]).

use std::time::Instant;

use super::call_list::{CallList, TAIL};
use super::file_model::{FileOp, FileState};
use super::lin_op::LinOp;
use super::memo::{Bits, Insert, Memo};
use super::unknowns::Unknowns;

/// Where the search could get no further: the configuration that linearized the most
/// required operations before every candidate failed.
#[derive(Clone, Debug)]
pub(crate) struct Stuck {
    /// How many required operations were linearized.
    pub(crate) linearized: usize,
    /// The last few operations linearized before it, oldest first.
    pub(crate) recent: Vec<usize>,
    /// The model state there.
    pub(crate) state: Vec<FileState>,
    /// The required operations that could have gone next (all of them failed or led to
    /// dead ends).
    pub(crate) candidates: Vec<usize>,
    /// How many unknown operations could have changed the state there.
    pub(crate) pending: usize,
    /// The required operation whose completion bounds the window: it, or something before
    /// it, had to be linearized next.
    pub(crate) blocker: Option<usize>,
}

/// How a search ended.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// A linearization exists.
    Linearizable,
    /// None exists; the deepest dead end.
    NotLinearizable(Stuck),
    /// The deadline passed first; the deepest dead end so far.
    OutOfTime(Option<Stuck>),
    /// The memo outgrew its budget first; the deepest dead end so far.
    OutOfMemory(Option<Stuck>),
}

/// How many steps between looks at the clock.
const CLOCK_EVERY: u64 = 1 << 12;
/// How many of the operations linearized last a [`Stuck`] remembers.
const RECENT: usize = 4;

/// A step of the search: an operation linearized, what it overwrote, and (for an unknown
/// one) the unknown candidates still to try where it was chosen.
struct Frame {
    op: usize,
    undo: [(usize, FileState); 2],
    rest: Option<(Vec<usize>, usize)>,
}

/// Where the scan of the current configuration's candidates is. It tries the required
/// operations first, in invocation order, then the unknown ones, oldest first, so unknown
/// operations are applied only once nothing else fits (lazily). (Trying the most recently
/// invoked unknown operations first was tried, and is far slower: they fit in more wrong
/// places.)
enum Cursor {
    /// At this entry of the call list.
    Required(usize),
    /// At this position of these unknown candidates.
    Optional(Vec<usize>, usize),
}

/// Searches for a linearization of `ops` (sorted by invocation) over `slots` paths, all
/// initially empty, giving up at `deadline`.
pub(crate) fn search(ops: &[LinOp], slots: usize, deadline: Instant) -> Outcome {
    // Required and unknown operations are numbered apart, for the two sets in memo keys.
    let mut id = vec![0usize; ops.len()];
    let (mut n_required, mut n_optional) = (0, 0);
    for (i, op) in ops.iter().enumerate() {
        let counter = if op.required { &mut n_required } else { &mut n_optional };
        id[i] = *counter;
        *counter += 1;
    }
    if n_required == 0 {
        return Outcome::Linearizable;
    }
    if Instant::now() >= deadline {
        return Outcome::OutOfTime(None);
    }

    let mut calls = CallList::new(ops);
    let mut unknowns = Unknowns::new(ops);
    let mut required_done = Bits::new(n_required);
    let mut optional_done = Bits::new(n_optional);
    let mut remaining = n_required;
    let mut state = vec![FileState::Empty; slots];
    let mut frames: Vec<Frame> = Vec::new();
    let mut memo = Memo::default();
    let mut key: Vec<u64> = Vec::new();
    let mut deepest: Option<Stuck> = None;

    let mut cursor = Cursor::Required(calls.first());
    let mut steps: u64 = 0;
    loop {
        steps += 1;
        if steps.is_multiple_of(CLOCK_EVERY) && Instant::now() >= deadline {
            return Outcome::OutOfTime(deepest);
        }
        let i = match &mut cursor {
            Cursor::Required(n) => {
                let node = calls.nodes[*n];
                if *n == TAIL || node.is_return {
                    // The window ends at the first return: unknown operations invoked later
                    // cannot go yet.
                    let until = if *n == TAIL { u64::MAX } else { ops[node.op].completed_ns };
                    cursor = Cursor::Optional(unknowns.candidates(&state, until, ops), 0);
                    continue;
                }
                *n = node.next;
                node.op
            }
            Cursor::Optional(candidates, k) if *k < candidates.len() => {
                *k += 1;
                candidates[*k - 1]
            }
            Cursor::Optional(candidates, _) => {
                // A dead end: nothing fits. Remember the deepest one, then backtrack.
                let linearized = n_required - remaining;
                if deepest.as_ref().is_none_or(|d| linearized > d.linearized) {
                    let (window, blocker) = calls.window();
                    deepest = Some(Stuck {
                        linearized,
                        recent: frames.iter().rev().take(RECENT).rev().map(|f| f.op).collect(),
                        state: state.clone(),
                        candidates: window,
                        pending: candidates.len(),
                        blocker,
                    });
                }
                let Some(frame) = frames.pop() else {
                    return match deepest {
                        Some(stuck) => Outcome::NotLinearizable(stuck),
                        None => Outcome::OutOfTime(None),
                    };
                };
                undo(&mut state, &frame.undo);
                let op = &ops[frame.op];
                if op.required {
                    required_done.clear(id[frame.op]);
                    remaining += 1;
                    calls.unlift(frame.op);
                    cursor = Cursor::Required(calls.nodes[calls.call[frame.op]].next);
                } else {
                    optional_done.clear(id[frame.op]);
                    unknowns.put_back(&op.op);
                    let (rest, k) = frame.rest.unwrap_or_default();
                    cursor = Cursor::Optional(rest, k);
                }
                continue;
            }
        };

        let op = &ops[i];
        // An unknown operation must matter to the one right after it; see `commutes`.
        if let Some(last) = frames.last().filter(|f| !ops[f.op].required)
            && commutes(ops[last.op].op, op, &state, &last.undo)
        {
            continue;
        }
        let (a, b) = op.op.touches();
        let b = b.unwrap_or(a);
        let before =
            [(a, state.get(a).copied().unwrap_or_default()), (b, state.get(b).copied().unwrap_or_default())];
        let outcome = op.op.apply(&mut state);
        let changed = before.iter().any(|(slot, was)| state.get(*slot) != Some(was));
        // An unknown operation that changes nothing is the same as one that never happened.
        let fits = if op.required { op.expect.allows(outcome) } else { changed };
        if !fits {
            undo(&mut state, &before);
            continue;
        }
        let bits = if op.required { &mut required_done } else { &mut optional_done };
        bits.set(id[i]);
        key.clear();
        required_done.encode(&mut key);
        optional_done.encode(&mut key);
        // What may go next depends on whether the last operation was unknown, which, and
        // what it overwrote (see `commutes`), so that is part of the configuration.
        if op.required {
            key.push(0);
        } else {
            key.extend([i as u64 + 1, before[0].1.pack(), before[1].1.pack()]);
        }
        key.extend(state.iter().map(|s| s.pack()));
        match memo.insert(&key) {
            Insert::New => {}
            Insert::Seen => {
                let bits = if op.required { &mut required_done } else { &mut optional_done };
                bits.clear(id[i]);
                undo(&mut state, &before);
                continue;
            }
            Insert::Full => return Outcome::OutOfMemory(deepest),
        }
        if op.required {
            frames.push(Frame { op: i, undo: before, rest: None });
            calls.lift(i);
            remaining -= 1;
            if remaining == 0 {
                return Outcome::Linearizable;
            }
        } else {
            let rest = match std::mem::replace(&mut cursor, Cursor::Required(TAIL)) {
                Cursor::Optional(candidates, k) => Some((candidates, k)),
                Cursor::Required(_) => None,
            };
            frames.push(Frame { op: i, undo: before, rest });
            unknowns.take(&op.op);
        }
        cursor = Cursor::Required(calls.first());
    }
}

/// Puts back the slots an operation overwrote.
fn undo(state: &mut [FileState], before: &[(usize, FileState); 2]) {
    for (slot, was) in before.iter().rev() {
        if let Some(s) = state.get_mut(*slot) {
            *s = *was;
        }
    }
}

/// Whether unknown operation `u`, just applied (`state` is after it; `undone` restores the
/// state before), and `next` could swap places with nothing changing: the same state after
/// both, and the same outcome for `next`.
///
/// If they could, the search need not put `next` right after `u`: the order with `next`
/// first, `u` later, is explored anyway (an unknown operation may go at any later point). So
/// every unknown operation the search applies is followed by one that depends on it. This
/// is what keeps unknown operations that never happened from multiplying the search: without
/// it, every dead end would try every subset of them. Any linearization can be brought into
/// this shape by moving each unknown operation later while it commutes with its successor
/// (dropping it once it changes nothing or comes last), so no linearization is missed.
fn commutes(u: FileOp, next: &LinOp, state: &[FileState], undone: &[(usize, FileState); 2]) -> bool {
    let (ua, ub) = u.touches();
    let (na, nb) = next.op.touches();
    let u_slots = [Some(ua), ub];
    if ![Some(na), nb].iter().flatten().any(|s| u_slots.contains(&Some(*s))) {
        return true;
    }
    let mut u_then_next = state.to_vec();
    let after_u = next.op.apply(&mut u_then_next);
    let mut next_then_u = state.to_vec();
    undo(&mut next_then_u, undone);
    let first = next.op.apply(&mut next_then_u);
    u.apply(&mut next_then_u);
    u_then_next == next_then_u && (!next.required || after_u == first)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::file_model::FileOutcome;
    use crate::check::lin_op::Expect;

    fn op(op: FileOp, expect: Option<FileOutcome>, invoked_ns: u64, completed_ns: u64) -> LinOp {
        LinOp {
            op,
            expect: expect.map_or(Expect::Any, Expect::Exactly),
            required: expect.is_some(),
            invoked_ns,
            completed_ns,
        }
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn concurrent_ops_are_reordered() {
        let commit = FileOp::Commit { slot: 0, base: None };
        let read = FileOp::Read { slot: 0 };
        // The read is invoked first but saw the commit: it must be linearized second.
        let ops = [
            op(read, Some(FileOutcome::Head { version: Some(1) }), 0, 10),
            op(commit, Some(FileOutcome::Committed { version: 1 }), 1, 9),
        ];
        assert!(matches!(search(&ops, 1, later()), Outcome::Linearizable));
    }

    #[test]
    fn unknown_ops_may_apply_or_not() {
        let commit = FileOp::Commit { slot: 0, base: None };
        let read = FileOp::Read { slot: 0 };
        let applied = [op(commit, None, 0, 0), op(read, Some(FileOutcome::Head { version: Some(1) }), 5, 6)];
        assert!(matches!(search(&applied, 1, later()), Outcome::Linearizable));
        let not_applied = [op(commit, None, 0, 0), op(read, Some(FileOutcome::Head { version: None }), 5, 6)];
        assert!(matches!(search(&not_applied, 1, later()), Outcome::Linearizable));
        let too_early =
            [op(read, Some(FileOutcome::Head { version: Some(1) }), 0, 1), op(commit, None, 5, 0)];
        match search(&too_early, 1, later()) {
            Outcome::NotLinearizable(stuck) => {
                assert_eq!(stuck.linearized, 0);
                assert_eq!(stuck.blocker, Some(0));
            }
            other => panic!("expected not linearizable, got {other:?}"),
        }
    }
}
