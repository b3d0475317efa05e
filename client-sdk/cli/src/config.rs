//! The profile: which cluster to talk to and as whom, in a TOML file in the platform's config
//! folder (`<config dir>/cairn/config.toml`, or `--config`/`CAIRN_CONFIG`).
//!
//! ```toml
//! nodes = ["https://10.0.0.1:8101", "https://10.0.0.2:8101"]
//! token = "…"
//! ca_pem = """-----BEGIN CERTIFICATE-----…"""   # or: ca_file = "/etc/cairn/ca.crt"
//! ```
//!
//! `login` writes the CA certificate into the file itself, so a profile is one self-contained
//! file; it holds a token, so it is written readable by its owner only. Unknown keys are
//! refused, so a typo never silently falls back to a default.

use cairn_client::api::ErrorCode;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::{Exit, Failure};

/// The profile file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Base addresses of the nodes, tried in order.
    pub nodes: Vec<String>,
    /// The bearer token.
    pub token: String,
    /// The cluster CA certificate, PEM, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// The cluster CA certificate as a file (relative to the profile's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// Where the profile lives: `explicit` (`--config`, `CAIRN_CONFIG`), else the platform's
/// config folder.
pub fn profile_path(explicit: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    dirs::config_dir().map(|dir| dir.join("cairn").join("config.toml")).ok_or_else(|| {
        Failure::new(
            Exit::LocalIo,
            "no_config_dir",
            "this platform has no config folder (no HOME?); pass --config FILE",
        )
    })
}

impl Profile {
    /// Reads and checks the profile at `path`; `Ok(None)` when there is no file.
    pub fn load(path: &Path) -> Result<Option<Self>, Failure> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Failure::io("read profile", path, e)),
        };
        let profile = Self::parse(&text).map_err(|why| {
            Failure::new(Exit::BadInput, "bad_profile", format!("{}: {why}", path.display()))
        })?;
        Ok(Some(profile))
    }

    /// Parses and checks a profile's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let profile: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        profile.check()?;
        Ok(profile)
    }

    /// Refuses what cannot work: no node, a node that is not an http(s) URL, no token, two
    /// CAs.
    pub fn check(&self) -> Result<(), String> {
        self.check_cluster()?;
        if self.token.trim().is_empty() {
            return Err("`token` is empty".into());
        }
        Ok(())
    }

    /// The part of [`check`](Self::check) that does not need the token: where the cluster is
    /// and how to trust it, which `login` checks before it has one.
    pub fn check_cluster(&self) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err("`nodes` lists no node".into());
        }
        for node in &self.nodes {
            let scheme = node.split_once("://").map(|(s, _)| s);
            if !matches!(scheme, Some("http" | "https")) {
                return Err(format!("node {node:?} is not an http:// or https:// address"));
            }
        }
        if self.ca_pem.is_some() && self.ca_file.is_some() {
            return Err("give the CA as `ca_pem` or `ca_file`, not both".into());
        }
        Ok(())
    }

    /// The CA certificate's PEM text: inline, or read from `ca_file` (relative to `base`,
    /// the profile's folder).
    pub fn ca(&self, base: &Path) -> Result<Option<String>, Failure> {
        match (&self.ca_pem, &self.ca_file) {
            (Some(pem), _) => Ok(Some(pem.clone())),
            (None, Some(file)) => {
                let path = base.join(file);
                std::fs::read_to_string(&path).map(Some).map_err(|e| Failure::io("read CA", &path, e))
            }
            (None, None) => Ok(None),
        }
    }

    /// Writes the profile to `path` (making its folder), readable by its owner only, through
    /// a temporary file renamed into place so a crash never leaves half a profile.
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        let text = toml::to_string(self).map_err(|e| {
            Failure::new(Exit::Internal, ErrorCode::Internal.as_str(), format!("serialize profile: {e}"))
        })?;
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&folder).map_err(|e| Failure::io("make folder", &folder, e))?;
        // tempfile creates its files 0600 on unix: the token is never readable by others,
        // not even for a moment.
        let mut temp = tempfile::Builder::new()
            .prefix(".cairn-profile-")
            .tempfile_in(&folder)
            .map_err(|e| Failure::io("create a file in", &folder, e))?;
        let header = "# cairn profile, written by `cairn login`. It holds a token: keep it private.\n";
        temp.write_all(header.as_bytes())
            .and_then(|()| temp.write_all(text.as_bytes()))
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| Failure::io("write", temp.path(), e))?;
        temp.persist(path).map_err(|e| Failure::io("save profile", path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Test code: a panic is a failure report.
mod tests {
    use super::*;

    #[test]
    fn a_saved_profile_loads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        let profile = Profile {
            nodes: vec!["https://127.0.0.1:8101".into()],
            token: "t0ken".into(),
            ca_pem: Some("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n".into()),
            ca_file: None,
        };
        profile.save(&path).unwrap();
        assert_eq!(Profile::load(&path).unwrap(), Some(profile));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_profile_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Profile::load(&dir.path().join("nope.toml")).unwrap(), None);
    }

    #[test]
    fn bad_profiles_are_refused_with_a_reason() {
        let cases = [
            ("nodes = []\ntoken = \"t\"", "no node"),
            ("nodes = [\"ftp://x\"]\ntoken = \"t\"", "not an http"),
            ("nodes = [\"http://x:1\"]\ntoken = \"\"", "empty"),
            ("nodes = [\"http://x:1\"]\ntoken = \"t\"\ncolour = 1", "unknown field"),
            ("nodes = [\"http://x:1\"]", "token"),
            ("nodes = [\"http://x:1\"]\ntoken = \"t\"\nca_pem = \"p\"\nca_file = \"f\"", "not both"),
        ];
        for (text, why) in cases {
            let error = Profile::parse(text).unwrap_err();
            assert!(error.contains(why), "{text:?}: {error}");
        }
    }

    #[test]
    fn a_ca_file_is_read_relative_to_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), "PEM").unwrap();
        let profile =
            Profile::parse("nodes = [\"http://x:1\"]\ntoken = \"t\"\nca_file = \"ca.crt\"").unwrap();
        assert_eq!(profile.ca(dir.path()).unwrap().as_deref(), Some("PEM"));
    }
}
