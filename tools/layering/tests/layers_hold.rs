//! The workspace's layering holds: crates depend only on the layers below them, and no source
//! file imports itself in a circle, apart from the cycles listed here while they are taken apart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::collections::BTreeSet;

use cairn_layering::{
    Cycle, Layer, Workspace, check_layers, crate_file_graph, find_cycles, read_workspace, workspace_root,
};

/// The workspace's crates, bottom layer first. A crate may depend (in any manifest section) only
/// on crates listed before it; a crate marked `test_support` is a harness that starts the crates
/// below it, and those may take it as a dev-dependency (`cairn-node`'s, `cairn-client`'s and
/// `cairn-cli`'s tests use `cairn-test-cluster`, which runs `cairn-node` and drives it with
/// `cairn-client`). A new crate goes above everything it uses.
///
/// The workspace is two stacks on one contract, proto ← client ← cli and proto ← raft ← node, and
/// one order holds both: `cairn-client` sits below `cairn-raft` so the SDK can never pull in the
/// metadata store (and its RocksDB), and `cairn-raft` below `cairn-cli` because the CLI's tests
/// read the metadata directly (a dev-dependency).
const LAYERS: &[Layer] = &[
    // The public contract: no workspace dependency at all.
    Layer { name: "cairn-proto", test_support: false },
    // The SDK, on the contract only.
    Layer { name: "cairn-client", test_support: false },
    // The metadata state machine, on the contract only.
    Layer { name: "cairn-raft", test_support: false },
    // The command line, over the SDK.
    Layer { name: "cairn-cli", test_support: false },
    // The node's layers, bottom up: the transport and the shard store know no other cairn crate
    // but the contract; the block codec is pure computation; placement reads the codec's profile.
    Layer { name: "cairn-transport", test_support: false },
    Layer { name: "cairn-shard-store", test_support: false },
    Layer { name: "cairn-block-codec", test_support: false },
    Layer { name: "cairn-placement", test_support: false },
    // Raft between the nodes and the metadata service, on the transport and the state machine.
    Layer { name: "cairn-metadata", test_support: false },
    // Blocks as shards across the cluster, recorded through the metadata service.
    Layer { name: "cairn-block-service", test_support: false },
    // HTTP, on the two services.
    Layer { name: "cairn-api", test_support: false },
    // The daemon, which composes all of the above.
    Layer { name: "cairn-node", test_support: false },
    // What the fuzz targets check, over the parsers of the node and the contract.
    Layer { name: "cairn-fuzz-checks", test_support: false },
    // Harnesses that start real nodes.
    Layer { name: "cairn-test-cluster", test_support: true },
    Layer { name: "cairn-chaos", test_support: false },
    // This check depends on no other crate; it sits on top because it reads them all.
    Layer { name: "cairn-layering", test_support: false },
];

/// A module cycle that exists today and is on its way out: `files` is the whole cycle, as the
/// failure message prints it, and `why` says why it is still there and which change removes it.
/// The list only shrinks: a listed cycle that no longer exists, or exists only in part, fails
/// `every_known_cycle_still_exists` until its entry is deleted or cut down to what remains.
struct KnownCycle {
    files: &'static [&'static str],
    why: &'static str,
}

const KNOWN_CYCLES: &[KnownCycle] = &[];

fn workspace() -> Workspace {
    read_workspace(&workspace_root()).expect("read the workspace's crates with `cargo metadata`")
}

fn all_cycles(ws: &Workspace) -> Vec<Cycle> {
    let mut cycles = Vec::new();
    for krate in &ws.crates {
        let graph = crate_file_graph(ws, krate)
            .unwrap_or_else(|e| panic!("read the source files of `{}`: {e}", krate.name));
        cycles.extend(find_cycles(&graph));
    }
    cycles
}

fn file_set(files: &[&str]) -> BTreeSet<String> {
    files.iter().map(|f| (*f).to_owned()).collect()
}

/// A found cycle is known when a listed cycle holds all its files: a listed cycle that shrank or
/// split is no new cycle, though its entry must be brought up to date.
fn known(cycle: &Cycle) -> bool {
    let files: BTreeSet<String> = cycle.files.iter().cloned().collect();
    KNOWN_CYCLES.iter().any(|k| files.is_subset(&file_set(k.files)))
}

#[test]
fn crates_depend_only_downward() {
    let problems = check_layers(&workspace(), LAYERS);
    let listed: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
    assert!(
        problems.is_empty(),
        "the crate layering is broken (the layers are LAYERS in tools/layering/tests/layers_hold.rs):\n{}",
        listed.join("\n")
    );
}

#[test]
fn no_source_file_imports_itself_in_a_circle() {
    let new: Vec<String> =
        all_cycles(&workspace()).iter().filter(|c| !known(c)).map(|c| format!("  - {c}")).collect();
    assert!(
        new.is_empty(),
        "source files import each other in a circle; move what they share into a module below \
         them all (each line says which names a file takes from the other):\n{}",
        new.join("\n")
    );
}

#[test]
fn every_known_cycle_still_exists() {
    let found: Vec<BTreeSet<String>> =
        all_cycles(&workspace()).into_iter().map(|c| c.files.into_iter().collect()).collect();
    let mut stale = Vec::new();
    for entry in KNOWN_CYCLES {
        let listed = file_set(entry.files);
        if found.contains(&listed) {
            continue;
        }
        let remains: Vec<String> = found
            .iter()
            .filter(|f| f.is_subset(&listed))
            .map(|f| format!("\n      now: {}", f.iter().cloned().collect::<Vec<_>>().join(", ")))
            .collect();
        let remains =
            if remains.is_empty() { " (gone: delete the entry)".to_owned() } else { remains.concat() };
        stale.push(format!("  - {}\n      listed because: {}{remains}", entry.files.join(", "), entry.why));
    }
    assert!(
        stale.is_empty(),
        "these KNOWN_CYCLES (tools/layering/tests/layers_hold.rs) no longer exist as listed; the list \
         only shrinks, so delete each entry or cut it down to the cycles that remain:\n{}",
        stale.join("\n")
    );
}
