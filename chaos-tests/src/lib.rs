//! cairn's chaos suite, after Jepsen: real `cairn-node` processes behind fault-injecting
//! proxies, clients that record every operation, nemeses that break things on a seeded
//! schedule, and checkers that read the history afterwards and say whether the cluster kept
//! its promises — nothing acknowledged lost, metadata linearizable, journals gapless.
//!
//! - [`history`]: what was done and what came back, as invoke / ok / fail / unknown events;
//! - [`check`]: the checkers, pure functions of a history;
//! - [`proxy`]: the UDP (node to node) and TCP (client to node) fault proxies;
//! - [`cluster`], [`nemesis`], [`workload`], [`run`], [`report`]: a run, end to end.

pub mod check;
pub mod history;
pub mod proxy;
