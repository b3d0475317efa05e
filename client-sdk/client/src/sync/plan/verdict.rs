//! The planner's verdicts: what it decides about one path before renames are paired and
//! folders checked, and which paths keep what is below them waiting. Below both the planner and
//! its rename pairing, which read and rewrite verdicts.

use std::collections::{BTreeMap, BTreeSet};

use crate::sync::action::Action;
use crate::sync::tree::parent;

/// Which side lost a folder that the other still has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lost {
    /// The disk lost it: delete it in the drive, if nothing below it changed there.
    Locally,
    /// The drive lost it: delete it on the disk, if nothing below it changed there.
    Remotely,
}

/// A folder one side lost, with what replaces it on that side (a file of the same name).
#[derive(Debug, Clone)]
pub(super) struct Gone {
    pub(super) lost: Lost,
    pub(super) then: Option<Action>,
}

/// The decision about one path, before rename pairing and folder checks.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    /// Actions of the first phase (parents first).
    pub(super) now: Vec<Action>,
    /// Actions of the second phase (children first).
    pub(super) later: Vec<Action>,
    /// A folder one side lost, still to be checked against what is below it.
    pub(super) gone: Option<Gone>,
    /// Nothing below this path is done in this pass, for this reason.
    pub(super) blocks: Option<String>,
    /// Left by a rename, to this path (whose first-phase action is the rename).
    pub(super) moved_to: Option<String>,
    /// Reached by a rename: something arrives here, so a folder above it must stay.
    pub(super) arrives: bool,
}

impl Verdict {
    pub(super) fn now(actions: Vec<Action>) -> Self {
        Self { now: actions, ..Self::default() }
    }

    pub(super) fn later(action: Action) -> Self {
        Self { later: vec![action], ..Self::default() }
    }

    pub(super) fn gone(lost: Lost, then: Option<Action>) -> Self {
        Self { gone: Some(Gone { lost, then }), ..Self::default() }
    }

    pub(super) fn blocked(now: Vec<Action>, reason: &str) -> Self {
        Self { now, blocks: Some(reason.to_owned()), ..Self::default() }
    }

    /// Whether this path is only being deleted (or left) on the side that lost its parent
    /// folder, so that folder may be deleted whole.
    pub(super) fn only_leaves(&self, lost: Lost) -> bool {
        self.now.is_empty()
            && !self.arrives
            && self.blocks.is_none()
            && self.gone.is_none()
            && self.later.iter().all(|a| match lost {
                Lost::Locally => {
                    matches!(a, Action::DeleteRemoteFile { .. } | Action::DeleteRemoteFolder { .. })
                }
                Lost::Remotely => {
                    matches!(a, Action::DeleteLocalFile { .. } | Action::DeleteLocalFolder { .. })
                }
            } || matches!(a, Action::Forget { .. }))
    }
}

/// The paths whose verdict keeps everything below them waiting.
pub(super) fn blocked_paths(verdicts: &BTreeMap<String, Verdict>) -> BTreeSet<String> {
    verdicts.iter().filter(|(_, v)| v.blocks.is_some()).map(|(p, _)| p.clone()).collect()
}

/// Whether `path` or a folder above it is in `blocked`.
pub(super) fn under_blocked(path: &str, blocked: &BTreeSet<String>) -> bool {
    let mut at = Some(path);
    while let Some(p) = at {
        if blocked.contains(p) {
            return true;
        }
        at = parent(p);
    }
    false
}
