//! Where `cairn export` puts each version, and the manifest that says what an export holds.
//! Pure: paths relative to the export folder, `/`-separated, for the SDK's wall to check.
//!
//! The layout, for a person and for a restore:
//! - the head of each file at its own path, in the drive's folder structure (empty folders
//!   too), as `cairn get` of the folder would write it;
//! - with `--all-versions`, each older kept version of `a/b.txt` at
//!   `.cairn-versions/a/b.txt/v<N>`, so the tree a person browses holds only heads;
//! - `.cairn-export.json`: for each file its drive path, id and the versions exported (number,
//!   size, blake3, times, where it is).
//!
//! The two names are the export's own: a drive entry of either name at the top of the export is
//! skipped, with the reason, rather than mixed into them.

use serde::{Deserialize, Serialize};

/// The folder of older versions, at the top of the export.
pub const VERSIONS_DIR: &str = ".cairn-versions";

/// The manifest, at the top of the export.
pub const MANIFEST: &str = ".cairn-export.json";

/// The manifest's format, raised when a field changes meaning.
pub const FORMAT: u32 = 1;

/// Why `rel` (relative to the exported folder) cannot be exported as itself: its first name is
/// one of the export's own.
pub fn reserved(rel: &str) -> Option<String> {
    let first = rel.split('/').next().unwrap_or(rel);
    [VERSIONS_DIR, MANIFEST]
        .contains(&first)
        .then(|| format!("{first} is the export's own name (older versions, manifest)"))
}

/// Where version `version` of the file at `rel` goes: its own path if it is the head, else
/// under [`VERSIONS_DIR`].
pub fn version_path(rel: &str, version: u64, head: u64) -> String {
    if version == head { rel.to_owned() } else { format!("{VERSIONS_DIR}/{rel}/v{version}") }
}

/// `.cairn-export.json`: what the export holds, as of its last run.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportManifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The drive folder exported (leading `/`).
    pub remote: String,
    /// The namespace, if not the user's own drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u64>,
    /// Whether older versions were exported too.
    pub all_versions: bool,
    /// When the run that wrote this ended (ms since the epoch).
    pub exported_ms: u64,
    /// Every folder, relative to the export (`""`: the export itself), parents first.
    pub folders: Vec<String>,
    /// Every file with at least one version held.
    pub files: Vec<ExportedFile>,
    /// Names not exported, with the reason.
    pub skipped: Vec<Skipped>,
    /// Versions that could not be exported on this run, with the error.
    pub failed: Vec<Failed>,
}

/// One file of an export.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportedFile {
    /// Its drive path (leading `/`).
    pub path: String,
    /// Its path relative to the export.
    pub local: String,
    /// Its id, stable across renames.
    pub file: u64,
    /// Its head version.
    pub head: u64,
    /// The versions held, newest first.
    pub versions: Vec<ExportedVersion>,
}

/// One version held by an export.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportedVersion {
    /// Its number.
    pub version: u64,
    /// Its size in bytes.
    pub size: u64,
    /// blake3 of its content, hex.
    pub hash: String,
    /// The file's modification time on the device that committed it (ms since the epoch).
    pub mtime_ms: u64,
    /// When the cluster committed it (ms since the epoch).
    pub committed_ms: u64,
    /// Where it is, relative to the export.
    pub local: String,
}

/// A name not exported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skipped {
    /// Its path relative to the exported folder, printable.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A version not exported on this run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Failed {
    /// The file's drive path (leading `/`).
    pub path: String,
    /// The version, if the failure was about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// What went wrong.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_keep_their_path_and_older_versions_go_aside() {
        assert_eq!(version_path("a/b c.txt", 3, 3), "a/b c.txt");
        assert_eq!(version_path("a/b c.txt", 1, 3), ".cairn-versions/a/b c.txt/v1");
    }

    #[test]
    fn only_the_exports_own_names_at_the_top_are_reserved() {
        assert!(reserved(".cairn-versions").is_some());
        assert!(reserved(".cairn-versions/x").is_some());
        assert!(reserved(".cairn-export.json").is_some());
        assert!(reserved("docs/.cairn-versions").is_none());
        assert!(reserved(".cairn-versions2").is_none());
        assert!(reserved("").is_none());
    }
}
