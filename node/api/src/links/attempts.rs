//! How many password attempts a link and a client address get: a pure limiter, told the time.
//!
//! Each key (a link, a client address) holds a generic cell rate (GCRA): a burst of `burst`
//! attempts, then one every `every_ms`. A key's whole state is one number, the time at which
//! it would be fully rested again; a key rested by now holds nothing worth keeping, so the map
//! sheds it, and never holds more than [`MAX_KEYS`] keys. An attempt is taken from the link's
//! and the address's allowance together, or from neither.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use cairn_raft::model::ids::LinkId;

/// The most keys one table holds. Past it (after shedding the rested ones), attempts are
/// refused until some rest: a flood of addresses cannot grow the node's memory.
pub const MAX_KEYS: usize = 65_536;

/// A burst, then one attempt per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Attempts allowed at once, from rest.
    pub burst: u64,
    /// Then one more per this many milliseconds.
    pub every_ms: u64,
}

/// Attempts at one link: five, then one every twelve seconds (300 an hour). Enough for a person
/// who mistypes; millions of years for a guesser of a passphrase.
pub const PER_LINK: Rate = Rate { burst: 5, every_ms: 12_000 };

/// Attempts from one client address, at any links: ten, then one every six seconds.
pub const PER_ADDRESS: Rate = Rate { burst: 10, every_ms: 6_000 };

/// One table of keys, each with its time of full rest (ms).
struct Table<K> {
    rate: Rate,
    rested_at: HashMap<K, u64>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new(rate: Rate) -> Self {
        Self { rate, rested_at: HashMap::new() }
    }

    /// `Ok(new rest time)` if `key` may make one more attempt at `now_ms`, else how long until it
    /// may (ms).
    fn check(&mut self, key: K, now_ms: u64) -> Result<u64, u64> {
        let rested_at = self.rested_at.get(&key).copied().unwrap_or(now_ms).max(now_ms);
        let allowance = self.rate.burst.saturating_sub(1).saturating_mul(self.rate.every_ms);
        let debt = rested_at - now_ms;
        if debt > allowance {
            return Err(debt - allowance);
        }
        if !self.rested_at.contains_key(&key) && self.rested_at.len() >= MAX_KEYS {
            self.rested_at.retain(|_, at| *at > now_ms);
            if self.rested_at.len() >= MAX_KEYS {
                // Every slot is held by a key still limited: wait for the first to rest.
                return Err(self.rested_at.values().min().map_or(1, |at| at - now_ms));
            }
        }
        Ok(rested_at.saturating_add(self.rate.every_ms))
    }
}

/// The attempts of every link and every client address.
pub struct Attempts {
    links: Table<LinkId>,
    addresses: Table<IpAddr>,
}

impl Default for Attempts {
    fn default() -> Self {
        Self::new(PER_LINK, PER_ADDRESS)
    }
}

impl Attempts {
    /// A limiter allowing `per_link` and `per_address`.
    pub fn new(per_link: Rate, per_address: Rate) -> Self {
        Self { links: Table::new(per_link), addresses: Table::new(per_address) }
    }

    /// Takes one attempt at `link` from `from` (if the address is known) at `now_ms`, or says in
    /// how many whole seconds one may try again (at least 1).
    pub fn take(&mut self, link: LinkId, from: Option<IpAddr>, now_ms: u64) -> Result<(), u64> {
        let from = from.map(network);
        let by_link = self.links.check(link, now_ms);
        let by_address = from.map(|a| self.addresses.check(a, now_ms)).transpose();
        match (by_link, by_address) {
            (Ok(link_rest), Ok(address_rest)) => {
                self.links.rested_at.insert(link, link_rest);
                if let (Some(a), Some(rest)) = (from, address_rest) {
                    self.addresses.rested_at.insert(a, rest);
                }
                Ok(())
            }
            (Err(wait), Ok(_)) | (Ok(_), Err(wait)) => Err(seconds(wait)),
            (Err(a), Err(b)) => Err(seconds(a.max(b))),
        }
    }
}

/// The address whose attempts count together: an IPv6 client usually holds a whole /64, so
/// its addresses count as one.
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

fn seconds(ms: u64) -> u64 {
    ms.div_ceil(1_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));

    fn outcomes(a: &mut Attempts, link: u128, from: Option<IpAddr>, n: usize, now_ms: u64) -> Vec<bool> {
        (0..n).map(|_| a.take(LinkId(link), from, now_ms).is_ok()).collect()
    }

    #[test]
    fn a_link_takes_a_burst_then_one_attempt_per_period() {
        let mut a = Attempts::new(Rate { burst: 3, every_ms: 1_000 }, Rate { burst: 100, every_ms: 1 });
        assert_eq!(outcomes(&mut a, 1, HOME, 5, 0), [true, true, true, false, false]);
        // The refusal says when to come back, in whole seconds.
        assert_eq!(a.take(LinkId(1), HOME, 0), Err(1));
        assert_eq!(a.take(LinkId(1), HOME, 999), Err(1));
        assert_eq!(outcomes(&mut a, 1, HOME, 2, 1_000), [true, false]);
        // Another link is not held back by this one.
        assert_eq!(outcomes(&mut a, 2, HOME, 3, 1_000), [true, true, true]);
        // Fully rested after burst periods.
        assert_eq!(outcomes(&mut a, 1, HOME, 4, 10_000), [true, true, true, false]);
    }

    #[test]
    fn an_address_is_limited_across_links_and_a_v6_network_counts_once() {
        let mut a = Attempts::new(Rate { burst: 100, every_ms: 1 }, Rate { burst: 2, every_ms: 60_000 });
        assert!(a.take(LinkId(1), HOME, 0).is_ok());
        assert!(a.take(LinkId(2), HOME, 0).is_ok());
        assert_eq!(a.take(LinkId(3), HOME, 0), Err(60));
        // A refusal by the address takes nothing from the link.
        let other: Option<IpAddr> = Some("2001:db8::1".parse().unwrap());
        let neighbour: Option<IpAddr> = Some("2001:db8::ffff:2".parse().unwrap());
        assert!(a.take(LinkId(3), other, 0).is_ok());
        assert!(a.take(LinkId(3), neighbour, 0).is_ok());
        assert!(a.take(LinkId(3), neighbour, 0).is_err());
        // Without an address, the link's limit still holds.
        assert!(a.take(LinkId(4), None, 0).is_ok());
    }

    #[test]
    fn the_tables_never_outgrow_their_bound() {
        let mut a = Attempts::new(Rate { burst: 1, every_ms: 1_000 }, Rate { burst: 1, every_ms: 1_000 });
        for i in 0..MAX_KEYS as u128 {
            assert!(a.take(LinkId(i), None, 0).is_ok());
        }
        // Full of keys still resting: a new one waits...
        assert_eq!(a.take(LinkId(u128::MAX), None, 0), Err(1));
        assert_eq!(a.links.rested_at.len(), MAX_KEYS);
        // ...until they rest, when they are shed.
        assert!(a.take(LinkId(u128::MAX), None, 1_000).is_ok());
        assert_eq!(a.links.rested_at.len(), 1);
    }
}
