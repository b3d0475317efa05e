//! The fault schedule: which faults strike when, for how long, drawn from a seed alone — so the
//! same seed replays the same schedule. Which node a fault hits is drawn here too, as an index
//! into the members at the time (membership changes), so nothing depends on timing.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// A kind of fault, as `CHAOS_NEMESES` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Nemesis {
    /// The nodes split in two groups that cannot reach each other.
    Partition,
    /// One node's packets to another are dropped; the other way works.
    OneWay,
    /// Every node-to-node link loses, delays and duplicates packets.
    Lossy,
    /// Clients cannot reach one node (connections refused and cut), or reach it slowly.
    Clients,
    /// kill -9 of a node, restarted when the fault heals.
    Kill,
    /// SIGSTOP of a node (a paused process holding its sockets), SIGCONT when it heals.
    Pause,
    /// Shard files on a node's disk are corrupted while it is down; the scrubber must notice.
    Corrupt,
    /// A node's disk is full: it restarts with almost no capacity, and back when it heals.
    DiskFull,
    /// A new node joins and an old one is removed, while the workload runs.
    Membership,
    /// A new node joins, then an old one is drained (`member drain --wait`: its shards move
    /// elsewhere while the workload runs) and removed without `--force`.
    Drain,
}

impl Nemesis {
    /// Every kind.
    pub const ALL: [Nemesis; 10] = [
        Nemesis::Partition,
        Nemesis::OneWay,
        Nemesis::Lossy,
        Nemesis::Clients,
        Nemesis::Kill,
        Nemesis::Pause,
        Nemesis::Corrupt,
        Nemesis::DiskFull,
        Nemesis::Membership,
        Nemesis::Drain,
    ];

    /// Whether it takes shards away for good (repair must rebuild them), so it may only strike
    /// a cluster whose blocks are whole.
    pub fn destroys_data(self) -> bool {
        matches!(self, Nemesis::Corrupt | Nemesis::Membership)
    }

    /// Whether it adds or removes nodes, so clients must be pointed at the members anew.
    pub fn changes_membership(self) -> bool {
        matches!(self, Nemesis::Membership | Nemesis::Drain)
    }

    /// Its name in `CHAOS_NEMESES`.
    pub fn name(self) -> &'static str {
        match self {
            Nemesis::Partition => "partition",
            Nemesis::OneWay => "one-way",
            Nemesis::Lossy => "lossy",
            Nemesis::Clients => "clients",
            Nemesis::Kill => "kill",
            Nemesis::Pause => "pause",
            Nemesis::Corrupt => "corrupt",
            Nemesis::DiskFull => "disk-full",
            Nemesis::Membership => "membership",
            Nemesis::Drain => "drain",
        }
    }
}

impl fmt::Display for Nemesis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Nemesis {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nemesis::ALL.into_iter().find(|n| n.name() == s.trim()).ok_or_else(|| {
            let known: Vec<&str> = Nemesis::ALL.iter().map(|n| n.name()).collect();
            format!("unknown nemesis {s:?}; known: {}", known.join(", "))
        })
    }
}

/// Parses a comma-separated list of nemeses (`all` for every kind).
pub fn parse_list(list: &str) -> Result<Vec<Nemesis>, String> {
    if list.trim() == "all" {
        return Ok(Nemesis::ALL.to_vec());
    }
    let kinds: Vec<Nemesis> =
        list.split(',').filter(|s| !s.trim().is_empty()).map(str::parse).collect::<Result<_, _>>()?;
    if kinds.is_empty() {
        return Err("no nemesis named".into());
    }
    Ok(kinds)
}

/// One fault of the schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Strike {
    /// When it begins, from the start of the run.
    pub at: Duration,
    /// How long it lasts before it heals.
    pub lasts: Duration,
    /// What.
    pub nemesis: Nemesis,
    /// Draws for its parameters: which node (an index into the members, modulo their number),
    /// which other node, and a fraction for sizes and probabilities.
    pub pick: u64,
    /// A second node pick.
    pub other: u64,
    /// A number in [0, 1).
    pub amount: f64,
}

/// How faults are spaced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pacing {
    /// Shortest and longest fault.
    pub fault: (Duration, Duration),
    /// Shortest and longest quiet time after a fault heals.
    pub quiet: (Duration, Duration),
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            fault: (Duration::from_secs(4), Duration::from_secs(12)),
            quiet: (Duration::from_secs(2), Duration::from_secs(6)),
        }
    }
}

/// The faults of a run of `length`, one at a time, from `seed`. The first one begins after a
/// quiet time, so the workload is under way. Kinds are drawn from a shuffled bag, refilled when
/// empty: every kind strikes once before any strikes twice, so even a short run meets them all.
pub fn schedule(seed: u64, kinds: &[Nemesis], length: Duration, pacing: &Pacing) -> Vec<Strike> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut strikes = Vec::new();
    if kinds.is_empty() {
        return strikes;
    }
    let between = |rng: &mut SmallRng, (low, high): (Duration, Duration)| {
        if high <= low { low } else { rng.random_range(low..high) }
    };
    let mut at = between(&mut rng, pacing.quiet);
    let mut bag: Vec<Nemesis> = Vec::new();
    while at < length {
        if bag.is_empty() {
            bag = kinds.to_vec();
            bag.shuffle(&mut rng);
        }
        let Some(nemesis) = bag.pop() else { break };
        let lasts = between(&mut rng, pacing.fault);
        strikes.push(Strike {
            at,
            lasts,
            nemesis,
            pick: rng.random(),
            other: rng.random(),
            amount: rng.random(),
        });
        at += lasts + between(&mut rng, pacing.quiet);
    }
    strikes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_seed_replays_the_same_schedule() {
        let length = Duration::from_secs(600);
        let one = schedule(7, &Nemesis::ALL, length, &Pacing::default());
        assert_eq!(one, schedule(7, &Nemesis::ALL, length, &Pacing::default()));
        assert_ne!(one, schedule(8, &Nemesis::ALL, length, &Pacing::default()));
        // Faults never overlap, all lie within the run, and the first ten are all ten kinds.
        for pair in one.windows(2) {
            assert!(pair[0].at + pair[0].lasts < pair[1].at);
        }
        assert!(one.iter().all(|s| s.at < length));
        let mut first: Vec<Nemesis> = one.iter().take(Nemesis::ALL.len()).map(|s| s.nemesis).collect();
        first.sort();
        assert_eq!(first, Nemesis::ALL);
    }

    #[test]
    fn names_parse_and_bad_ones_say_why() {
        assert_eq!(parse_list("kill, partition").unwrap(), vec![Nemesis::Kill, Nemesis::Partition]);
        assert_eq!(parse_list("drain,kill").unwrap(), vec![Nemesis::Drain, Nemesis::Kill]);
        assert_eq!(parse_list("all").unwrap().len(), Nemesis::ALL.len());
        let err = parse_list("kill,flood").unwrap_err();
        assert!(err.contains("flood") && err.contains("one-way"), "{err}");
        assert!(parse_list(" ").is_err());
    }
}
