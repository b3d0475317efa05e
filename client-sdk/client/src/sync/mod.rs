//! The sync engine: keeps a local folder and a drive folder identical, in both directions, on
//! any number of devices at once, and never loses an edit.
//!
//! The pieces, one purpose each:
//!
//! - [`tree`]: the three views the engine compares, as plain data — the local tree, the remote
//!   tree and the base (what both held when last in step);
//! - [`state`]: the base on disk, in the synced folder's `.cairn/state.redb`, crash-safe;
//! - [`rules`]: what is not synced (`.cairnignore`, temporary and editor files);
//! - [`local`] and [`remote`]: reading the two trees;
//! - [`twins`]: names the disk takes for one (case, Unicode form), of which one is synced;
//! - [`plan`]: the pure planner, (local, remote, base) → [`Plan`], tested case by case and
//!   against a model;
//! - [`guard`]: holds back a pass's deletes in the drive when they are most of the folder,
//!   until a person confirms them;
//! - [`execute`] (and `transfer`): carries a plan out with the SDK, re-checking each premise
//!   first, touching the disk only through the folder's [`Root`](crate::disk::Root), and
//!   records each step in the base as soon as it is done;
//! - [`engine`]: the loop — a full pass at start, then a pass whenever the drive's change
//!   journal (long poll) or the file system ([`watch`]) says something changed, and a periodic
//!   rescan — publishing a [`SyncStatus`].
//!
//! **Invariants:** a local file that changed since the last sync is never overwritten or
//! deleted: its content is uploaded, or kept as a conflicted copy and uploaded. Nothing is
//! made, written, renamed or deleted outside the synced folder, nor through a symbolic link or
//! a mount point inside it. Nothing is deleted in the drive that this device cannot see: a
//! link, a name the disk cannot hold, a name the drive should never have sent.

pub mod action;
pub mod config;
pub mod conflict_name;
pub mod engine;
pub mod error;
pub mod execute;
pub mod guard;
pub mod local;
pub mod plan;
pub mod remote;
pub mod rules;
pub mod state;
pub mod status;
mod transfer;
pub mod tree;
pub mod twins;
pub mod watch;

pub use action::{Action, Plan, Waiting};
pub use config::{SyncConfig, default_device_name};
pub use engine::Engine;
pub use error::SyncError;
pub use guard::{DeleteGuard, MassDelete};
pub use plan::plan;
pub use status::{Activity, SyncStatus, read_status_file};

#[cfg(test)]
mod plan_model;
