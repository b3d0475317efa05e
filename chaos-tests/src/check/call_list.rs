//! The search's list of the required operations' call and return entries in time order, with
//! dancing-links removal and restoration as the search linearizes and backtracks.

use super::lin_op::LinOp;

/// The list's head sentinel.
pub(crate) const HEAD: usize = 0;
/// The list's tail sentinel.
pub(crate) const TAIL: usize = 1;

/// One entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// The operation (an index into the search's operations).
    pub(crate) op: usize,
    /// A return entry (else a call).
    pub(crate) is_return: bool,
    prev: usize,
    /// The next entry.
    pub(crate) next: usize,
}

/// The entries of the required operations. Those whose calls come before the first return
/// are the ones that may be linearized next.
pub(crate) struct CallList {
    /// The entries, the two sentinels first.
    pub(crate) nodes: Vec<Node>,
    /// Each operation's call entry.
    pub(crate) call: Vec<usize>,
    ret: Vec<usize>,
}

impl CallList {
    /// The list of the required operations among `ops`.
    pub(crate) fn new(ops: &[LinOp]) -> Self {
        // (time, returns after calls at the same instant, op)
        let mut entries: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate().filter(|(_, op)| op.required) {
            entries.push((op.invoked_ns, false, i));
            entries.push((op.completed_ns.max(op.invoked_ns), true, i));
        }
        entries.sort_unstable();
        let sentinel = Node { op: usize::MAX, is_return: false, prev: HEAD, next: TAIL };
        let mut list =
            Self { nodes: vec![sentinel, sentinel], call: vec![HEAD; ops.len()], ret: vec![HEAD; ops.len()] };
        for (_, is_return, op) in entries {
            let at = list.nodes.len();
            let prev = list.nodes[TAIL].prev;
            list.nodes.push(Node { op, is_return, prev, next: TAIL });
            list.nodes[prev].next = at;
            list.nodes[TAIL].prev = at;
            if is_return {
                list.ret[op] = at;
            } else {
                list.call[op] = at;
            }
        }
        list
    }

    /// The first entry.
    pub(crate) fn first(&self) -> usize {
        self.nodes[HEAD].next
    }

    fn unlink(&mut self, n: usize) {
        let Node { prev, next, .. } = self.nodes[n];
        self.nodes[prev].next = next;
        self.nodes[next].prev = prev;
    }

    fn relink(&mut self, n: usize) {
        let Node { prev, next, .. } = self.nodes[n];
        self.nodes[prev].next = n;
        self.nodes[next].prev = n;
    }

    /// Takes `op` out of the list. Lifts and unlifts must nest (last lifted, first unlifted).
    pub(crate) fn lift(&mut self, op: usize) {
        self.unlink(self.call[op]);
        self.unlink(self.ret[op]);
    }

    /// Puts back the operation lifted last.
    pub(crate) fn unlift(&mut self, op: usize) {
        self.relink(self.ret[op]);
        self.relink(self.call[op]);
    }

    /// The operations whose calls come before the first return, and that return's operation.
    pub(crate) fn window(&self) -> (Vec<usize>, Option<usize>) {
        let mut candidates = Vec::new();
        let mut n = self.first();
        while n != TAIL {
            let node = self.nodes[n];
            if node.is_return {
                return (candidates, Some(node.op));
            }
            candidates.push(node.op);
            n = node.next;
        }
        (candidates, None)
    }
}
