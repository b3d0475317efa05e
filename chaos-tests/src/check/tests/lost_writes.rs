//! Hand-made histories for the lost-writes checker.

use std::collections::BTreeMap;

use super::*;
use crate::check::{Validity, check_lost_writes};

fn history() -> History {
    let mut h = History::default();
    h.call(1, commit("a", None));
    h.ok(1, Outcome::Committed { file: 1, version: 1, seq: 1 });
    h.call(2, commit("b", None));
    h.ok(2, Outcome::Committed { file: 2, version: 1, seq: 2 });
    // An unknown commit need not survive.
    h.call(3, commit("c", None));
    h.info(3);
    h
}

fn finals(entries: &[((u64, u64), Option<&str>)]) -> BTreeMap<(u64, u64), Option<String>> {
    entries.iter().map(|(k, v)| (*k, v.map(str::to_owned))).collect()
}

#[test]
fn every_acknowledged_write_present_is_valid() {
    let h = history();
    let verdict = check_lost_writes(
        &h.events,
        &finals(&[((1, 1), Some("hash-a-None")), ((2, 1), Some("hash-b-None"))]),
    );
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:#?}");
    assert_eq!(verdict.operations, 2);
}

#[test]
fn missing_or_unreadable_write_is_lost() {
    let h = history();
    for finals in
        [finals(&[((1, 1), Some("hash-a-None"))]), finals(&[((1, 1), Some("hash-a-None")), ((2, 1), None)])]
    {
        let verdict = check_lost_writes(&h.events, &finals);
        assert_eq!(verdict.validity, Validity::Invalid, "{verdict:#?}");
        let violation = verdict.first_violation.unwrap();
        assert_eq!((violation.from_index, violation.to_index), (2, 3));
        assert!(violation.description.contains("Lost write"), "{}", violation.description);
        assert!(verdict.detail.contains("1 lost"), "{}", verdict.detail);
    }
}

#[test]
fn write_with_other_content_is_corrupted() {
    let h = history();
    let verdict =
        check_lost_writes(&h.events, &finals(&[((1, 1), Some("beef")), ((2, 1), Some("hash-b-None"))]));
    assert_eq!(verdict.validity, Validity::Invalid, "{verdict:#?}");
    let violation = verdict.first_violation.unwrap();
    assert_eq!((violation.from_index, violation.to_index), (0, 1));
    assert!(violation.description.contains("Corrupted write"), "{}", violation.description);
}
