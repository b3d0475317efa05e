//! The lost-writes checker: every commit the cluster acknowledged can still be downloaded
//! after it healed, with the content that was committed.

use std::collections::BTreeMap;

use super::context::{Spans, describe_operation, faults_around};
use super::verdict::{Verdict, Violation};
use crate::history::{self, Event, EventKind, Op, Outcome};

/// The checker's name in verdicts.
const NAME: &str = "lost_writes";

/// Checks every acknowledged commit in `events` against `finals`, which maps (file id,
/// version) to the blake3 hex of that version as downloaded after the cluster healed (`None`:
/// it could not be read). A missing or unreadable version is a lost write, a different hash a
/// corrupted one. Commits with unknown outcomes are not required to be there.
pub fn check(events: &[Event], finals: &BTreeMap<(u64, u64), Option<String>>) -> Verdict {
    let spans = Spans::new(events);
    let (mut checked, mut lost, mut corrupted) = (0usize, 0usize, 0usize);
    let mut first: Option<Violation> = None;
    for op in history::operations(events).iter().filter(|op| op.end == EventKind::Ok) {
        let (Op::Commit { hash, size, .. }, Some(Outcome::Committed { file, version, .. })) =
            (&op.op, &op.outcome)
        else {
            continue;
        };
        checked += 1;
        let problem = match finals.get(&(*file, *version)) {
            Some(Some(found)) if found.eq_ignore_ascii_case(hash) => continue,
            Some(Some(found)) => {
                corrupted += 1;
                format!(
                    "Corrupted write: it now downloads with hash {found}, not the committed {hash} ({size} bytes)."
                )
            }
            Some(None) => {
                lost += 1;
                "Lost write: it could not be downloaded after the cluster healed.".to_owned()
            }
            None => {
                lost += 1;
                "Lost write: it was not among the versions fetched after the cluster healed.".to_owned()
            }
        };
        if first.is_none() {
            let (from, to) = (op.index, spans.end(op.index));
            let description = format!(
                "{} (file {file} v{version}). {problem}{}",
                describe_operation(op, &spans),
                faults_around(events, from, to)
            );
            first = Some(Violation::new(from, to, description));
        }
    }
    let detail = format!(
        "{checked} acknowledged commits checked against {} downloaded versions: {lost} lost, {corrupted} corrupted",
        finals.len()
    );
    match first {
        Some(violation) => Verdict::invalid(NAME, checked, detail, violation),
        None => Verdict::valid(NAME, checked, detail),
    }
}
