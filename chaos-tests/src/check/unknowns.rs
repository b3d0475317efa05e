//! The search's index of operations with unknown outcomes, grouped by what they would do.
//!
//! Identical unknown operations (same kind, paths and base) are interchangeable once
//! invoked, so only the earliest unused one of each group may be applied next: trying each
//! would explore the same states again. And only the groups that would change the current
//! state are worth trying (an unknown operation that changes nothing is the same as one that
//! never happened), which the state itself names: a commit on the visible head of a path, a
//! delete of a live file, a move from an occupied path to a free one. So a dead end costs a
//! few lookups, not a scan of every unknown operation still pending.

use std::collections::HashMap;

use super::file_model::{FileOp, FileState};
use super::lin_op::LinOp;

/// The unknown operations of a component.
pub(crate) struct Unknowns {
    group_of: HashMap<FileOp, usize>,
    /// Each group's operations (indices into the search's operations), by invocation.
    members: Vec<Vec<usize>>,
    /// How many of each group's operations are applied (always the earliest ones).
    used: Vec<usize>,
    /// The groups of moves, with their paths.
    moves: Vec<(usize, usize, usize)>,
}

impl Unknowns {
    /// Groups the unknown operations among `ops` (sorted by invocation).
    pub(crate) fn new(ops: &[LinOp]) -> Self {
        let mut index =
            Self { group_of: HashMap::new(), members: Vec::new(), used: Vec::new(), moves: Vec::new() };
        for (i, op) in ops.iter().enumerate().filter(|(_, op)| !op.required) {
            let group = *index.group_of.entry(op.op).or_insert_with(|| {
                index.members.push(Vec::new());
                index.used.push(0);
                if let FileOp::Move { from, to } = op.op {
                    index.moves.push((from, to, index.members.len() - 1));
                }
                index.members.len() - 1
            });
            index.members[group].push(i);
        }
        index
    }

    /// The next unused operation of the group of `op`, if invoked by `until`.
    fn next_of(&self, op: &FileOp, until: u64, ops: &[LinOp]) -> Option<usize> {
        self.next_in(*self.group_of.get(op)?, until, ops)
    }

    /// The next unused operation of `group`, if invoked by `until`.
    fn next_in(&self, group: usize, until: u64, ops: &[LinOp]) -> Option<usize> {
        let next = *self.members[group].get(self.used[group])?;
        (ops[next].invoked_ns <= until).then_some(next)
    }

    /// The unknown operations worth trying at `state`, invoked by `until`, oldest first.
    pub(crate) fn candidates(&self, state: &[FileState], until: u64, ops: &[LinOp]) -> Vec<usize> {
        let mut out = Vec::new();
        if self.members.is_empty() {
            return out;
        }
        for (slot, s) in state.iter().enumerate() {
            let commit = FileOp::Commit { slot, base: s.visible_head() };
            out.extend(self.next_of(&commit, until, ops));
            if s.visible_head().is_some() {
                out.extend(self.next_of(&FileOp::Delete { slot }, until, ops));
            }
        }
        for (from, to, group) in &self.moves {
            let free = state.get(*to) == Some(&FileState::Empty);
            let occupied = state.get(*from).is_some_and(|s| *s != FileState::Empty);
            if from != to && free && occupied {
                out.extend(self.next_in(*group, until, ops));
            }
        }
        out.sort_unstable_by_key(|i| (ops[*i].invoked_ns, *i));
        out
    }

    /// Records that `op` (the next of its group) was applied.
    pub(crate) fn take(&mut self, op: &FileOp) {
        if let Some(group) = self.group_of.get(op) {
            self.used[*group] += 1;
        }
    }

    /// Records that the last applied operation of `op`'s group was taken back.
    pub(crate) fn put_back(&mut self, op: &FileOp) {
        if let Some(group) = self.group_of.get(op) {
            self.used[*group] -= 1;
        }
    }
}
