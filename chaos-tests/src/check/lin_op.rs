//! One operation of a component as the linearizability search sees it: the model operation,
//! what its recorded outcome allows, and when it was invoked and completed. Below the search
//! and its helpers, which all speak of it.

use super::file_model::{FileOp, FileOutcome};

/// What a recorded operation's outcome allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Any outcome (unknown operations, and acknowledged ones with no outcome recorded).
    Any,
    /// Exactly this outcome.
    Exactly(FileOutcome),
    /// No outcome the model can give (a read answering `done`).
    Never,
}

impl Expect {
    /// Whether the model's `outcome` is allowed.
    pub(crate) fn allows(self, outcome: FileOutcome) -> bool {
        match self {
            Expect::Any => true,
            Expect::Exactly(expected) => expected == outcome,
            Expect::Never => false,
        }
    }
}

/// One operation of a component, as the search sees it.
#[derive(Clone, Debug)]
pub(crate) struct LinOp {
    /// The model operation.
    pub(crate) op: FileOp,
    /// What its outcome allows.
    pub(crate) expect: Expect,
    /// Whether it must be linearized (it completed `Ok`); unknown operations need not be.
    pub(crate) required: bool,
    /// Invocation time.
    pub(crate) invoked_ns: u64,
    /// Completion time (ignored for operations that are not required).
    pub(crate) completed_ns: u64,
}
