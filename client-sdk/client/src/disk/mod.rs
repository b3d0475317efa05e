//! The local disk, as sync and folder downloads write to it: which names it can hold
//! ([`names`]) and the wall that keeps every change inside the folder being written
//! ([`root`]).
//!
//! **Invariant:** nothing this crate writes, renames or removes on a local disk is reached by
//! a path that was not built by [`Root::join`] from checked names and checked by
//! [`Root::check`] just before.

pub mod names;
pub mod root;

pub use names::{DiskNames, portability_note, windows_problem};
pub use root::{Breach, Root};
