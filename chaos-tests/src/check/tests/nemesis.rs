//! Hand-made histories for the nemesis checker.

use super::*;
use crate::check::{Validity, check_nemesis};

fn drain(node: u64) -> Op {
    Op::Fault { what: format!("drain node {node}") }
}

#[test]
fn faults_that_all_took_effect_are_valid_and_the_slowest_is_named() {
    let mut h = History::default();
    h.fault("kill -9 2");
    h.call(1, read("a"));
    h.call(NEMESIS, drain(3));
    h.ok(1, head(None));
    h.ok(NEMESIS, Outcome::Applied);
    h.fault("restart 2");
    let verdict = check_nemesis(&h.events);
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:#?}");
    assert_eq!(verdict.operations, 3);
    assert!(verdict.detail.contains("drain node 3"), "{}", verdict.detail);
}

#[test]
fn a_failed_drain_is_invalid_with_its_window() {
    let mut h = History::default();
    h.fault("add node 4 to drain onto");
    let from = h.call(NEMESIS, drain(2));
    h.done(1, read("a"), head(None));
    let to = h.fail(NEMESIS);
    let verdict = check_nemesis(&h.events);
    assert_eq!(verdict.validity, Validity::Invalid, "{verdict:#?}");
    let violation = verdict.first_violation.unwrap();
    assert_eq!((violation.from_index, violation.to_index), (from, to));
    assert!(violation.description.starts_with("drain node 2: "), "{}", violation.description);
}

#[test]
fn a_nemesis_operation_never_completed_is_unknown() {
    let mut h = History::default();
    h.fault("kill -9 1");
    h.call(NEMESIS, drain(1));
    assert_eq!(check_nemesis(&h.events).validity, Validity::Unknown);
    assert_eq!(check_nemesis(&[]).validity, Validity::Valid);
}
