//! The fault table every proxy reads on every packet and connection: which links are blocked,
//! lossy, slow or duplicating, and which nodes refuse clients.
//!
//! Node-to-node faults are kept per **directed** link `(from, to)`, so one-way partitions are
//! expressible. The table composes the way a nemesis uses it: [`Faults::partition`] and
//! [`Faults::block_one_way`] only touch the `blocked` flags, and [`Faults::degrade_all`] keeps
//! them, so a partition and a degraded network can be in force at once; [`Faults::set_link`]
//! replaces one link outright and [`Faults::heal`] clears everything between nodes.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::stats::{Counters, ProxyStats};

/// The faults on one directed link between two nodes. The default is a healthy link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkFaults {
    /// Every packet is dropped.
    pub blocked: bool,
    /// The chance (0..=1) that a packet is dropped.
    pub drop: f64,
    /// How long every packet is held back.
    pub delay: Duration,
    /// A further hold-back drawn uniformly from `0..=jitter` for each packet, so `delay` stays a
    /// lower bound; packets overtake each other, as they do on a real network.
    pub jitter: Duration,
    /// The chance (0..=1) that a packet is sent twice.
    pub duplicate: f64,
}

impl LinkFaults {
    /// Whether this link is healthy (nothing to inject).
    pub fn is_healthy(&self) -> bool {
        *self == Self::default()
    }
}

/// The faults between clients and one node's HTTP API. The default is a healthy API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientFaults {
    /// New client connections are reset at once and open ones are cut.
    pub blocked: bool,
    /// How long each chunk of bytes is held back, in either direction.
    pub delay: Duration,
}

/// What a proxy does with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Throw it away.
    Drop,
    /// Send it after `delay`, and a second copy after `duplicate` if that is set.
    Send {
        /// When to send the packet (zero: now).
        delay: Duration,
        /// When to send a second copy, if one is sent.
        duplicate: Option<Duration>,
    },
}

impl Verdict {
    /// Sends the packet at once, once.
    pub(crate) const PASS: Verdict = Verdict::Send { delay: Duration::ZERO, duplicate: None };
}

/// The shared fault table: cheap to clone (clones share the table), read by every proxy on every
/// packet under a short read lock that is never held across an await.
#[derive(Clone, Debug)]
pub struct Faults(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    table: RwLock<Table>,
    /// Drop and duplicate decisions and jitter, all from one seeded generator, so a run is as
    /// repeatable as the scheduling of its packets.
    rng: Mutex<SmallRng>,
    counters: Counters,
    /// Bumped whenever client faults change, so open TCP connections notice a block at once.
    client_changes: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Table {
    /// The registered nodes: the ones [`Faults::partition`] and [`Faults::degrade_all`] cover.
    nodes: BTreeSet<u64>,
    /// Faulty links only; a missing link is healthy.
    links: HashMap<(u64, u64), LinkFaults>,
    /// Faulty APIs only; a missing node is healthy.
    clients: HashMap<u64, ClientFaults>,
}

impl Table {
    /// Applies `change` to the link `(from, to)`, forgetting it again if it ends up healthy.
    fn update(&mut self, from: u64, to: u64, change: impl FnOnce(&mut LinkFaults)) {
        let link = self.links.entry((from, to)).or_default();
        change(link);
        if link.is_healthy() {
            self.links.remove(&(from, to));
        }
    }

    /// Every directed link between two different registered nodes.
    fn all_links(&self) -> Vec<(u64, u64)> {
        let nodes = &self.nodes;
        nodes.iter().flat_map(|&a| nodes.iter().filter(move |&&b| b != a).map(move |&b| (a, b))).collect()
    }
}

impl Faults {
    /// A healthy table whose random decisions all come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Arc::new(Inner {
            table: RwLock::new(Table::default()),
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            counters: Counters::default(),
            client_changes: watch::Sender::new(0),
        }))
    }

    /// Registers `node`, so partitions and [`Faults::degrade_all`] cover it. Starting a
    /// [`UdpProxy`](super::UdpProxy) registers its node.
    pub fn add_node(&self, node: u64) {
        self.write().nodes.insert(node);
    }

    /// The registered nodes, in order.
    pub fn nodes(&self) -> Vec<u64> {
        self.read().nodes.iter().copied().collect()
    }

    /// Sets the faults of the link `from → to`, replacing whatever was there.
    pub fn set_link(&self, from: u64, to: u64, faults: LinkFaults) {
        self.write().update(from, to, |link| *link = faults);
    }

    /// The faults of the link `from → to`.
    pub fn link(&self, from: u64, to: u64) -> LinkFaults {
        self.read().links.get(&(from, to)).copied().unwrap_or_default()
    }

    /// Splits the nodes into `groups`: every link between nodes of different groups is blocked
    /// both ways, links within a group are unblocked, and registered nodes in no group are cut
    /// off from everyone. Nodes named in a group are registered. Only `blocked` flags change, so
    /// a degraded network stays degraded.
    pub fn partition(&self, groups: &[Vec<u64>]) {
        let group_of: HashMap<u64, usize> =
            groups.iter().enumerate().flat_map(|(i, g)| g.iter().map(move |&n| (n, i))).collect();
        let mut table = self.write();
        table.nodes.extend(group_of.keys().copied());
        for (from, to) in table.all_links() {
            let apart = match (group_of.get(&from), group_of.get(&to)) {
                (Some(a), Some(b)) => a != b,
                _ => true,
            };
            table.update(from, to, |link| link.blocked = apart);
        }
    }

    /// Blocks the link `from → to` only; `to → from` keeps working.
    pub fn block_one_way(&self, from: u64, to: u64) {
        self.write().update(from, to, |link| link.blocked = true);
    }

    /// Gives every link between registered nodes the loss, delay, jitter and duplication of
    /// `faults`; a link stays blocked if it was (or becomes blocked if `faults.blocked`).
    pub fn degrade_all(&self, faults: LinkFaults) {
        let mut table = self.write();
        for (from, to) in table.all_links() {
            table.update(from, to, |link| {
                *link = LinkFaults { blocked: link.blocked || faults.blocked, ..faults }
            });
        }
    }

    /// Clears every fault between nodes (client faults stay).
    pub fn heal(&self) {
        self.write().links.clear();
    }

    /// Sets the client-side faults of `node`'s API, replacing whatever was there.
    pub fn set_client(&self, node: u64, faults: ClientFaults) {
        {
            let mut table = self.write();
            if faults == ClientFaults::default() {
                table.clients.remove(&node);
            } else {
                table.clients.insert(node, faults);
            }
        }
        self.0.client_changes.send_modify(|n| *n += 1);
    }

    /// The client-side faults of `node`'s API.
    pub fn client(&self, node: u64) -> ClientFaults {
        self.read().clients.get(&node).copied().unwrap_or_default()
    }

    /// Clears every client-side fault.
    pub fn heal_clients(&self) {
        self.write().clients.clear();
        self.0.client_changes.send_modify(|n| *n += 1);
    }

    /// The counters of every proxy sharing this table.
    pub fn stats(&self) -> ProxyStats {
        self.0.counters.snapshot()
    }

    /// Decides the fate of one packet on the link `from → to` and counts it; `from` is `None`
    /// for a sender that is not a node (an operator tool), whose packets pass untouched.
    pub(crate) fn judge(&self, from: Option<u64>, to: Option<u64>) -> Verdict {
        let verdict = match (from, to) {
            (Some(from), Some(to)) => self.decide(self.link(from, to)),
            _ => Verdict::PASS,
        };
        let counters = &self.0.counters;
        match verdict {
            Verdict::Drop => Counters::bump(&counters.dropped),
            Verdict::Send { delay, duplicate } => {
                Counters::bump(&counters.forwarded);
                if !delay.is_zero() || duplicate.is_some_and(|d| !d.is_zero()) {
                    Counters::bump(&counters.delayed);
                }
                if duplicate.is_some() {
                    Counters::bump(&counters.duplicated);
                }
            }
        }
        verdict
    }

    /// Draws the fate of one packet on a link with `link`'s faults.
    fn decide(&self, link: LinkFaults) -> Verdict {
        if link.blocked {
            return Verdict::Drop;
        }
        if link.drop <= 0.0 && link.duplicate <= 0.0 && link.jitter.is_zero() {
            // The common case takes no lock on the generator.
            return Verdict::Send { delay: link.delay, duplicate: None };
        }
        let mut rng = self.0.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if chance(&mut rng, link.drop) {
            return Verdict::Drop;
        }
        let delay = link.delay + jitter(&mut rng, link.jitter);
        let duplicate = chance(&mut rng, link.duplicate).then(|| link.delay + jitter(&mut rng, link.jitter));
        Verdict::Send { delay, duplicate }
    }

    /// A receiver that changes whenever client faults change.
    pub(crate) fn client_changes(&self) -> watch::Receiver<u64> {
        self.0.client_changes.subscribe()
    }

    /// The live counters, for the proxies to bump.
    pub(crate) fn counters(&self) -> &Counters {
        &self.0.counters
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.0.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.0.table.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// True with probability `p` (clamped to 0..=1; 1 is always true, 0 never).
fn chance(rng: &mut SmallRng, p: f64) -> bool {
    p > 0.0 && rng.random::<f64>() < p
}

/// A uniform draw from `0..=max`.
fn jitter(rng: &mut SmallRng, max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn three_nodes() -> Faults {
        let faults = Faults::new(7);
        for n in 1..=3 {
            faults.add_node(n);
        }
        faults
    }

    fn blocked(faults: &Faults, from: u64, to: u64) -> bool {
        faults.link(from, to).blocked
    }

    #[test]
    fn partition_blocks_between_groups_both_ways_and_isolates_the_rest() {
        let faults = three_nodes();
        faults.add_node(4);
        faults.partition(&[vec![1, 2], vec![3]]);
        assert!(!blocked(&faults, 1, 2) && !blocked(&faults, 2, 1));
        for (a, b) in [(1, 3), (2, 3), (1, 4), (3, 4)] {
            assert!(blocked(&faults, a, b) && blocked(&faults, b, a), "{a}<->{b}");
        }
        // A new partition replaces the old one.
        faults.partition(&[vec![1], vec![2, 3, 4]]);
        assert!(blocked(&faults, 1, 2) && !blocked(&faults, 2, 3) && !blocked(&faults, 3, 4));
        faults.heal();
        assert!(faults.nodes().iter().all(|&a| faults.nodes().iter().all(|&b| !blocked(&faults, a, b))));
    }

    #[test]
    fn one_way_block_leaves_the_other_direction() {
        let faults = three_nodes();
        faults.block_one_way(1, 2);
        assert!(blocked(&faults, 1, 2));
        assert!(!blocked(&faults, 2, 1));
        assert_eq!(faults.judge(Some(1), Some(2)), Verdict::Drop);
        assert_eq!(faults.judge(Some(2), Some(1)), Verdict::PASS);
        assert_eq!(faults.judge(None, Some(2)), Verdict::PASS, "a tool's packets pass");
        let stats = faults.stats();
        assert_eq!((stats.dropped, stats.forwarded), (1, 2));
    }

    #[test]
    fn degrade_all_covers_every_link_and_keeps_blocks() {
        let faults = three_nodes();
        faults.partition(&[vec![1, 2], vec![3]]);
        let slow = LinkFaults { delay: Duration::from_millis(5), drop: 0.1, ..LinkFaults::default() };
        faults.degrade_all(slow);
        assert_eq!(faults.link(1, 2), slow);
        assert_eq!(faults.link(3, 1), LinkFaults { blocked: true, ..slow });
        faults.partition(&[vec![1, 2, 3]]);
        assert_eq!(faults.link(3, 1), slow, "healing the partition keeps the degradation");
        faults.heal();
        assert!(faults.link(1, 2).is_healthy());
    }

    #[test]
    fn same_seed_same_decisions() {
        let lossy = LinkFaults {
            drop: 0.3,
            duplicate: 0.2,
            jitter: Duration::from_millis(10),
            ..LinkFaults::default()
        };
        let run = |seed| {
            let faults = Faults::new(seed);
            faults.set_link(1, 2, lossy);
            (0..200).map(|_| faults.judge(Some(1), Some(2))).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let drops = run(42).iter().filter(|v| **v == Verdict::Drop).count();
        assert!((30..=90).contains(&drops), "{drops} of 200 dropped at 0.3");
    }

    #[test]
    fn certain_drop_and_duplicate() {
        let faults = Faults::new(1);
        faults.set_link(1, 2, LinkFaults { drop: 1.0, ..LinkFaults::default() });
        faults.set_link(2, 1, LinkFaults { duplicate: 1.0, ..LinkFaults::default() });
        for _ in 0..100 {
            assert_eq!(faults.judge(Some(1), Some(2)), Verdict::Drop);
            assert_eq!(
                faults.judge(Some(2), Some(1)),
                Verdict::Send { delay: Duration::ZERO, duplicate: Some(Duration::ZERO) }
            );
        }
    }

    #[test]
    fn client_faults_notify_watchers() {
        let faults = Faults::new(1);
        let mut changes = faults.client_changes();
        faults.set_client(2, ClientFaults { blocked: true, delay: Duration::ZERO });
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        assert!(faults.client(2).blocked && !faults.client(1).blocked);
        faults.heal_clients();
        assert!(changes.has_changed().unwrap());
        assert_eq!(faults.client(2), ClientFaults::default());
    }
}
