//! Node logs for the panic checker.

use std::path::PathBuf;

use crate::check::{Validity, check_panics};

fn log(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn clean_logs_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let logs =
        vec![(1, log(&dir, "1.log", "INFO started\nINFO elected leader\n")), (2, log(&dir, "2.log", ""))];
    let verdict = check_panics(&logs);
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:#?}");
    assert_eq!(verdict.operations, 2);
}

#[test]
fn a_panic_is_invalid_with_context() {
    let dir = tempfile::tempdir().unwrap();
    let text = "INFO a\nINFO b\nINFO c\nthread 'tokio-runtime-worker' panicked at raft/src/log.rs:10:5:\n\
                index out of bounds\nnote: run with RUST_BACKTRACE=1\n";
    let logs = vec![(1, log(&dir, "1.log", "INFO fine\n")), (3, log(&dir, "3.log", text))];
    let verdict = check_panics(&logs);
    assert_eq!(verdict.validity, Validity::Invalid, "{verdict:#?}");
    let description = verdict.first_violation.unwrap().description;
    assert!(description.starts_with("Node 3 panicked"), "{description}");
    assert!(description.contains("line 4"), "{description}");
    assert!(description.contains("index out of bounds"), "{description}");
    assert!(description.contains("INFO b"), "{description}");
    assert!(!description.contains("INFO a"), "{description}");
}

#[test]
fn a_missing_log_is_unknown_unless_another_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.log");
    let clean = log(&dir, "1.log", "INFO fine\n");
    let verdict = check_panics(&[(1, clean), (2, missing.clone())]);
    assert_eq!(verdict.validity, Validity::Unknown, "{verdict:#?}");
    assert!(verdict.detail.contains("could not read node 2"), "{}", verdict.detail);

    let panicked = log(&dir, "3.log", "thread 'main' panicked at src/main.rs:1:1:\nboom\n");
    assert_eq!(check_panics(&[(2, missing), (3, panicked)]).validity, Validity::Invalid);
    assert_eq!(check_panics(&[]).validity, Validity::Unknown);
}
