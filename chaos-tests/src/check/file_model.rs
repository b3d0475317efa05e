//! The sequential model of the drive's per-path file state that linearizability is checked
//! against: what each commit, read, delete and move must do to a set of paths.
//!
//! Paths are numbered slots (`0..n`) of one independent component, so a state is a small
//! slice that is cheap to copy, compare and hash.

use std::fmt;

use crate::history::{Op, Outcome};

/// What is at one path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FileState {
    /// No file, live or trashed.
    #[default]
    Empty,
    /// A live file whose newest version is `head`.
    Live {
        /// The newest version.
        head: u64,
    },
    /// A trashed file whose newest version is `head`; a commit on top revives it at `head + 1`.
    Trashed {
        /// The newest version.
        head: u64,
    },
}

impl FileState {
    /// The head a read or a commit's base sees: the live file's, `None` otherwise.
    pub fn visible_head(self) -> Option<u64> {
        match self {
            FileState::Live { head } => Some(head),
            FileState::Empty | FileState::Trashed { .. } => None,
        }
    }

    /// The newest version of whatever file is here, live or trashed (0 when empty), which the
    /// next commit continues from.
    pub fn head(self) -> u64 {
        match self {
            FileState::Live { head } | FileState::Trashed { head } => head,
            FileState::Empty => 0,
        }
    }

    /// The state as one word, for memo keys: the tag in the low two bits, the head above.
    pub(crate) fn pack(self) -> u64 {
        match self {
            FileState::Empty => 0,
            FileState::Live { head } => (head << 2) | 1,
            FileState::Trashed { head } => (head << 2) | 2,
        }
    }
}

impl fmt::Display for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileState::Empty => write!(f, "empty"),
            FileState::Live { head } => write!(f, "live v{head}"),
            FileState::Trashed { head } => write!(f, "trashed v{head}"),
        }
    }
}

/// An operation on the model, with paths replaced by slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileOp {
    /// Commit a new version of `slot` if its visible head is `base`.
    Commit {
        /// The path.
        slot: usize,
        /// The expected visible head.
        base: Option<u64>,
    },
    /// Read the visible head of `slot`.
    Read {
        /// The path.
        slot: usize,
    },
    /// Trash the live file at `slot`.
    Delete {
        /// The path.
        slot: usize,
    },
    /// Move whatever is at `from` to the free path `to`.
    Move {
        /// The source path.
        from: usize,
        /// The destination path.
        to: usize,
    },
}

/// What the model says an operation returns (the parts of an [`Outcome`] it decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileOutcome {
    /// The commit made `version`.
    Committed {
        /// The new head.
        version: u64,
    },
    /// The commit was refused; the visible head was `head`.
    Conflict {
        /// The visible head.
        head: Option<u64>,
    },
    /// The read saw `version`.
    Head {
        /// The visible head.
        version: Option<u64>,
    },
    /// The delete or move happened.
    Done,
    /// The delete or move changed nothing (any error code).
    Refused,
}

impl fmt::Display for FileOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| format!("v{v}"));
        match self {
            FileOutcome::Committed { version } => write!(f, "committed v{version}"),
            FileOutcome::Conflict { head } => write!(f, "conflict, head {}", words(*head)),
            FileOutcome::Head { version } => write!(f, "head {}", words(*version)),
            FileOutcome::Done => write!(f, "done"),
            FileOutcome::Refused => write!(f, "refused"),
        }
    }
}

impl FileOp {
    /// The model operation for a history operation, given each path's slot; `None` for
    /// operations the model does not cover (journal, download, fault) or an unknown path.
    pub fn from_op(op: &Op, slot_of: impl Fn(&str) -> Option<usize>) -> Option<FileOp> {
        Some(match op {
            Op::Commit { path, base, .. } => FileOp::Commit { slot: slot_of(path)?, base: *base },
            Op::Read { path } => FileOp::Read { slot: slot_of(path)? },
            Op::Delete { path } => FileOp::Delete { slot: slot_of(path)? },
            Op::Move { from, to } => FileOp::Move { from: slot_of(from)?, to: slot_of(to)? },
            Op::Journal { .. } | Op::Download { .. } | Op::Fault { .. } => return None,
        })
    }

    /// The slots this operation may change (the second only for a move).
    pub fn touches(self) -> (usize, Option<usize>) {
        match self {
            FileOp::Commit { slot, .. } | FileOp::Read { slot } | FileOp::Delete { slot } => (slot, None),
            FileOp::Move { from, to } => (from, Some(to)),
        }
    }

    /// Applies the operation to `state` (indexed by slot) and returns what the model says it
    /// returns. A slot out of range reads as empty and is never written.
    pub fn apply(self, state: &mut [FileState]) -> FileOutcome {
        let at = |state: &[FileState], slot: usize| state.get(slot).copied().unwrap_or_default();
        match self {
            FileOp::Commit { slot, base } => {
                let current = at(state, slot);
                if current.visible_head() != base {
                    return FileOutcome::Conflict { head: current.visible_head() };
                }
                let version = current.head() + 1;
                if let Some(s) = state.get_mut(slot) {
                    *s = FileState::Live { head: version };
                }
                FileOutcome::Committed { version }
            }
            FileOp::Read { slot } => FileOutcome::Head { version: at(state, slot).visible_head() },
            FileOp::Delete { slot } => match state.get_mut(slot) {
                Some(s @ FileState::Live { .. }) => {
                    *s = FileState::Trashed { head: s.head() };
                    FileOutcome::Done
                }
                _ => FileOutcome::Refused,
            },
            FileOp::Move { from, to } => {
                let source = at(state, from);
                if source == FileState::Empty || at(state, to) != FileState::Empty {
                    return FileOutcome::Refused;
                }
                let Some(dest) = state.get_mut(to) else { return FileOutcome::Refused };
                *dest = source;
                if let Some(s) = state.get_mut(from) {
                    *s = FileState::Empty;
                }
                FileOutcome::Done
            }
        }
    }
}

impl FileOutcome {
    /// What a recorded outcome says, in the model's terms; `None` if the outcome is not one
    /// this operation can have at all (a read answering `done`), which no state explains.
    pub fn observed(op: FileOp, outcome: &Outcome) -> Option<FileOutcome> {
        Some(match (op, outcome) {
            (FileOp::Commit { .. }, Outcome::Committed { version, .. }) => {
                FileOutcome::Committed { version: *version }
            }
            (FileOp::Commit { .. }, Outcome::Conflict { head }) => FileOutcome::Conflict { head: *head },
            (FileOp::Read { .. }, Outcome::Head { version }) => FileOutcome::Head { version: *version },
            (FileOp::Delete { .. } | FileOp::Move { .. }, Outcome::Done) => FileOutcome::Done,
            (FileOp::Delete { .. } | FileOp::Move { .. }, Outcome::Refused { .. }) => FileOutcome::Refused,
            _ => return None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn commits_continue_versions_through_the_trash() {
        let mut state = [FileState::Empty];
        assert_eq!(
            FileOp::Commit { slot: 0, base: None }.apply(&mut state),
            FileOutcome::Committed { version: 1 }
        );
        assert_eq!(
            FileOp::Commit { slot: 0, base: None }.apply(&mut state),
            FileOutcome::Conflict { head: Some(1) }
        );
        assert_eq!(FileOp::Delete { slot: 0 }.apply(&mut state), FileOutcome::Done);
        assert_eq!(state[0], FileState::Trashed { head: 1 });
        assert_eq!(FileOp::Delete { slot: 0 }.apply(&mut state), FileOutcome::Refused);
        assert_eq!(FileOp::Read { slot: 0 }.apply(&mut state), FileOutcome::Head { version: None });
        assert_eq!(
            FileOp::Commit { slot: 0, base: None }.apply(&mut state),
            FileOutcome::Committed { version: 2 }
        );
    }

    #[test]
    fn moves_need_a_source_and_a_free_destination() {
        let mut state = [FileState::Live { head: 3 }, FileState::Trashed { head: 1 }, FileState::Empty];
        assert_eq!(FileOp::Move { from: 0, to: 1 }.apply(&mut state), FileOutcome::Refused);
        assert_eq!(FileOp::Move { from: 0, to: 0 }.apply(&mut state), FileOutcome::Refused);
        assert_eq!(FileOp::Move { from: 2, to: 0 }.apply(&mut state), FileOutcome::Refused);
        assert_eq!(FileOp::Move { from: 1, to: 2 }.apply(&mut state), FileOutcome::Done);
        assert_eq!(state, [FileState::Live { head: 3 }, FileState::Empty, FileState::Trashed { head: 1 }]);
    }

    #[test]
    fn outcomes_of_the_wrong_kind_are_never_observed() {
        let read = FileOp::Read { slot: 0 };
        assert_eq!(FileOutcome::observed(read, &Outcome::Done), None);
        assert_eq!(
            FileOutcome::observed(read, &Outcome::Head { version: Some(2) }),
            Some(FileOutcome::Head { version: Some(2) })
        );
    }
}
