//! The `cairn-node` daemon: its configuration, its secrets, and a running node.
//!
//! - [`config`]: [`NodeConfig`], the TOML file, strictly parsed and validated.
//! - [`storage_config`]: [`StorageConfig`], the `[storage]` section: shards and the block layer.
//! - [`secrets`]: [`SecretsDir`], the cluster CA, node certificates and the master key.
//! - [`api_names`]: the names the HTTPS API is reached by, as its certificate carries them.
//! - [`api_cert`]: the HTTPS API's certificate, issued and checked.
//! - [`node`]: [`RunningNode`], storage + transport + Raft + service, started from a config.
//! - [`admin`]: what the admin commands (`status`, `member …`) do and print.

pub mod admin;
pub mod api_cert;
pub mod api_names;
pub mod config;
pub mod node;
pub mod secrets;
pub mod storage_config;

pub use config::{ConfigError, NodeConfig};
pub use node::{NodeError, RunningNode};
pub use secrets::{SecretsDir, SecretsError};
pub use storage_config::StorageConfig;
