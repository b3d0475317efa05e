//! Import cycles between files: the strongly connected components of the file graph, found with
//! Tarjan's algorithm, each reported with the references that hold it together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::module_tree::Reference;

/// Which files of a crate refer to which, and by which paths.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileGraph {
    /// Files, relative to the workspace root, `/`-separated.
    pub files: Vec<String>,
    /// (from, to) indices into `files` → the references from one to the other.
    pub edges: BTreeMap<(usize, usize), BTreeSet<Reference>>,
}

impl FileGraph {
    /// Records that `from` refers to `to` by `reference`.
    pub fn add(&mut self, from: &str, to: &str, reference: Reference) {
        let (from, to) = (self.index(from), self.index(to));
        self.edges.entry((from, to)).or_default().insert(reference);
    }

    fn index(&mut self, file: &str) -> usize {
        match self.files.iter().position(|f| f == file) {
            Some(i) => i,
            None => {
                self.files.push(file.to_owned());
                self.files.len() - 1
            }
        }
    }
}

/// Files that import each other in a circle, directly or through others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The files, sorted.
    pub files: Vec<String>,
    /// The references between files of the cycle: what each takes from the next.
    pub edges: Vec<CycleEdge>,
}

/// The references from one file of a cycle to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleEdge {
    /// The referring file.
    pub from: String,
    /// The file referred to.
    pub to: String,
    /// Where `from` names items of `to`, and which.
    pub references: Vec<Reference>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} files: {}", self.files.len(), self.files.join(", "))?;
        for edge in &self.edges {
            let names: Vec<String> =
                edge.references.iter().map(|r| format!("{} (line {})", r.path, r.line)).collect();
            writeln!(f, "    {} -> {}: {}", edge.from, edge.to, names.join(", "))?;
        }
        Ok(())
    }
}

/// Every cycle of the graph, sorted by their files.
pub fn find_cycles(graph: &FileGraph) -> Vec<Cycle> {
    let n = graph.files.len();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(from, to) in graph.edges.keys() {
        next[from].push(to);
    }
    let mut tarjan = Tarjan {
        next: &next,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        counter: 0,
        components: Vec::new(),
    };
    for v in 0..n {
        if tarjan.index[v].is_none() {
            tarjan.connect(v);
        }
    }
    let mut cycles: Vec<Cycle> = tarjan
        .components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|members| {
            let inside: BTreeSet<usize> = members.iter().copied().collect();
            let mut edges: Vec<CycleEdge> = graph
                .edges
                .iter()
                .filter(|((from, to), _)| inside.contains(from) && inside.contains(to))
                .map(|(&(from, to), refs)| CycleEdge {
                    from: graph.files[from].clone(),
                    to: graph.files[to].clone(),
                    references: refs.iter().cloned().collect(),
                })
                .collect();
            edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
            let mut files: Vec<String> = members.iter().map(|&v| graph.files[v].clone()).collect();
            files.sort();
            Cycle { files, edges }
        })
        .collect();
    cycles.sort_by(|a, b| a.files.cmp(&b.files));
    cycles
}

struct Tarjan<'a> {
    next: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    counter: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    /// The recursive step. A crate has at most a few hundred files, so the recursion depth is
    /// bounded by that and an explicit stack would only obscure the algorithm.
    fn connect(&mut self, v: usize) {
        self.index[v] = Some(self.counter);
        self.low[v] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.next[v] {
            match self.index[w] {
                None => {
                    self.connect(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(w_index) if self.on_stack[w] => self.low[v] = self.low[v].min(w_index),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> FileGraph {
        let mut g = FileGraph::default();
        for (i, (from, to)) in edges.iter().enumerate() {
            g.add(from, to, Reference { line: i as u32 + 1, path: format!("{to}::X") });
        }
        g
    }

    fn files(cycles: &[Cycle]) -> Vec<Vec<&str>> {
        cycles.iter().map(|c| c.files.iter().map(String::as_str).collect()).collect()
    }

    #[test]
    fn a_chain_has_no_cycle() {
        assert!(find_cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }

    #[test]
    fn separate_circles_are_separate_cycles_and_a_figure_eight_is_one() {
        let g = graph(&[
            ("a", "b"),
            ("b", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "c"),
            ("e", "f"),
            ("f", "d"),
            ("f", "g"),
        ]);
        assert_eq!(files(&find_cycles(&g)), [vec!["a", "b"], vec!["c", "d", "e", "f"]]);
    }

    #[test]
    fn a_cycle_lists_only_the_references_inside_it() {
        let g = graph(&[("a", "b"), ("b", "a"), ("b", "c")]);
        let cycle = &find_cycles(&g)[0];
        let shown = cycle.to_string();
        assert_eq!(shown, "2 files: a, b\n    a -> b: b::X (line 1)\n    b -> a: a::X (line 2)\n");
    }
}
