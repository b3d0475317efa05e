//! Every input of every fuzz target's corpus (`fuzz/corpus/<target>/`), fed through the same
//! check the target runs: the corpora are regression tests, run by `make test` on a stable
//! compiler. An input that once crashed a target stays in its corpus once fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use cairn_fuzz_checks::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target)
}

#[test]
fn every_corpus_input_passes_its_check() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let dir = corpus_dir(target.name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a seed corpus)", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{} holds no input", dir.display());
        for input in &inputs {
            let bytes = std::fs::read(input).unwrap();
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.check)(&bytes))) {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("{}: {why}", input.display()));
            }
        }
        println!("{}: {} inputs", target.name, inputs.len());
    }
    assert!(failures.is_empty(), "inputs that fail their check:\n{}", failures.join("\n"));
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    // The replay and the fuzz crate list the same targets.
    for target in TARGETS {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/fuzz_targets")
            .join(format!("{}.rs", target.name));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("cairn_fuzz_checks::{}(", target.name)),
            "{} does not call its check",
            file.display()
        );
    }
}
