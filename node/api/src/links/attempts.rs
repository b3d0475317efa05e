//! How many password attempts a link and a client address get: the link's and the address's
//! allowances (the limiter of [`crate::password::rate`]) taken together, or neither.

use std::net::IpAddr;

use cairn_raft::model::ids::LinkId;

use crate::password::rate::{self, Rate, Table};

/// Attempts at one link: five, then one every twelve seconds (300 an hour). Enough for a person
/// who mistypes; millions of years for a guesser of a passphrase.
pub const PER_LINK: Rate = Rate { burst: 5, every_ms: 12_000 };

/// Attempts from one client address, at any links: ten, then one every six seconds.
pub const PER_ADDRESS: Rate = Rate { burst: 10, every_ms: 6_000 };

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
        rate::take_both(&mut self.links, link, &mut self.addresses, from.map(rate::network), now_ms)
    }
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
}
