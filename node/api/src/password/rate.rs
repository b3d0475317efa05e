//! How many attempts a key (a link, a user name, a client address) gets: a pure limiter, told
//! the time.
//!
//! Each key holds a generic cell rate (GCRA): a burst of `burst` attempts, then one every
//! `every_ms`. A key's whole state is one number, the time at which it would be fully rested
//! again; a key rested by now holds nothing worth keeping, so the table sheds it, and never
//! holds more than [`MAX_KEYS`] keys.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

/// The most keys one table holds. Past it (after shedding the rested ones), attempts are
/// refused until some rest: a flood of keys cannot grow the node's memory.
pub const MAX_KEYS: usize = 65_536;

/// A burst, then one attempt per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Attempts allowed at once, from rest.
    pub burst: u64,
    /// Then one more per this many milliseconds.
    pub every_ms: u64,
}

/// One table of keys, each with its time of full rest (ms).
pub struct Table<K> {
    rate: Rate,
    rested_at: HashMap<K, u64>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    /// An empty table allowing `rate` per key.
    pub fn new(rate: Rate) -> Self {
        Self { rate, rested_at: HashMap::new() }
    }

    /// `Ok(new rest time)` if `key` may make one more attempt at `now_ms`, else how long until
    /// it may (ms). Takes nothing: [`Table::commit`] does, so that attempts counted against two
    /// tables are taken from both or neither.
    pub fn check(&mut self, key: &K, now_ms: u64) -> Result<u64, u64> {
        let rested_at = self.rested_at.get(key).copied().unwrap_or(now_ms).max(now_ms);
        let allowance = self.rate.burst.saturating_sub(1).saturating_mul(self.rate.every_ms);
        let debt = rested_at - now_ms;
        if debt > allowance {
            return Err(debt - allowance);
        }
        if !self.rested_at.contains_key(key) && self.rested_at.len() >= MAX_KEYS {
            self.rested_at.retain(|_, at| *at > now_ms);
            if self.rested_at.len() >= MAX_KEYS {
                // Every slot is held by a key still limited: wait for the first to rest.
                return Err(self.rested_at.values().min().map_or(1, |at| at - now_ms));
            }
        }
        Ok(rested_at.saturating_add(self.rate.every_ms))
    }

    /// Records the attempt [`Table::check`] allowed.
    pub fn commit(&mut self, key: K, rested_at: u64) {
        self.rested_at.insert(key, rested_at);
    }

    /// How many keys the table holds.
    pub fn len(&self) -> usize {
        self.rested_at.len()
    }

    /// Whether the table holds no key.
    pub fn is_empty(&self) -> bool {
        self.rested_at.is_empty()
    }
}

/// Takes one attempt from `a` for `key_a` and, if given, from `b` for `key_b`, at `now_ms`:
/// from both or from neither. Refused, it says in how many whole seconds to try again (≥ 1).
pub fn take_both<A: Hash + Eq + Clone, B: Hash + Eq + Clone>(
    a: &mut Table<A>,
    key_a: A,
    b: &mut Table<B>,
    key_b: Option<B>,
    now_ms: u64,
) -> Result<(), u64> {
    let by_a = a.check(&key_a, now_ms);
    let by_b = key_b.as_ref().map(|k| b.check(k, now_ms)).transpose();
    match (by_a, by_b) {
        (Ok(rest_a), Ok(rest_b)) => {
            a.commit(key_a, rest_a);
            if let (Some(k), Some(rest)) = (key_b, rest_b) {
                b.commit(k, rest);
            }
            Ok(())
        }
        (Err(wait), Ok(_)) | (Ok(_), Err(wait)) => Err(seconds(wait)),
        (Err(x), Err(y)) => Err(seconds(x.max(y))),
    }
}

/// The address whose attempts count together: an IPv6 client usually holds a whole /64, so
/// its addresses count as one.
pub fn network(address: IpAddr) -> IpAddr {
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

    fn outcomes(t: &mut Table<u32>, key: u32, n: usize, now_ms: u64) -> Vec<bool> {
        let mut none = Table::<u32>::new(Rate { burst: 1, every_ms: 1 });
        (0..n).map(|_| take_both(t, key, &mut none, None, now_ms).is_ok()).collect()
    }

    #[test]
    fn a_key_takes_a_burst_then_one_attempt_per_period() {
        let mut t = Table::new(Rate { burst: 3, every_ms: 1_000 });
        assert_eq!(outcomes(&mut t, 1, 5, 0), [true, true, true, false, false]);
        assert_eq!(t.check(&1, 999), Err(1));
        assert_eq!(outcomes(&mut t, 1, 2, 1_000), [true, false]);
        // Another key is not held back by this one.
        assert_eq!(outcomes(&mut t, 2, 3, 1_000), [true, true, true]);
        // Fully rested after burst periods.
        assert_eq!(outcomes(&mut t, 1, 4, 10_000), [true, true, true, false]);
    }

    #[test]
    fn two_tables_give_an_attempt_together_or_not_at_all() {
        let mut names = Table::new(Rate { burst: 100, every_ms: 1 });
        let mut addresses = Table::new(Rate { burst: 2, every_ms: 60_000 });
        let home = network("192.0.2.1".parse().unwrap());
        assert!(take_both(&mut names, "a", &mut addresses, Some(home), 0).is_ok());
        assert!(take_both(&mut names, "b", &mut addresses, Some(home), 0).is_ok());
        assert_eq!(take_both(&mut names, "c", &mut addresses, Some(home), 0), Err(60));
        // The refusal by the address took nothing from "c".
        assert_eq!(names.len(), 2);
        // A v6 /64 counts once.
        let one = network("2001:db8::1".parse().unwrap());
        let neighbour = network("2001:db8::ffff:2".parse().unwrap());
        assert_eq!(one, neighbour);
    }

    #[test]
    fn a_table_never_outgrows_its_bound() {
        let mut t = Table::new(Rate { burst: 1, every_ms: 1_000 });
        for i in 0..MAX_KEYS as u64 {
            let rest = t.check(&i, 0).unwrap();
            t.commit(i, rest);
        }
        // Full of keys still resting: a new one waits...
        assert_eq!(t.check(&u64::MAX, 0), Err(1_000));
        assert_eq!(t.len(), MAX_KEYS);
        // ...until they rest, when they are shed.
        assert!(t.check(&u64::MAX, 1_000).is_ok());
        assert_eq!(t.len(), 0);
    }
}
