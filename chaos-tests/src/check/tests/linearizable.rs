//! Hand-made histories for the linearizability checker.

use std::time::Duration;

use super::*;
use crate::check::{Validity, Verdict, check_linearizable};

fn check(h: &History) -> Verdict {
    check_linearizable(&h.events, Duration::from_secs(10))
}

fn assert_valid(h: &History) {
    let verdict = check(h);
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:#?}");
}

/// Asserts the history is not linearizable and the violation's window covers `from..=to`.
fn assert_invalid(h: &History, from: usize, to: usize) -> String {
    let verdict = check(h);
    assert_eq!(verdict.validity, Validity::Invalid, "{verdict:#?}");
    let violation = verdict.first_violation.expect("a violation");
    assert!(
        violation.from_index <= from && to <= violation.to_index,
        "window {}..={} should cover {from}..={to}: {}",
        violation.from_index,
        violation.to_index,
        violation.description
    );
    violation.description
}

#[test]
fn sequential_history_is_valid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    h.done(1, read("a"), head(Some(1)));
    h.done(2, commit("a", None), conflict(Some(1)));
    h.done(2, commit("a", Some(1)), committed(2));
    h.done(1, read("a"), head(Some(2)));
    h.done(1, read("b"), head(None));
    let verdict = check(&h);
    assert!(verdict.is_valid(), "{verdict:#?}");
    assert_eq!(verdict.operations, 6);
}

#[test]
fn concurrent_operations_are_reordered() {
    let mut h = History::default();
    // Process 1 reads while process 2 commits; the read saw the commit, so it goes second,
    // though it was invoked first. Process 3's read overlapped too but did not see it.
    h.call(1, read("a"));
    h.call(3, read("a"));
    h.call(2, commit("a", None));
    h.ok(2, committed(1));
    h.ok(3, head(None));
    h.ok(1, head(Some(1)));
    // Two commits race from the same base: one wins, the other sees its head.
    h.call(1, commit("a", Some(1)));
    h.call(2, commit("a", Some(1)));
    h.ok(2, conflict(Some(2)));
    h.ok(1, committed(2));
    assert_valid(&h);
}

#[test]
fn unknown_operation_that_took_effect() {
    let mut h = History::default();
    h.call(1, commit("a", None));
    h.info(1);
    h.fault("partition {1} | {2,3}");
    h.done(2, read("a"), head(None));
    // It took effect late, after process 2's first read.
    h.done(2, read("a"), head(Some(1)));
    h.done(2, commit("a", Some(1)), committed(2));
    assert_valid(&h);
}

#[test]
fn unknown_operations_that_never_took_effect() {
    let mut h = History::default();
    h.call(1, commit("a", None));
    h.info(1);
    h.call(3, delete("a"));
    // Process 3 never hears back at all.
    h.done(2, read("a"), head(None));
    h.done(2, commit("a", None), committed(1));
    h.done(2, read("a"), head(Some(1)));
    h.call(1, commit("a", None));
    h.fail(1);
    h.done(2, commit("a", Some(1)), committed(2));
    assert_valid(&h);
}

#[test]
fn moves_and_deletes_then_recreate_continue_versions() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    h.done(1, commit("a", Some(1)), committed(2));
    h.done(2, commit("b", None), committed(1));
    h.done(1, mv("a", "b"), refused());
    h.done(1, mv("a", "c"), Outcome::Done);
    h.done(2, read("a"), head(None));
    h.done(2, read("c"), head(Some(2)));
    h.done(2, delete("c"), Outcome::Done);
    h.done(2, delete("c"), refused());
    h.done(2, read("c"), head(None));
    // A trashed file still holds its path, so nothing can move onto it...
    h.done(1, mv("b", "c"), refused());
    // ...and a commit on top of it revives it with the next version.
    h.done(1, commit("c", None), committed(3));
    h.done(1, read("c"), head(Some(3)));
    h.done(2, commit("a", None), committed(1));
    h.done(2, mv("x", "y"), refused());
    assert_valid(&h);
}

#[test]
fn stale_read_after_a_completed_commit_is_invalid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    h.fault("kill 1");
    let from = h.call(2, read("a"));
    let to = h.ok(2, head(None));
    let text = assert_invalid(&h, from, to);
    assert!(text.contains("process 2 read a → head none"), "{text}");
    assert!(text.contains("the model says head v1"), "{text}");
    assert!(text.contains("kill 1"), "{text}");
}

#[test]
fn two_commits_from_one_base_are_invalid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    let from = h.call(1, commit("a", Some(1)));
    h.call(2, commit("a", Some(1)));
    h.ok(1, committed(2));
    let to = h.ok(2, committed(2));
    assert_invalid(&h, from, to);
}

#[test]
fn conflict_with_the_wrong_head_is_invalid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    let from = h.call(2, commit("a", None));
    let to = h.ok(2, conflict(Some(2)));
    let text = assert_invalid(&h, from, to);
    assert!(text.contains("the model says conflict, head v1"), "{text}");
}

#[test]
fn read_of_a_version_never_made_is_invalid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    h.call(2, commit("a", Some(1)));
    h.info(2);
    let from = h.call(3, read("a"));
    let to = h.ok(3, head(Some(7)));
    assert_invalid(&h, from, to);
}

#[test]
fn move_that_leaves_the_source_visible_is_invalid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    h.done(1, mv("a", "b"), Outcome::Done);
    h.done(2, read("b"), head(Some(1)));
    let from = h.call(2, read("a"));
    let to = h.ok(2, head(Some(1)));
    let text = assert_invalid(&h, from, to);
    assert!(text.contains("paths a, b"), "{text}");
}

#[test]
fn one_bad_component_makes_the_history_invalid() {
    let mut h = History::default();
    h.done(1, commit("a", None), committed(1));
    h.done(1, commit("b", None), committed(1));
    h.done(2, read("b"), head(Some(1)));
    let from = h.call(2, read("a"));
    let to = h.ok(2, head(Some(2)));
    h.done(1, read("c"), head(None));
    let verdict = check(&h);
    assert!(verdict.detail.contains("3 independent components: 2 linearizable, 1 not"), "{}", verdict.detail);
    assert_invalid(&h, from, to);
}

#[test]
fn outcome_of_the_wrong_kind_is_invalid() {
    let mut h = History::default();
    let from = h.call(1, read("a"));
    let to = h.ok(1, Outcome::Done);
    let text = assert_invalid(&h, from, to);
    assert!(text.contains("cannot have"), "{text}");
}

#[test]
fn zero_time_limit_is_unknown_never_valid() {
    let mut h = History::default();
    for i in 0..20 {
        h.call(1, read("a"));
        h.call(2, commit("a", if i == 0 { None } else { Some(i) }));
        h.ok(2, committed(i + 1));
        h.ok(1, head(Some(i + 1)));
    }
    assert!(check(&h).is_valid());
    let verdict = check_linearizable(&h.events, Duration::ZERO);
    assert_eq!(verdict.validity, Validity::Unknown, "{verdict:#?}");
    assert!(verdict.detail.contains("time limit"), "{}", verdict.detail);
}

#[test]
fn empty_history_is_valid() {
    assert!(check_linearizable(&[], Duration::ZERO).is_valid());
}
