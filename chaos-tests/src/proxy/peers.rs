//! Which node sends from which address: how the UDP proxies tell a peer node from an operator tool.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

/// A shared map from a node's real QUIC address (the one its endpoint sends from) to its node id,
/// filled as nodes are created and read by every [`UdpProxy`](super::UdpProxy) on every packet.
/// Clones share the map.
#[derive(Clone, Debug, Default)]
pub struct Peers(Arc<RwLock<HashMap<SocketAddr, u64>>>);

impl Peers {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `node` sends from `addr` (replacing whatever was recorded for `addr`).
    pub fn insert(&self, addr: SocketAddr, node: u64) {
        self.0.write().unwrap_or_else(PoisonError::into_inner).insert(addr, node);
    }

    /// The node sending from `addr`, if it is a known node.
    pub fn get(&self, addr: SocketAddr) -> Option<u64> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).get(&addr).copied()
    }
}
