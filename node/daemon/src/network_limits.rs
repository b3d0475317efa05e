//! The API's connection limits in the `[network]` section: their defaults (the API's own,
//! see `cairn_api::server::ConnectionLimits` for why each), the rules a value must keep, and
//! the open-file limit the connection cap needs.
//!
//! Every connection is a file descriptor, and so are RocksDB's files, the QUIC socket and the
//! log. At start the node raises its soft open-file limit to the hard one (a default soft limit
//! of 1024 would not hold the default 4096 connections), keeps [`RESERVED_FILES`] of it for
//! everything but the API, and checks that the connection cap fits in the rest: a cap left at
//! its default is lowered to fit, with a warning; a cap written in the config that cannot fit
//! stops the node, since the operator asked for something the machine will not give.

use std::time::Duration;

use cairn_api::server::ConnectionLimits;
use cairn_api::watch_limit;

use crate::config::NetworkConfig;

/// Open files kept for what is not an API connection: three RocksDB stores, the QUIC socket,
/// the log, certificates being read.
pub const RESERVED_FILES: u64 = 1024;

/// The longest any of the timeouts may be, in seconds: an hour is already far past useful.
const MAX_TIMEOUT_S: u64 = 3600;

/// The most connections a node may be told to hold.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The most HTTP/2 streams per connection: each may hold a response's send buffer.
const MAX_HTTP2_STREAMS: u32 = 1000;

const DEFAULT: ConnectionLimits = ConnectionLimits::DEFAULT;

/// The default of `network.header_timeout_s`.
pub fn default_header_timeout_s() -> u64 {
    DEFAULT.header_timeout.as_secs()
}

/// The default of `network.idle_timeout_s`.
pub fn default_idle_timeout_s() -> u64 {
    DEFAULT.idle_timeout.as_secs()
}

/// The default of `network.body_idle_timeout_s`.
pub fn default_body_idle_timeout_s() -> u64 {
    DEFAULT.body_idle_timeout.as_secs()
}

/// The default of `network.write_timeout_s`.
pub fn default_write_timeout_s() -> u64 {
    DEFAULT.write_timeout.as_secs()
}

/// The default of `network.max_connections_per_address`.
pub fn default_max_connections_per_address() -> usize {
    DEFAULT.max_connections_per_address
}

/// The default of `network.http2_max_streams`.
pub fn default_http2_max_streams() -> u32 {
    DEFAULT.http2_max_streams
}

/// The default of `network.max_watches_per_user`.
pub fn default_max_watches_per_user() -> usize {
    watch_limit::DEFAULT_PER_USER
}

/// The default of `network.max_watches`.
pub fn default_max_watches() -> usize {
    watch_limit::DEFAULT_PER_NODE
}

impl NetworkConfig {
    /// Checks the connection and watch limits: the offending key and why, if any is wrong.
    pub(crate) fn validate_limits(&self) -> Result<(), (&'static str, String)> {
        for (key, value) in [
            ("network.header_timeout_s", self.header_timeout_s),
            ("network.idle_timeout_s", self.idle_timeout_s),
            ("network.body_idle_timeout_s", self.body_idle_timeout_s),
            ("network.write_timeout_s", self.write_timeout_s),
        ] {
            if !(1..=MAX_TIMEOUT_S).contains(&value) {
                return Err((key, format!("must be from 1 to {MAX_TIMEOUT_S} seconds, not {value}")));
            }
        }
        let connections = self.max_connections.unwrap_or(DEFAULT.max_connections);
        if !(1..=MAX_CONNECTIONS).contains(&connections) {
            return Err(("network.max_connections", format!("must be from 1 to {MAX_CONNECTIONS}")));
        }
        if !(1..=connections).contains(&self.max_connections_per_address) {
            return Err((
                "network.max_connections_per_address",
                format!("must be from 1 to network.max_connections ({connections})"),
            ));
        }
        if !(1..=MAX_HTTP2_STREAMS).contains(&self.http2_max_streams) {
            return Err(("network.http2_max_streams", format!("must be from 1 to {MAX_HTTP2_STREAMS}")));
        }
        if self.max_watches == 0 {
            return Err(("network.max_watches", "must be positive".into()));
        }
        if !(1..=self.max_watches).contains(&self.max_watches_per_user) {
            return Err((
                "network.max_watches_per_user",
                format!("must be from 1 to network.max_watches ({})", self.max_watches),
            ));
        }
        Ok(())
    }

    /// The API's connection limits, with `max_connections` as [`connections_within`] fitted it.
    pub fn connection_limits(&self, max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(self.header_timeout_s),
            idle_timeout: Duration::from_secs(self.idle_timeout_s),
            body_idle_timeout: Duration::from_secs(self.body_idle_timeout_s),
            write_timeout: Duration::from_secs(self.write_timeout_s),
            max_connections,
            max_connections_per_address: self.max_connections_per_address.min(max_connections),
            http2_max_streams: self.http2_max_streams,
        }
    }
}

/// Raises the open-file limit and fits the connection cap of `network` in it (see the module
/// doc), logging what was lowered; an error says why the configured cap cannot be held.
pub fn fit_connection_cap(network: &NetworkConfig) -> Result<usize, String> {
    let open_files = raise_open_files_limit().map_err(|e| format!("read the open-file limit: {e}"))?;
    let (cap, warning) = connections_within(network.max_connections, open_files)?;
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    Ok(cap)
}

/// Raises this process's soft open-file limit to its hard limit, and returns the soft limit
/// now in force.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The connection cap that `open_files` holds: the `configured` one if it fits, else (when none
/// was configured) the default lowered to fit, with the warning to log. An error says why a
/// configured cap cannot be held.
pub fn connections_within(
    configured: Option<usize>,
    open_files: u64,
) -> Result<(usize, Option<String>), String> {
    let room = usize::try_from(open_files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
    match configured {
        Some(cap) if cap <= room => Ok((cap, None)),
        Some(cap) => Err(format!(
            "network.max_connections = {cap} needs {} open files with the {RESERVED_FILES} the node keeps \
             for its stores, but this process may open only {open_files}: raise the hard limit \
             (LimitNOFILE= in a systemd unit, `ulimit -Hn` in a shell) or lower network.max_connections",
            cap as u64 + RESERVED_FILES
        )),
        None if DEFAULT.max_connections <= room => Ok((DEFAULT.max_connections, None)),
        None if room >= 64 => Ok((
            room,
            Some(format!(
                "the open-file limit ({open_files}) holds only {room} API connections besides the \
                 {RESERVED_FILES} files kept for the stores, not the default {}: serving that many \
                 (raise the hard limit, LimitNOFILE= in a systemd unit, for more)",
                DEFAULT.max_connections
            )),
        )),
        None => Err(format!(
            "this process may open only {open_files} files, too few for the {RESERVED_FILES} the node \
             keeps for its stores and any API connections: raise the hard limit (LimitNOFILE= in a \
             systemd unit, `ulimit -Hn` in a shell)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{ConfigError, NodeConfig};

    const GOOD: &str = r#"
        id = 3
        data_dir = "data"
        secrets_dir = "secrets"
        [network]
        listen = "127.0.0.1:7103"
        api = "127.0.0.1:8103"
    "#;

    fn parse(network_lines: &str) -> Result<NodeConfig, ConfigError> {
        let text = format!("{GOOD}{network_lines}\n");
        NodeConfig::parse(&text, Path::new("node.toml"), Path::new("/etc/cairn"))
    }

    #[test]
    fn the_limits_default_to_the_apis_own() {
        let config = parse("").unwrap();
        let limits = config.network.connection_limits(DEFAULT.max_connections);
        assert_eq!(limits, ConnectionLimits::DEFAULT);
        assert_eq!(config.network.max_connections, None);
        assert_eq!((config.network.max_watches_per_user, config.network.max_watches), (16, 2048));
    }

    #[test]
    fn every_key_is_read() {
        let config = parse(
            "header_timeout_s = 2\nidle_timeout_s = 3\nbody_idle_timeout_s = 4\nwrite_timeout_s = 5\n\
             max_connections = 3000\nmax_connections_per_address = 2500\nhttp2_max_streams = 8\n\
             max_watches_per_user = 2\nmax_watches = 3",
        )
        .unwrap();
        let n = &config.network;
        assert_eq!(n.max_connections, Some(3000));
        assert_eq!((n.max_watches_per_user, n.max_watches), (2, 3));
        let limits = n.connection_limits(3000);
        assert_eq!(
            limits,
            ConnectionLimits {
                header_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(3),
                body_idle_timeout: Duration::from_secs(4),
                write_timeout: Duration::from_secs(5),
                max_connections: 3000,
                max_connections_per_address: 2500,
                http2_max_streams: 8,
            }
        );
        // A cap lowered to fit the open-file limit lowers the per-address cap with it.
        assert_eq!(n.connection_limits(1000).max_connections_per_address, 1000);
    }

    #[test]
    fn bad_values_are_refused_naming_the_key_and_the_rule() {
        for (line, key, rule) in [
            ("header_timeout_s = 0", "network.header_timeout_s", "from 1 to 3600 seconds"),
            ("idle_timeout_s = 3601", "network.idle_timeout_s", "from 1 to 3600 seconds"),
            ("body_idle_timeout_s = 0", "network.body_idle_timeout_s", "from 1 to 3600"),
            ("write_timeout_s = 0", "network.write_timeout_s", "from 1 to 3600"),
            ("max_connections = 0", "network.max_connections", "from 1 to"),
            ("max_connections = 2000000", "network.max_connections", "from 1 to 1000000"),
            ("max_connections_per_address = 0", "network.max_connections_per_address", "from 1"),
            (
                "max_connections = 100\nmax_connections_per_address = 101",
                "network.max_connections_per_address",
                "network.max_connections (100)",
            ),
            // Per address above the default node cap, with no node cap written.
            ("max_connections_per_address = 5000", "network.max_connections_per_address", "(4096)"),
            ("http2_max_streams = 0", "network.http2_max_streams", "from 1 to 1000"),
            ("max_watches = 0", "network.max_watches", "positive"),
            ("max_watches = 4\nmax_watches_per_user = 5", "network.max_watches_per_user", "(4)"),
            ("max_watches_per_user = 0", "network.max_watches_per_user", "from 1"),
        ] {
            let error = parse(line).unwrap_err().to_string();
            assert!(error.contains(key) && error.contains(rule), "{line}: {error}");
        }
        // Types and names are the parser's: a negative count, a misspelt key.
        for (line, word) in [
            ("max_connections = -1", "max_connections"),
            ("header_timeout_s = \"10s\"", "header_timeout_s"),
            ("idle_timeout = 5", "idle_timeout"),
        ] {
            let error = parse(line).unwrap_err().to_string();
            assert!(error.contains(word), "{line}: {error}");
        }
    }

    #[test]
    fn the_connection_cap_must_fit_the_open_file_limit() {
        assert_eq!(connections_within(None, 1 << 20), Ok((4096, None)));
        assert_eq!(connections_within(Some(10_000), 20_000), Ok((10_000, None)));
        let error = connections_within(Some(10_000), 4096).unwrap_err();
        assert!(error.contains("network.max_connections = 10000") && error.contains("4096"), "{error}");
        let (lowered, warning) = connections_within(None, 4096).unwrap();
        assert_eq!(lowered, 4096 - 1024);
        assert!(warning.unwrap().contains("not the default 4096"));
        assert!(connections_within(None, 1024).unwrap_err().contains("too few"));
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let now = raise_open_files_limit().unwrap();
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(now, soft);
        assert!(soft == hard || soft >= 1 << 20, "soft {soft}, hard {hard}");
    }
}
