//! Fault-injecting proxies between the nodes (UDP, for QUIC) and between clients and nodes (TCP).
//!
//! The machine has no `tc netem`, so faults are injected by proxies on 127.0.0.1, all reading one
//! shared [`Faults`] table. Node B's QUIC endpoint listens on its real address R_B but B is
//! advertised to its peers at the address P_B of a [`UdpProxy`]. A quinn endpoint sends and
//! receives on one socket, so packets from node A reach P_B from A's real address R_A, and the
//! proxy names the sender by looking R_A up in [`Peers`]. For each distinct source the proxy opens
//! its own upstream socket to forward that source's packets to R_B, and relays what R_B sends back
//! to that socket out of P_B to the source: so A→B is "packets from R_A arriving at P_B", judged
//! on the link (A, B), and B→A is "packets arriving at R_A's upstream socket", judged on (B, A).
//! Sources that are not nodes (operator tools) pass without faults. Clients reach each node's
//! HTTP API through a [`TcpProxy`], which refuses, cuts or slows connections as the node's
//! [`ClientFaults`] say. Random decisions come from the table's seeded generator, and
//! [`Faults::stats`] counts what the proxies did, for the run's report.

mod delay_line;
mod faults;
mod peers;
mod stats;
mod tcp;
mod udp;

pub use faults::{ClientFaults, Faults, LinkFaults};
pub use peers::Peers;
pub use stats::ProxyStats;
pub use tcp::TcpProxy;
pub use udp::UdpProxy;
