//! What every command starts from: the global flags, the profile they point at, and a client
//! made from the two (flags override the profile, so scripts and tests can run without one).

use std::path::PathBuf;

use cairn_client::{Client, ClientConfig};

use crate::cli::Global;
use crate::config::{Profile, profile_path};
use crate::exit::{Exit, Failure};
use crate::output::Output;
use crate::progress::Meter;

/// One run of `cairn`.
pub struct Context {
    /// The global flags.
    pub global: Global,
    /// Where answers go.
    pub out: Output,
}

impl Context {
    /// A run with `global` flags.
    pub fn new(global: Global) -> Self {
        let out = Output::new(global.json, global.quiet);
        Self { global, out }
    }

    /// The profile file's path.
    pub fn profile_path(&self) -> Result<PathBuf, Failure> {
        profile_path(self.global.config.as_deref())
    }

    /// The namespace to work in (`--ns`), if not the caller's drive.
    pub fn ns(&self) -> Option<u64> {
        self.global.ns
    }

    /// The CA certificate named by `--ca`, read.
    pub fn ca_override(&self) -> Result<Option<String>, Failure> {
        match &self.global.ca {
            Some(path) => {
                std::fs::read_to_string(path).map(Some).map_err(|e| Failure::io("read CA", path, e))
            }
            None => Ok(None),
        }
    }

    /// The client settings: the profile, with `--node`, `CAIRN_TOKEN` and `--ca` over it.
    pub fn client_config(&self) -> Result<ClientConfig, Failure> {
        let path = self.profile_path()?;
        let profile = Profile::load(&path)?;
        let base = path.parent().map(PathBuf::from).unwrap_or_default();
        let nodes = match (&self.global.nodes, &profile) {
            (nodes, _) if !nodes.is_empty() => nodes.clone(),
            (_, Some(profile)) => profile.nodes.clone(),
            (_, None) => return Err(not_logged_in(&path)),
        };
        let token = match (env_token(), &profile) {
            (Some(token), _) => token,
            (None, Some(profile)) => profile.token.clone(),
            (None, None) => return Err(not_logged_in(&path)),
        };
        let mut config = ClientConfig::new(nodes, token);
        config.ca_pem = match self.ca_override()? {
            Some(pem) => Some(pem),
            None => match &profile {
                Some(profile) => profile.ca(&base)?,
                None => None,
            },
        };
        Ok(config)
    }

    /// A client for the cluster the profile and flags name.
    pub fn client(&self) -> Result<Client, Failure> {
        Ok(Client::new(self.client_config()?)?)
    }

    /// A progress meter for a transfer of `total` bytes.
    pub fn meter(&self, label: &str, total: u64) -> Meter {
        Meter::start(self.global.progress, self.global.quiet, label, total)
    }
}

fn not_logged_in(path: &std::path::Path) -> Failure {
    Failure::new(
        Exit::Permission,
        "no_profile",
        format!(
            "no profile at {} and no --node/CAIRN_TOKEN: run `cairn login --node URL` first",
            path.display()
        ),
    )
}

/// The token in `CAIRN_TOKEN`, if set and not blank: it overrides the profile's.
pub fn env_token() -> Option<String> {
    std::env::var("CAIRN_TOKEN").ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}
