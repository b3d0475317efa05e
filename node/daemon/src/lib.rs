//! `cairn-node`: the storage node daemon. It composes the layers below it (the transport, the
//! shard store, the block codec, placement, the metadata service, the block service and the
//! HTTP API) into one running node, from a config file and a secrets folder.
//!
//! - [`config`]: [`NodeConfig`], the TOML file, strictly parsed and validated (its `[storage]`
//!   section is the block service's `StorageConfig`).
//! - [`network_limits`]: the API's connection limits in `[network]`, checked, and the
//!   open-file limit they need.
//! - [`secrets`]: [`SecretsDir`], the cluster CA, node certificates and the master key.
//! - [`api_names`]: the names the HTTPS API is reached by, as its certificate carries them.
//! - [`api_cert`]: the HTTPS API's certificate, issued and checked.
//! - [`handler`]: the transport handler: Raft RPCs and metadata calls to the metadata service,
//!   block and shard calls to the block service.
//! - [`node`]: [`RunningNode`], storage + transport + Raft + services + API, started from a config.
//! - [`cluster_client`]: [`ClusterClient`], the calling side for the admin commands, tests and
//!   benchmarks.
//! - [`join`]: joining a machine with a token: the member's signing route, the new machine's
//!   `cairn-node join`, and `cairn-node join-token`.
//! - [`backup`]: metadata backup and restore, and recovery from a lost majority.
//! - [`drain`]: `member drain`, the check before `member remove`, and the rebalance progress.
//! - [`upgrade`]: `upgrade status` and `upgrade finalize`: the cluster version and each
//!   member's release.
//! - [`admin`]: what the admin commands (`status`, `member …`) do and print.
//! - [`user_admin`]: what `user …` does: passwords, disabling users, their tokens.
//! - [`allocator`]: the process's memory allocator settings.
//!
//! Nothing depends on this crate but the test harnesses: it is the top of the node.

pub mod admin;
pub mod allocator;
pub mod api_cert;
pub mod api_names;
pub mod backup;
pub mod cluster_client;
pub mod config;
pub mod drain;
pub mod handler;
pub mod join;
pub mod layout;
pub mod network_limits;
pub mod node;
pub mod secrets;
pub mod upgrade;
pub mod user_admin;

pub use cluster_client::{ClusterClient, ClusterClientError};
pub use config::{ConfigError, NodeConfig};
pub use node::{NodeError, RunningNode};
pub use secrets::{SecretsDir, SecretsError};
