//! What every subcommand starts with: its config, and logging set up for it.

use std::io::IsTerminal;
use std::path::Path;

use cairn_node::NodeConfig;

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Loads a config and sets up logging: at the config's level for a node, at `warn` for the
/// admin commands (their output is what they print), unless `RUST_LOG` says otherwise.
pub(crate) fn load_for(path: &Path, daemon: bool) -> Result<NodeConfig> {
    let config = NodeConfig::load(path)?;
    let level = if daemon { config.log.as_str() } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .map_err(|e| format!("{}: log: {e}", path.display()))?;
    // Colours only on a terminal: under systemd or into a file they are escape codes in every
    // line, which journald shows raw and which break `grep field=value`. Only the first call
    // installs a subscriber; later ones (none today) would be ignored.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
    Ok(config)
}

pub(crate) fn load(path: &Path) -> Result<NodeConfig> {
    load_for(path, false)
}
