//! The journal checker: one user's change journal, as read page by page, is gapless and
//! consistent, and holds every acknowledged commit exactly once, at the sequence number the
//! commit was acknowledged with.
//!
//! The caller filters the history to one user's processes. Every successful page read must
//! hold exactly the entries after its cursor, in order, none past the journal's `latest`; two
//! reads of one sequence number must agree. Where the reads together cover `1..=N`, that is
//! the journal, and every acknowledged commit with a sequence number in it must be there.

use std::collections::{BTreeMap, HashMap};

use super::context::{Spans, describe_operation, faults_around};
use super::verdict::{Verdict, Violation};
use crate::history::{self, Event, EventKind, JournalEntry, Op, Operation, Outcome};

/// The checker's name in verdicts.
const NAME: &str = "journal";
/// The kind of entry a commit leaves.
const COMMITTED: &str = "version_committed";

/// Checks one user's change journal against that user's history: gapless, ordered pages;
/// reads that agree; every acknowledged commit present, exactly once, where it was promised.
pub fn check(events: &[Event]) -> Verdict {
    let ops = history::operations(events);
    let spans = Spans::new(events);
    let mut found = Findings { events, spans: &spans, violations: Vec::new() };

    // Every entry read, by sequence number, with the read that first showed it.
    let mut journal: BTreeMap<u64, (&JournalEntry, &Operation)> = BTreeMap::new();
    let mut reads = 0usize;
    for op in ops.iter().filter(|op| op.end == EventKind::Ok) {
        let (Op::Journal { cursor }, Some(Outcome::Changes { changes, latest })) = (&op.op, &op.outcome)
        else {
            continue;
        };
        reads += 1;
        check_page(&mut found, op, *cursor, changes, *latest);
        for entry in changes {
            match journal.get(&entry.seq) {
                Some((earlier, first_read)) if *earlier != entry => found.add(
                    first_read,
                    op,
                    "reads disagree",
                    format!(
                        "Two reads disagree on journal seq {}: {} showed {}, {} showed {}.",
                        entry.seq,
                        describe_operation(first_read, &spans),
                        entry_words(earlier),
                        describe_operation(op, &spans),
                        entry_words(entry),
                    ),
                ),
                Some(_) => {}
                None => {
                    journal.insert(entry.seq, (entry, op));
                }
            }
        }
    }

    let covered = journal.keys().zip(1..).take_while(|(seq, n)| **seq == *n).count() as u64;
    check_commits_once(&mut found, &journal);

    let (mut verified, mut beyond) = (0usize, 0usize);
    let mut commits = 0usize;
    for op in ops.iter().filter(|op| op.end == EventKind::Ok) {
        let (Op::Commit { path, .. }, Some(Outcome::Committed { file, version, seq })) =
            (&op.op, &op.outcome)
        else {
            continue;
        };
        commits += 1;
        if *seq == 0 || *seq > covered {
            beyond += 1;
            continue;
        }
        let Some((entry, read)) = journal.get(seq) else { continue };
        let matches = entry.kind == COMMITTED && entry.file == Some(*file) && entry.version == Some(*version);
        if matches {
            verified += 1;
        } else {
            found.add(
                op,
                read,
                "acknowledged commit missing",
                format!(
                    "Lost journal entry: {} (commit of {path}) was acknowledged at seq {seq}, but the journal \
                     (read by {}) has {} there.",
                    describe_operation(op, &spans),
                    describe_operation(read, &spans),
                    entry_words(entry),
                ),
            );
        }
    }

    let detail = format!(
        "{reads} page reads covering seqs 1..={covered} ({} entries seen); {commits} acknowledged commits: \
         {verified} verified in the journal, {beyond} beyond what was read{}",
        journal.len(),
        found.summary(),
    );
    let checked = reads + commits;
    match found.first() {
        Some(violation) => Verdict::invalid(NAME, checked, detail, violation),
        None if reads == 0 || (commits > 0 && verified == 0) => Verdict::unknown(NAME, checked, detail),
        None => Verdict::valid(NAME, checked, detail),
    }
}

/// Checks one page: exactly the entries after `cursor`, in order, none past `latest`.
fn check_page(found: &mut Findings<'_>, op: &Operation, cursor: u64, changes: &[JournalEntry], latest: u64) {
    for (expected, entry) in (cursor.saturating_add(1)..).zip(changes) {
        if entry.seq != expected {
            let seqs: Vec<String> = changes.iter().map(|e| e.seq.to_string()).collect();
            let what = if entry.seq > expected { "gap" } else { "out of order or repeated" };
            found.add(
                op,
                op,
                "bad page",
                format!(
                    "Journal page {what}: {} returned seqs [{}], expected {expected} at position {}.",
                    describe_operation(op, found.spans),
                    seqs.join(", "),
                    expected - cursor - 1,
                ),
            );
            return;
        }
        if entry.seq > latest {
            found.add(
                op,
                op,
                "bad page",
                format!(
                    "Journal page past its end: {} returned seq {} but said latest is {latest}.",
                    describe_operation(op, found.spans),
                    entry.seq,
                ),
            );
            return;
        }
    }
}

/// Checks that no committed (file, version) appears at two sequence numbers.
fn check_commits_once(found: &mut Findings<'_>, journal: &BTreeMap<u64, (&JournalEntry, &Operation)>) {
    let mut first_seq: HashMap<(u64, u64), (u64, &Operation)> = HashMap::new();
    for (seq, (entry, read)) in journal {
        let (COMMITTED, Some(file), Some(version)) = (entry.kind.as_str(), entry.file, entry.version) else {
            continue;
        };
        match first_seq.get(&(file, version)) {
            Some((earlier, first_read)) => found.add(
                first_read,
                read,
                "commit journaled twice",
                format!(
                    "File {file} v{version} was journaled twice, at seq {earlier} and at seq {seq} (read by {} \
                     and {}).",
                    describe_operation(first_read, found.spans),
                    describe_operation(read, found.spans),
                ),
            ),
            None => {
                first_seq.insert((file, version), (*seq, read));
            }
        }
    }
}

/// A journal entry in words.
fn entry_words(entry: &JournalEntry) -> String {
    let file = entry.file.map_or_else(String::new, |f| format!(" file {f}"));
    let version = entry.version.map_or_else(String::new, |v| format!(" v{v}"));
    format!("{} {}{file}{version}", entry.kind, entry.path)
}

/// The violations found so far.
struct Findings<'a> {
    events: &'a [Event],
    spans: &'a Spans,
    violations: Vec<(&'static str, Violation)>,
}

impl Findings<'_> {
    /// Records a violation spanning two operations (from the earlier's invocation to the
    /// later's completion).
    fn add(&mut self, a: &Operation, b: &Operation, kind: &'static str, mut description: String) {
        let from = a.index.min(b.index);
        let to = self.spans.end(a.index).max(self.spans.end(b.index));
        description.push_str(&faults_around(self.events, from, to));
        self.violations.push((kind, Violation::new(from, to, description)));
    }

    /// The violation that completed first in the history.
    fn first(&self) -> Option<Violation> {
        self.violations.iter().min_by_key(|(_, v)| (v.to_index, v.from_index)).map(|(_, v)| v.clone())
    }

    /// "; violations: 2 bad page, 1 reads disagree", or "".
    fn summary(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (kind, _) in &self.violations {
            *counts.entry(kind).or_default() += 1;
        }
        if counts.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = counts.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
        format!("; violations: {}", parts.join(", "))
    }
}
