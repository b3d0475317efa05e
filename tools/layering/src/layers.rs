//! The crate layering rule: given the workspace's crates in layers from bottom to top, a crate may
//! depend only on crates below it.
//!
//! Dev-dependencies count like the others, with one exception: a crate marked as test support
//! (a harness that starts the very crates it tests) may be a dev-dependency of crates below it.
//! Cargo builds dev-dependencies only for tests, benches and examples, so such an edge never
//! makes a library depend on the layer above it; it only lets a crate's tests use the harness.

use std::fmt;

use crate::crate_graph::{DepKind, Workspace};

/// One workspace crate's place in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// The package name.
    pub name: &'static str,
    /// A test harness: crates below it may take it as a dev-dependency.
    pub test_support: bool,
}

/// A way the workspace breaks the layering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A workspace crate that no layer names.
    Unplaced(String),
    /// A layer naming no workspace crate.
    Unknown(&'static str),
    /// A crate named by two layers.
    Twice(&'static str),
    /// A dependency on a crate in the same layer or above.
    Upward {
        /// The crate that depends.
        from: String,
        /// The crate depended on.
        to: String,
        /// The manifest section declaring it.
        kind: DepKind,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unplaced(name) => {
                write!(f, "`{name}` has no layer: add it to the layers, above every crate it depends on")
            }
            Problem::Unknown(name) => write!(f, "the layers name `{name}`, which is no workspace crate"),
            Problem::Twice(name) => write!(f, "the layers name `{name}` twice"),
            Problem::Upward { from, to, kind } => write!(
                f,
                "`{from}` depends on `{to}` in {kind}, but `{to}` is not below it: move the code \
                 `{from}` needs from `{to}` down, or reorder the layers if the order itself is wrong"
            ),
        }
    }
}

/// Every way `workspace` breaks the order `layers` (bottom first); empty when it holds.
pub fn check_layers(workspace: &Workspace, layers: &[Layer]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        if layers[..i].iter().any(|l| l.name == layer.name) {
            problems.push(Problem::Twice(layer.name));
        }
        if !workspace.crates.iter().any(|c| c.name == layer.name) {
            problems.push(Problem::Unknown(layer.name));
        }
    }
    let place = |name: &str| layers.iter().position(|l| l.name == name);
    for krate in &workspace.crates {
        let Some(level) = place(&krate.name) else {
            problems.push(Problem::Unplaced(krate.name.clone()));
            continue;
        };
        for dep in &krate.deps {
            let Some(dep_level) = place(&dep.name) else { continue };
            let harness = dep.kind == DepKind::Dev && layers[dep_level].test_support;
            // A crate's tests may take the crate itself with a test-only feature (a testkit).
            let own_testkit = dep.kind == DepKind::Dev && dep.name == krate.name;
            if dep_level >= level && !harness && !own_testkit {
                problems.push(Problem::Upward {
                    from: krate.name.clone(),
                    to: dep.name.clone(),
                    kind: dep.kind,
                });
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::crate_graph::{CrateDep, WorkspaceCrate};

    fn workspace(crates: &[(&str, &[(&str, DepKind)])]) -> Workspace {
        let crates = crates
            .iter()
            .map(|(name, deps)| WorkspaceCrate {
                name: (*name).to_owned(),
                dir: PathBuf::from(name),
                deps: deps.iter().map(|(d, kind)| CrateDep { name: (*d).to_owned(), kind: *kind }).collect(),
                src_roots: Vec::new(),
            })
            .collect();
        Workspace { root: PathBuf::from("/w"), crates }
    }

    const LAYERS: &[Layer] = &[
        Layer { name: "proto", test_support: false },
        Layer { name: "node", test_support: false },
        Layer { name: "harness", test_support: true },
    ];

    #[test]
    fn downward_dependencies_and_dev_use_of_a_harness_pass() {
        let ws = workspace(&[
            ("proto", &[]),
            ("node", &[("proto", DepKind::Normal), ("harness", DepKind::Dev)]),
            ("harness", &[("node", DepKind::Normal)]),
        ]);
        assert_eq!(check_layers(&ws, LAYERS), []);
    }

    #[test]
    fn a_crate_may_take_itself_for_its_tests_but_not_for_its_code() {
        let ws = workspace(&[
            ("proto", &[("proto", DepKind::Dev)]),
            ("node", &[("node", DepKind::Normal)]),
            ("harness", &[]),
        ]);
        let upward = Problem::Upward { from: "node".into(), to: "node".into(), kind: DepKind::Normal };
        assert_eq!(check_layers(&ws, LAYERS), [upward]);
    }

    #[test]
    fn upward_dependencies_fail_whatever_their_section() {
        let ws = workspace(&[
            ("proto", &[("node", DepKind::Dev), ("node", DepKind::Build)]),
            ("node", &[("harness", DepKind::Normal)]),
            ("harness", &[]),
        ]);
        let upward = |from: &str, to: &str, kind| Problem::Upward { from: from.into(), to: to.into(), kind };
        assert_eq!(
            check_layers(&ws, LAYERS),
            [
                upward("proto", "node", DepKind::Dev),
                upward("proto", "node", DepKind::Build),
                upward("node", "harness", DepKind::Normal)
            ]
        );
    }

    #[test]
    fn an_unplaced_crate_and_a_stale_layer_both_fail() {
        let ws = workspace(&[("proto", &[]), ("node", &[]), ("newcomer", &[])]);
        assert_eq!(
            check_layers(&ws, LAYERS),
            [Problem::Unknown("harness"), Problem::Unplaced("newcomer".into())]
        );
    }
}
