//! Hand-made histories for the journal checker.

use super::*;
use crate::check::{Validity, Verdict, check_journal};

/// Process 1 commits (file, version, seq) triples, acknowledged.
fn commits(h: &mut History, acked: &[(u64, u64, u64)]) {
    for (file, version, seq) in acked {
        let base = version.checked_sub(1).filter(|v| *v > 0);
        h.done(
            1,
            commit(&format!("f{file}"), base),
            Outcome::Committed { file: *file, version: *version, seq: *seq },
        );
    }
}

/// Process 2 reads a page after `cursor`; returns the completion's index.
fn page(h: &mut History, cursor: u64, changes: Vec<JournalEntry>, latest: u64) -> usize {
    h.done(2, Op::Journal { cursor }, Outcome::Changes { changes, latest })
}

fn assert_invalid(verdict: &Verdict, words: &str) {
    assert_eq!(verdict.validity, Validity::Invalid, "{verdict:#?}");
    let description = &verdict.first_violation.as_ref().unwrap().description;
    assert!(description.contains(words), "expected {words:?} in {description}");
}

#[test]
fn complete_journal_is_valid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1), (1, 2, 2), (2, 1, 4)]);
    let trashed =
        JournalEntry { seq: 3, path: "f1".into(), file: Some(1), kind: "trashed".into(), version: None };
    page(&mut h, 0, vec![entry(1, 1, 1), entry(2, 1, 2)], 4);
    page(&mut h, 2, vec![trashed, entry(4, 2, 1)], 4);
    page(&mut h, 1, vec![entry(2, 1, 2)], 4);
    page(&mut h, 4, vec![], 4);
    // A commit beyond what was read is not judged.
    commits(&mut h, &[(3, 1, 5)]);
    let verdict = check_journal(&h.events);
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:#?}");
    assert!(verdict.detail.contains("3 verified in the journal, 1 beyond"), "{}", verdict.detail);
}

#[test]
fn gap_in_a_page_is_invalid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1)]);
    let at = page(&mut h, 0, vec![entry(1, 1, 1), entry(3, 2, 1)], 3);
    let verdict = check_journal(&h.events);
    assert_invalid(&verdict, "gap");
    assert_eq!(verdict.first_violation.unwrap().to_index, at);
}

#[test]
fn duplicate_in_a_page_is_invalid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1)]);
    page(&mut h, 0, vec![entry(1, 1, 1), entry(1, 1, 1)], 2);
    assert_invalid(&check_journal(&h.events), "out of order or repeated");
}

#[test]
fn entry_past_latest_is_invalid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1)]);
    page(&mut h, 0, vec![entry(1, 1, 1), entry(2, 1, 2)], 1);
    assert_invalid(&check_journal(&h.events), "past its end");
}

#[test]
fn reads_that_disagree_are_invalid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1)]);
    page(&mut h, 0, vec![entry(1, 1, 1), entry(2, 2, 1)], 2);
    page(&mut h, 1, vec![entry(2, 3, 1)], 2);
    assert_invalid(&check_journal(&h.events), "disagree on journal seq 2");
}

#[test]
fn acknowledged_commit_missing_is_invalid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1), (1, 2, 2)]);
    // Seq 2 holds something else: the acknowledged v2 is not in the journal.
    page(&mut h, 0, vec![entry(1, 1, 1), entry(2, 2, 1), entry(3, 2, 2)], 3);
    assert_invalid(&check_journal(&h.events), "Lost journal entry");
}

#[test]
fn commit_journaled_twice_is_invalid() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1)]);
    page(&mut h, 0, vec![entry(1, 1, 1), entry(2, 2, 1)], 3);
    page(&mut h, 2, vec![entry(3, 1, 1)], 3);
    assert_invalid(&check_journal(&h.events), "journaled twice");
}

#[test]
fn no_reads_is_unknown() {
    let mut h = History::default();
    commits(&mut h, &[(1, 1, 1)]);
    assert_eq!(check_journal(&h.events).validity, Validity::Unknown);
}
