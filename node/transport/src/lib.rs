//! Node-to-node transport: QUIC (quinn) with mutual TLS 1.3 against the cluster CA.
//!
//! - [`identity`]: the cluster CA and the node certificates it issues, as PEM.
//! - [`trust`]: the crypto provider, and verifiers that accept only what the cluster CA issued.
//! - [`tls`]: rustls and quinn configurations, and a peer's node name from its certificate.
//! - [`frame`]: the versioned, length-prefixed frame every request and response travels in.
//! - [`endpoint`]: [`Transport`], which serves peers and dials them from one endpoint.
//! - [`server`]: the [`Handler`] that answers peers' requests, and the loop that feeds it.
//! - [`error`]: [`TransportError`], retryable or fatal.
//! - `testkit` (feature): identities and transports on loopback, for tests.
//!
//! A request is one bidirectional stream with one frame each way, on the one connection kept
//! per peer address; it carries a `kind` byte whose meaning belongs to the layer above (Raft
//! RPCs, shard transfers).
//!
//! This is the bottom layer of the node: it depends on no other cairn crate and must never
//! learn what the kinds mean.

pub mod endpoint;
pub mod error;
pub mod frame;
pub mod identity;
pub mod server;
pub mod settings;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod trust;

pub use endpoint::Transport;
pub use error::{Refusal, TransportError};
pub use identity::{
    ClusterCa, IdentityError, NodeIdentity, cert_fingerprint, cert_not_after, der_fingerprint,
    is_cluster_node, new_signing_request, node_name,
};
pub use server::{Handler, HandlerFuture, Request, Response};
pub use settings::TransportSettings;
