//! cairn's chaos suite, after Jepsen: real `cairn-node` processes behind fault-injecting
//! proxies, clients that record every operation, nemeses that break things on a seeded
//! schedule, and checkers that read the history afterwards and say whether the cluster kept
//! its promises — nothing acknowledged lost, metadata linearizable, journals gapless, every
//! block whole again after healing, no node panicked.
//!
//! - [`history`]: what was done and what came back, as invoke / ok / fail / unknown events;
//! - [`check`]: the checkers, pure functions of a history;
//! - [`proxy`]: the UDP (node to node) and TCP (client to node) fault proxies;
//! - [`cluster`]: real processes behind those proxies;
//! - [`nemesis`]: the seeded fault schedule and what each fault does;
//! - [`workload`]: the clients;
//! - [`finals`] and [`health`]: what the cluster holds after healing;
//! - [`run`] and [`report`]: a run end to end, and its report folder.

pub mod check;
pub mod cluster;
pub mod finals;
pub mod health;
pub mod history;
pub mod nemesis;
pub mod proxy;
pub mod report;
pub mod run;
pub mod workload;
