//! The nemesis checker: every operation the nemesis began on the cluster took effect.
//!
//! Most faults cannot fail (a proxy rule, a signal) and are recorded as applied at once. The
//! drain nemesis's steps can: `member drain --wait` must end with the node empty, and
//! `member remove` without `--force` must then accept it. Those are promises of the cluster
//! like any a client relies on, so a failed one makes the run invalid.

use std::time::Duration;

use super::verdict::{Verdict, Violation};
use crate::history::{Event, EventKind, NEMESIS, Op};

/// The checker's name in verdicts.
const NAME: &str = "nemesis";

/// Pairs the nemesis's invocations with their completions (it does one thing at a time) and
/// reports the first that failed; unknown if one never completed.
pub fn check(events: &[Event]) -> Verdict {
    let mut open: Option<&Event> = None;
    let mut done = 0;
    let mut slowest: Option<(u64, &str)> = None;
    let mut failed: Vec<Violation> = Vec::new();
    for event in events.iter().filter(|e| e.process == NEMESIS) {
        if event.kind == EventKind::Invoke {
            open = Some(event);
            continue;
        }
        let Some(start) = open.take() else { continue };
        done += 1;
        let what = match &start.op {
            Op::Fault { what } => what.as_str(),
            _ => "?",
        };
        let took = event.time_ns.saturating_sub(start.time_ns);
        if slowest.is_none_or(|(longest, _)| took > longest) {
            slowest = Some((took, what));
        }
        if event.kind != EventKind::Ok {
            let why = event.error.as_deref().unwrap_or("no reason given");
            failed.push(Violation::new(start.index, event.index, format!("{what}: {why}")));
        }
    }
    let slowest = slowest.map_or_else(String::new, |(ns, what)| {
        format!("; the slowest, {what:?}, took {:.1?}", Duration::from_nanos(ns))
    });
    if let Some(first) = failed.first() {
        return Verdict::invalid(
            NAME,
            done,
            format!("{} of {done} nemesis operations failed{slowest}", failed.len()),
            first.clone(),
        );
    }
    if let Some(start) = open {
        return Verdict::unknown(NAME, done, format!("history event {} never completed", start.index));
    }
    Verdict::valid(NAME, done, format!("all {done} nemesis operations took effect{slowest}"))
}
