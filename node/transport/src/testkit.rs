//! For tests of the transport and of what runs on it: a cluster CA with node identities, and
//! transports serving on loopback. Built only with the `testkit` feature (a dev-dependency).

// Test support: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::{ClusterCa, Handler, NodeIdentity, Response, Transport, TransportSettings};

/// A generous bound for anything that should happen promptly on loopback; only a hang reaches it.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// An address on loopback with a port the OS picks.
pub fn any_loopback_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// A fresh cluster CA and identities for `names`, each reloaded from PEM the way a node
/// starting from its files would.
pub fn cluster(names: &[&str]) -> (ClusterCa, Vec<NodeIdentity>) {
    let ca = ClusterCa::generate("test").unwrap();
    let ca = ClusterCa::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
    let identities = names
        .iter()
        .map(|name| {
            let issued = ca.issue_node(name).unwrap();
            NodeIdentity::from_pem(ca.cert_pem(), issued.cert_pem(), issued.key_pem()).unwrap()
        })
        .collect();
    (ca, identities)
}

/// A transport bound on a free loopback port, serving with `handler`.
pub async fn serving(identity: &NodeIdentity, handler: impl Handler) -> Arc<Transport> {
    serving_on(any_loopback_port(), identity, TransportSettings::default(), handler).await.unwrap()
}

/// A transport bound on `addr` with `settings`, serving with `handler`.
pub async fn serving_on(
    addr: SocketAddr,
    identity: &NodeIdentity,
    settings: TransportSettings,
    handler: impl Handler,
) -> Result<Arc<Transport>, crate::TransportError> {
    let transport = Transport::bind(addr, identity, settings).await?;
    transport.serve(handler);
    Ok(Arc::new(transport))
}

/// A handler that answers every request with its own payload, under the request's kind + 1.
pub fn echo() -> impl Handler {
    |request: crate::Request| async move { Response::new(request.kind.wrapping_add(1), request.payload) }
}
