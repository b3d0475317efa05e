//! Splitting a history into independent components: paths joined by moves are one
//! component, every other path is its own. Linearizability is compositional, so each
//! component can be checked alone, which keeps the search small.

use std::collections::HashMap;

use crate::history::{Op, Operation};

/// One component: its paths (slot order) and the operations on them (indices into the
/// slice given to [`components`], in the order given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Component {
    /// The paths, numbered by position.
    pub(crate) paths: Vec<String>,
    /// The operations on those paths.
    pub(crate) ops: Vec<usize>,
}

impl Component {
    /// The slot of `path` in this component.
    pub(crate) fn slot_of(&self, path: &str) -> Option<usize> {
        self.paths.iter().position(|p| p == path)
    }
}

/// Union–find over path names.
#[derive(Default)]
struct Paths {
    id: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
}

impl Paths {
    fn add(&mut self, path: &str) -> usize {
        if let Some(id) = self.id.get(path) {
            return *id;
        }
        let id = self.names.len();
        self.id.insert(path.to_owned(), id);
        self.names.push(path.to_owned());
        self.parent.push(id);
        id
    }

    fn root(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        self.parent[a.max(b)] = a.min(b);
    }
}

/// The first path an operation names (its only one, or a move's source).
fn first_path(op: &Op) -> Option<&str> {
    match op {
        Op::Commit { path, .. } | Op::Read { path } | Op::Delete { path } => Some(path),
        Op::Move { from, .. } => Some(from),
        Op::Journal { .. } | Op::Download { .. } | Op::Fault { .. } => None,
    }
}

/// Groups the commits, reads, deletes and moves among `ops` into independent components,
/// ordered by first appearance. Other operations are left out.
pub(crate) fn components(ops: &[&Operation]) -> Vec<Component> {
    let mut paths = Paths::default();
    for op in ops {
        match &op.op {
            Op::Move { from, to } => {
                let (a, b) = (paths.add(from), paths.add(to));
                paths.union(a, b);
            }
            other => {
                if let Some(path) = first_path(other) {
                    paths.add(path);
                }
            }
        }
    }
    let mut by_root: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Component> = Vec::new();
    for id in 0..paths.names.len() {
        let root = paths.root(id);
        let at = *by_root.entry(root).or_insert_with(|| {
            out.push(Component { paths: Vec::new(), ops: Vec::new() });
            out.len() - 1
        });
        out[at].paths.push(paths.names[id].clone());
    }
    for (i, op) in ops.iter().enumerate() {
        if let Some(path) = first_path(&op.op) {
            let root = paths.root(paths.id[path]);
            out[by_root[&root]].ops.push(i);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::history::EventKind;

    fn operation(op: Op) -> Operation {
        Operation {
            process: 0,
            op,
            invoked_ns: 0,
            end: EventKind::Unknown,
            completed_ns: u64::MAX,
            outcome: None,
            index: 0,
        }
    }

    #[test]
    fn moves_join_paths() {
        let read = |p: &str| operation(Op::Read { path: p.to_owned() });
        let ops = [
            read("a"),
            read("b"),
            operation(Op::Move { from: "c".to_owned(), to: "a".to_owned() }),
            read("d"),
            operation(Op::Move { from: "d".to_owned(), to: "c".to_owned() }),
        ];
        let refs: Vec<&Operation> = ops.iter().collect();
        let parts = components(&refs);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].paths, ["a", "c", "d"]);
        assert_eq!(parts[0].ops, [0, 2, 3, 4]);
        assert_eq!(parts[1].paths, ["b"]);
        assert_eq!(parts[1].ops, [1]);
        assert_eq!(parts[0].slot_of("d"), Some(2));
    }
}
