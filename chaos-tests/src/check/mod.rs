//! The checkers: pure functions of a history that say whether the cluster kept a promise.
//!
//! Each returns a [`Verdict`] — valid, invalid with the first [`Violation`], or unknown when
//! it could not tell (out of time, missing evidence); a checker never answers valid for
//! what it did not check.
//!
//! - [`linearizable`]: per-path file state (commit, read, delete, move) is linearizable
//!   against the [`file_model`];
//! - [`journal`]: one user's change journal is gapless and holds every acknowledged commit
//!   exactly once;
//! - [`lost_writes`]: every acknowledged commit can still be downloaded, byte for byte;
//! - [`nemesis`]: every operation the nemesis began took effect (a drain ended, and the
//!   drained node could leave without `--force`);
//! - [`panics`]: no node panicked.

mod call_list;
mod context;
pub mod file_model;
pub mod journal;
mod lin_op;
pub mod linearizable;
pub mod lost_writes;
mod memo;
pub mod nemesis;
pub mod panics;
mod partition;
mod search;
mod unknowns;
mod verdict;

#[cfg(test)]
mod tests;

pub use journal::check as check_journal;
pub use linearizable::check as check_linearizable;
pub use lost_writes::check as check_lost_writes;
pub use nemesis::check as check_nemesis;
pub use panics::check as check_panics;
pub use verdict::{Validity, Verdict, Violation};
