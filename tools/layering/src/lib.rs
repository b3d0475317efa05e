//! `cairn-layering`: the workspace's layering, checked on every `cargo test --workspace`.
//!
//! Two rules, both enforced by `tests/layers_hold.rs`: a crate depends only on crates in layers
//! below it ([`check_layers`], over the crate graph [`read_workspace`] gets from
//! `cargo metadata`), and no source file of a crate imports itself in a circle through other
//! files ([`find_cycles`] over the graph [`crate_file_graph`] reads from the source text).
//!
//! The source files are read by a small lexer rather than a full Rust parser: a full parser
//! would cost every cold build far more than the check is worth, and paths, `use` trees and
//! `mod` declarations are regular enough to read from tokens. What that reading can and cannot
//! see is written in `imports.rs` and `module_tree.rs`.
//!
//! **Invariant:** the check only reads; it never writes to the tree it checks.

mod crate_graph;
mod cycles;
mod error;
mod imports;
mod layers;
mod lexer;
mod module_tree;

use std::path::Path;

pub use crate_graph::{
    CrateDep, DepKind, Workspace, WorkspaceCrate, parse_metadata, read_workspace, workspace_root,
};
pub use cycles::{Cycle, CycleEdge, FileGraph, find_cycles};
pub use error::Error;
pub use layers::{Layer, Problem, check_layers};
pub use module_tree::Reference;

use module_tree::{Disk, ModuleTree};

/// The file graph of one workspace crate: every file its library and binaries compile outside
/// test builds, and which of them refer to which. Files are named relative to the workspace root.
pub fn crate_file_graph(workspace: &Workspace, krate: &WorkspaceCrate) -> Result<FileGraph, Error> {
    let mut graph = FileGraph::default();
    for root in &krate.src_roots {
        let tree = ModuleTree::load(root, &Disk)?;
        for found in tree.references() {
            let (from, to) = (relative(&workspace.root, &found.from), relative(&workspace.root, &found.to));
            graph.add(&from, &to, found.reference);
        }
    }
    Ok(graph)
}

/// `path` relative to `root` with `/` between components, so that names read the same on every
/// platform; a path outside `root` stays whole.
fn relative(root: &Path, path: &Path) -> String {
    let inside = path.strip_prefix(root).unwrap_or(path);
    inside.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
