//! The node's TOML configuration: parsed strictly (unknown keys are refused, so a misspelt
//! setting is an error rather than a silently ignored line), then validated as a whole.
//!
//! Relative paths are relative to the configuration file's folder, so a cluster's files can be
//! moved together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_raft::{NodeAddr, NodeId};
use serde::Deserialize;

use super::api_names::{ApiName, MAX_API_NAMES};
use super::network_limits;
use cairn_block_service::StorageConfig;
use cairn_metadata::raft_net::ElectionTimes;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has keys or types we do not know.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said, with the line.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{path}: {key}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The offending key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// A node's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's id in the cluster: a positive integer, unique, never reused.
    pub id: NodeId,
    /// Where the node keeps its Raft log, metadata state and shards.
    pub data_dir: PathBuf,
    /// Where the cluster's certificates and keys are (`ca.crt`, `node-<id>.crt`/`.key`,
    /// `master.key`, and on the machine that ran `init`, `ca.key`).
    pub secrets_dir: PathBuf,
    /// The node's failure domain (rack, room, site): shards of a block avoid sharing one.
    #[serde(default = "default_zone")]
    pub zone: String,
    /// Addresses.
    pub network: NetworkConfig,
    /// Raft timing and log retention.
    #[serde(default)]
    pub raft: RaftConfig,
    /// Shard storage and the block layer.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Password sign-in.
    #[serde(default)]
    pub accounts: AccountsConfig,
    /// Rolling upgrades.
    #[serde(default)]
    pub upgrade: UpgradeConfig,
    /// Log verbosity, as a `tracing` filter (`info`, `cairn_node=debug,info`).
    #[serde(default = "default_log")]
    pub log: String,
}

/// Where a node listens and how peers reach it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The UDP address of the QUIC endpoint (Raft, shards, admin calls).
    pub listen: SocketAddr,
    /// The address peers dial; defaults to `listen`, which must then not be unspecified.
    pub advertise: Option<SocketAddr>,
    /// The TCP address of the client HTTP API.
    pub api: SocketAddr,
    /// Serve the API over HTTPS with a certificate of the cluster CA (the default, see
    /// `api_cert`); `false` serves plain HTTP, meant for development on loopback: a node
    /// serving plain HTTP on any other address logs a warning at start.
    #[serde(default = "default_api_tls")]
    pub api_tls: bool,
    /// Further names clients reach the API by, DNS names or IP addresses, that its certificate
    /// must carry besides the `api` address (and `localhost` when that is loopback): a public
    /// host name, or the addresses of a node listening on `0.0.0.0`. HTTPS only.
    #[serde(default)]
    pub api_names: Vec<String>,
    /// The largest body a simple upload (`PUT /v1/content/...`) takes, in bytes; larger files go
    /// through the block-level upload. Default 5 GiB.
    #[serde(default = "default_api_max_upload_bytes")]
    pub api_max_upload_bytes: u64,
    /// Seconds a client has to finish its TLS handshake, then its first request head; on a
    /// kept-alive connection a head counts from its first byte. Default 10. See
    /// `network_limits` for these keys' rules and defaults.
    #[serde(default = "network_limits::default_header_timeout_s")]
    pub header_timeout_s: u64,
    /// Seconds an API connection may sit with no request in flight before it is closed.
    /// Default 60.
    #[serde(default = "network_limits::default_idle_timeout_s")]
    pub idle_timeout_s: u64,
    /// Seconds a request body may send nothing while the node waits for it: the request fails
    /// and its connection closes. Default 30.
    #[serde(default = "network_limits::default_body_idle_timeout_s")]
    pub body_idle_timeout_s: u64,
    /// Seconds an API connection's writes may make no progress (a client that stops reading a
    /// download) before it is closed. Default 30.
    #[serde(default = "network_limits::default_write_timeout_s")]
    pub write_timeout_s: u64,
    /// API connections open at once, TLS handshakes included; more are closed as they arrive.
    /// Default 4096, lowered with a warning to what the open-file limit holds; a value set here
    /// that the limit cannot hold stops the node at start.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// API connections open at once from one client address. Default 256; raise it for a
    /// reverse proxy or a large NAT in front of the node.
    #[serde(default = "network_limits::default_max_connections_per_address")]
    pub max_connections_per_address: usize,
    /// Streams at once on one HTTP/2 connection (HTTPS only). Default 100.
    #[serde(default = "network_limits::default_http2_max_streams")]
    pub http2_max_streams: u32,
    /// Long polls and event streams of the change journal one user may hold open at once; more
    /// are answered 429. Default 16.
    #[serde(default = "network_limits::default_max_watches_per_user")]
    pub max_watches_per_user: usize,
    /// Long polls and event streams open at once on the node. Default 2048.
    #[serde(default = "network_limits::default_max_watches")]
    pub max_watches: usize,
}

/// Raft settings. The defaults suit a LAN; a WAN wants longer timeouts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftConfig {
    /// How often the leader sends heartbeats, in ms.
    pub heartbeat_ms: u64,
    /// `[low, high]`, in ms. A follower votes for no one else for `high` after the leader's last
    /// heartbeat (the leader's lease), and asks to stand after `high` plus a random part of
    /// `high - low`: a dead leader is replaced after `high` to `2 × high - low` of silence.
    pub election_timeout_ms: [u64; 2],
    /// Take a snapshot after this many entries since the last one.
    pub snapshot_every: u64,
    /// Entries kept in the log behind a snapshot, so a briefly lagging follower catches up from
    /// the log rather than a whole snapshot.
    pub keep_after_snapshot: u64,
    /// How long a write or read may take, forwarding and retries included, in ms.
    pub call_timeout_ms: u64,
}

impl Default for RaftConfig {
    fn default() -> Self {
        Self {
            // A dead leader is replaced 0.5–0.7 s after its last heartbeat: the lease (`high`)
            // and a random part of the range. The old [1000, 2000] on openraft's own timer
            // made that 3–4 s.
            heartbeat_ms: 100,
            election_timeout_ms: [300, 500],
            snapshot_every: 20_000,
            keep_after_snapshot: 5_000,
            call_timeout_ms: 10_000,
        }
    }
}

/// Rolling upgrades (see `cairn_metadata::upgrade`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpgradeConfig {
    /// Whether the leader raises the cluster version by itself once every member runs the new
    /// release. Off, the cluster stays at the old version (and the previous release can still be
    /// put back) until `cairn-node upgrade finalize`.
    pub auto_finalize: bool,
}

impl Default for UpgradeConfig {
    fn default() -> Self {
        Self { auto_finalize: true }
    }
}

fn default_zone() -> String {
    "default".into()
}

/// How long a password sign-in lasts. A session ends when unused for `session_idle_s` (each
/// use renews it) and at the latest `session_max_s` after sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Seconds a session may go unused. Default 7 days.
    pub session_idle_s: u64,
    /// Seconds a session lasts at most. Default 30 days.
    pub session_max_s: u64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self { session_idle_s: 7 * 24 * 3_600, session_max_s: 30 * 24 * 3_600 }
    }
}

impl AccountsConfig {
    /// The API's view of these settings.
    pub fn session_limits(&self) -> cairn_api::sessions::SessionLimits {
        cairn_api::sessions::SessionLimits {
            idle_ms: self.session_idle_s.saturating_mul(1_000),
            max_ms: self.session_max_s.saturating_mul(1_000),
        }
    }
}

fn default_log() -> String {
    "info".into()
}

fn default_api_tls() -> bool {
    true
}

/// The default of `network.api_max_upload_bytes`: 5 GiB.
pub const DEFAULT_API_MAX_UPLOAD_BYTES: u64 = 5 << 30;

fn default_api_max_upload_bytes() -> u64 {
    DEFAULT_API_MAX_UPLOAD_BYTES
}

impl NodeConfig {
    /// Reads, parses and validates the configuration at `path`, resolving relative paths
    /// against its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, base)
    }

    /// Parses and validates `text` (named `path` in errors), resolving relative paths against
    /// `base`.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
        config.data_dir = base.join(&config.data_dir);
        config.secrets_dir = base.join(&config.secrets_dir);
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid { path: path.to_owned(), key, reason: reason.into() })
        };
        if self.id == 0 {
            return invalid("id", "must be a positive integer");
        }
        if self.zone.is_empty() || self.zone.len() > 64 {
            return invalid("zone", "must be 1 to 64 characters");
        }
        if self.network.advertise.is_none() && self.network.listen.ip().is_unspecified() {
            return invalid("network.advertise", "is required when network.listen is an unspecified address");
        }
        if let Some(a) = self.network.advertise
            && (a.ip().is_unspecified() || a.port() == 0)
        {
            return invalid("network.advertise", "must be an address peers can dial");
        }
        if self.network.listen.port() == 0 {
            return invalid("network.listen", "needs a fixed port: peers must find the node after a restart");
        }
        if self.network.api.port() == 0 {
            return invalid("network.api", "needs a fixed port");
        }
        if self.network.api == self.network.listen {
            // QUIC is UDP and the API TCP, so they could share a port; refusing keeps it clear.
            return invalid("network.api", "must differ from network.listen");
        }
        if self.accounts.session_idle_s == 0 {
            return invalid("accounts.session_idle_s", "must be at least 1 second");
        }
        if self.accounts.session_max_s < self.accounts.session_idle_s {
            return invalid("accounts.session_max_s", "must be at least accounts.session_idle_s");
        }
        if self.accounts.session_max_s > 10 * 365 * 24 * 3_600 {
            return invalid("accounts.session_max_s", "must be at most ten years");
        }
        if let Err(reason) = self.validate_api_names() {
            return invalid("network.api_names", &reason);
        }
        if self.network.api_max_upload_bytes == 0 {
            return invalid("network.api_max_upload_bytes", "must be positive");
        }
        if let Err((key, reason)) = self.network.validate_limits() {
            return invalid(key, &reason);
        }
        let r = &self.raft;
        if r.heartbeat_ms == 0 {
            return invalid("raft.heartbeat_ms", "must be positive");
        }
        let [low, high] = r.election_timeout_ms;
        if low <= r.heartbeat_ms * 2 {
            return invalid("raft.election_timeout_ms", "must start above twice raft.heartbeat_ms");
        }
        if high <= low {
            return invalid("raft.election_timeout_ms", "must be a range [low, high] with low < high");
        }
        if r.snapshot_every == 0 {
            return invalid("raft.snapshot_every", "must be positive");
        }
        if r.call_timeout_ms < high {
            return invalid(
                "raft.call_timeout_ms",
                "must be at least the election timeout, to outlast an election",
            );
        }
        if let Err((key, reason)) = self.storage.validate() {
            return invalid(key, reason);
        }
        Ok(())
    }

    fn validate_api_names(&self) -> Result<(), String> {
        let names = &self.network.api_names;
        if !names.is_empty() && !self.network.api_tls {
            return Err("names the API certificate, so it is for network.api_tls = true only".into());
        }
        if names.len() > MAX_API_NAMES {
            return Err(format!("lists at most {MAX_API_NAMES} names"));
        }
        for (i, name) in names.iter().enumerate() {
            ApiName::parse(name)?;
            if names[..i].contains(name) {
                return Err(format!("{name:?} is listed twice"));
            }
        }
        Ok(())
    }

    /// The address peers dial for this node's QUIC endpoint.
    pub fn advertised(&self) -> SocketAddr {
        self.network.advertise.unwrap_or(self.network.listen)
    }

    /// This node's addresses, as recorded in the Raft membership.
    pub fn node_addr(&self) -> NodeAddr {
        NodeAddr { raft_addr: self.advertised().to_string(), api_addr: self.network.api.to_string() }
    }

    /// How long one service call may take.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.raft.call_timeout_ms)
    }

    /// When this node stands for election (see [`Elector`]): after the lease (`high`) and a
    /// random part of the range of quiet, asking its peers first, each for at most the lease;
    /// it looks every quarter heartbeat.
    ///
    /// [`Elector`]: cairn_metadata::raft_net::Elector
    pub fn election_times(&self) -> ElectionTimes {
        let r = &self.raft;
        let [low, high] = r.election_timeout_ms;
        ElectionTimes {
            lease: Duration::from_millis(high),
            spread: Duration::from_millis(high - low),
            call: Duration::from_millis(high),
            tick: Duration::from_millis((r.heartbeat_ms / 4).max(1)),
        }
    }

    /// The openraft configuration these settings make (`validate` has checked what openraft
    /// checks, so this fails only if openraft grows new rules).
    pub fn openraft(&self) -> Result<openraft::Config, Box<openraft::ConfigError>> {
        let r = &self.raft;
        openraft::Config {
            cluster_name: "cairn".into(),
            heartbeat_interval: r.heartbeat_ms,
            election_timeout_min: r.election_timeout_ms[0],
            election_timeout_max: r.election_timeout_ms[1],
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(r.snapshot_every),
            max_in_snapshot_log_to_keep: r.keep_after_snapshot,
            // An entry carries up to a few hundred requests; 64 of them keep one AppendEntries
            // well under the transport's frame limit.
            max_payload_entries: 64,
            // A snapshot chunk of several MiB must be able to cross a loaded link.
            install_snapshot_timeout: r.call_timeout_ms,
            ..openraft::Config::default()
        }
        .validate()
        .map_err(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        id = 3
        data_dir = "data/node3"
        secrets_dir = "secrets"
        zone = "rack-2"
        [network]
        listen = "127.0.0.1:7103"
        api = "127.0.0.1:8103"
        [raft]
        heartbeat_ms = 100
        election_timeout_ms = [500, 900]
    "#;

    fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(text, Path::new("node.toml"), Path::new("/etc/cairn"))
    }

    #[test]
    fn a_good_config_parses_with_paths_resolved_and_defaults_filled() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.data_dir, Path::new("/etc/cairn/data/node3"));
        assert_eq!(config.secrets_dir, Path::new("/etc/cairn/secrets"));
        assert_eq!(config.raft.snapshot_every, RaftConfig::default().snapshot_every);
        assert_eq!(config.node_addr().raft_addr, "127.0.0.1:7103");
        assert_eq!(config.openraft().unwrap().heartbeat_interval, 100);
        assert!(config.network.api_tls, "HTTPS unless configured otherwise");
        assert_eq!(config.network.api_max_upload_bytes, 5 << 30);
        let text = GOOD.replace("[raft]", "api_names = [\"drive.example.org\", \"10.0.0.3\"]\n[raft]");
        assert_eq!(parse(&text).unwrap().network.api_names, ["drive.example.org", "10.0.0.3"]);
    }

    #[test]
    fn the_packaged_config_parses() {
        let config = parse(include_str!("../../../packaging/node.toml")).unwrap();
        assert_eq!(config.data_dir, Path::new("/var/lib/cairn/data"));
        assert_eq!(config.secrets_dir, Path::new("/var/lib/cairn/secrets"));
        assert_eq!(config.node_addr().raft_addr, "192.0.2.10:7100");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let text = GOOD.replace("zone = ", "zoen = \"x\"\nzone = ");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("zoen"), "{error}");
        let text = GOOD.replace("heartbeat_ms = 100", "heartbeat_ms = 100\nheartbeat = 1");
        assert!(parse(&text).unwrap_err().to_string().contains("heartbeat"));
    }

    #[test]
    fn bad_values_name_the_key_and_the_reason() {
        for (from, to, key) in [
            ("id = 3", "id = 0", "id"),
            ("id = 3", "id = -1", "id"),
            ("127.0.0.1:7103", "0.0.0.0:7103", "network.advertise"),
            ("127.0.0.1:7103", "127.0.0.1:0", "network.listen"),
            ("127.0.0.1:8103", "127.0.0.1:7103", "network.api"),
            ("[500, 900]", "[150, 900]", "raft.election_timeout_ms"),
            ("[500, 900]", "[900, 500]", "raft.election_timeout_ms"),
            ("listen = \"127.0.0.1:7103\"", "listen = \"not an address\"", "listen"),
            ("[raft]", "[storage]\nprofile = \"2+0\"\n[raft]", "profile"),
            ("[raft]", "[storage]\nscrub_bytes_per_sec = 0\n[raft]", "storage.scrub_bytes_per_sec"),
            ("[raft]", "[storage]\nprofle = \"2+1\"\n[raft]", "profle"),
            ("[raft]", "api_names = [\"Drive.example.org\"]\n[raft]", "network.api_names"),
            ("[raft]", "api_names = [\"node-2\"]\n[raft]", "network.api_names"),
            ("[raft]", "api_names = [\"a.example\", \"a.example\"]\n[raft]", "network.api_names"),
            ("[raft]", "api_tls = false\napi_names = [\"a.example\"]\n[raft]", "network.api_names"),
            ("[raft]", "api_max_upload_bytes = 0\n[raft]", "network.api_max_upload_bytes"),
            ("[raft]", "api_tls = \"yes\"\n[raft]", "api_tls"),
        ] {
            let text = GOOD.replace(from, to);
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(key), "{to}: {error}");
        }
        let missing = GOOD.replace("data_dir = \"data/node3\"", "");
        assert!(parse(&missing).unwrap_err().to_string().contains("data_dir"));
    }
}
