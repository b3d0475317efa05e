//! The cap on open connections, per node and per client address: a connection holds a
//! [`ConnectionPermit`] from the moment it is accepted (before any TLS handshake) until its
//! socket is closed, so connections stuck in a handshake count like any other.
//!
//! An IPv4 client reached over an IPv6 socket (`::ffff:a.b.c.d`) counts as its IPv4 address.
//! IPv6 clients count per full address: a host with a /64 can spread over many addresses, which
//! only the node-wide cap bounds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Why a connection was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The node holds `network.max_connections` already.
    Node,
    /// This address holds `network.max_connections_per_address` already.
    Address,
}

/// The open connections of one listener, and their caps.
#[derive(Debug)]
pub struct ConnectionCap {
    per_node: usize,
    per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionPermit {
    cap: Arc<ConnectionCap>,
    address: IpAddr,
}

impl ConnectionCap {
    /// A cap of `per_node` connections in all and `per_address` from any one address.
    pub fn new(per_node: usize, per_address: usize) -> Arc<Self> {
        Arc::new(Self { per_node, per_address, open: Mutex::new(Open::default()) })
    }

    /// Admits one more connection from `address`, or says which cap it would break.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let address = address.to_canonical();
        let mut open = self.open.lock();
        if open.total >= self.per_node {
            return Err(Refusal::Node);
        }
        let from_address = open.by_address.entry(address).or_insert(0);
        if *from_address >= self.per_address {
            return Err(Refusal::Address);
        }
        *from_address += 1;
        open.total += 1;
        super::stats::opened();
        Ok(ConnectionPermit { cap: self.clone(), address })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.cap.open.lock();
        open.total -= 1;
        super::stats::closed();
        if let Some(count) = open.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                // Addresses come and go: the map holds only those with a connection open.
                open.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_over_its_cap_is_refused_while_others_get_in() {
        let cap = ConnectionCap::new(10, 2);
        let a = [cap.admit(ip("10.0.0.1")).unwrap(), cap.admit(ip("10.0.0.1")).unwrap()];
        assert_eq!(cap.admit(ip("10.0.0.1")).unwrap_err(), Refusal::Address);
        // The same client over an IPv6 socket is the same address.
        assert_eq!(cap.admit(ip("::ffff:10.0.0.1")).unwrap_err(), Refusal::Address);
        let b = cap.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(cap.open(), 3);
        drop(a);
        let again = cap.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(cap.open(), 2);
        drop((b, again));
        assert_eq!(cap.open(), 0);
        assert!(cap.open.lock().by_address.is_empty(), "closed addresses are forgotten");
    }

    #[test]
    fn the_node_cap_holds_across_addresses() {
        let cap = ConnectionCap::new(3, 2);
        let held: Vec<_> =
            ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().map(|a| cap.admit(ip(a)).unwrap()).collect();
        assert_eq!(cap.admit(ip("10.0.0.4")).unwrap_err(), Refusal::Node);
        drop(held);
        assert!(cap.admit(ip("10.0.0.4")).is_ok());
    }
}
