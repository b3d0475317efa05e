//! `DrivePath`: a normalised path inside a drive, checked once at the edge.
//!
//! Canonical form: names (see [`crate::drive_name`] for what a name may be) joined by `/`, no
//! leading or trailing slash, the root is the empty path, in Unicode NFC — so the `é` one
//! device typed and the `e` + accent another wrote are one name, never twins. Refused, with a
//! reason: `..` and `.`, empty names (`a//b`), NUL, backslashes, control and bidirectional
//! characters, a drive letter and colon at a name's start, names longer than 255 bytes, paths
//! longer than 4096 bytes.
//!
//! [`DrivePath::parse`] is for paths that come in (the API, tus metadata, the command line):
//! it applies every rule. What a node reads back from its own state or log was checked when it
//! came in, under the rules of its day, so [`DrivePath::from_stored`] (and deserialising) keeps
//! only the structural rules and the bytes as they are: a name stored before a rule tightened
//! stays readable.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ProtoError;
use crate::drive_name::{content_problem, structural_problem, to_nfc};

pub use crate::drive_name::MAX_NAME_LEN;

/// Longest accepted path, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// A validated, normalised drive path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DrivePath(String);

impl DrivePath {
    /// The root folder.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Validates and normalises `path` (to NFC); a single leading `/` is accepted and dropped.
    pub fn parse(path: &str) -> Result<Self, ProtoError> {
        Self::check(path, true)
    }

    /// A path as the drive stored it: the structural rules only, and no normalisation.
    pub fn from_stored(path: &str) -> Result<Self, ProtoError> {
        Self::check(path, false)
    }

    fn check(path: &str, new: bool) -> Result<Self, ProtoError> {
        let bad = |reason: String| ProtoError::InvalidPath { path: path.chars().take(200).collect(), reason };
        if path.len() > MAX_PATH_LEN {
            return Err(bad(format!("longer than {MAX_PATH_LEN} bytes")));
        }
        let normalised = if new { to_nfc(path) } else { path.into() };
        if normalised.len() > MAX_PATH_LEN {
            return Err(bad(format!("longer than {MAX_PATH_LEN} bytes in Unicode NFC")));
        }
        let trimmed = normalised.strip_prefix('/').unwrap_or(&normalised);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Ok(Self::root());
        }
        for name in trimmed.split('/') {
            let problem = structural_problem(name).or_else(|| new.then(|| content_problem(name)).flatten());
            if let Some(problem) = problem {
                return Err(bad(problem.to_string()));
            }
        }
        Ok(Self(trimmed.to_string()))
    }

    /// The path as text, without a leading slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the root folder.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent folder and the last component; `None` for the root.
    pub fn split_last(&self) -> Option<(DrivePath, &str)> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((parent, name)) => (Self(parent.to_string()), name),
            None => (Self::root(), self.0.as_str()),
        })
    }

    /// The path of `name` inside this folder, with `name` normalised to NFC; it must be one
    /// valid name.
    pub fn join(&self, name: &str) -> Result<Self, ProtoError> {
        let name = to_nfc(name);
        let joined = if self.is_root() { name.to_string() } else { format!("{}/{name}", self.0) };
        let problem = structural_problem(&name).or_else(|| content_problem(&name));
        let reason = match problem {
            Some(crate::drive_name::NameProblem::Slash) => Some("not a single path component".to_owned()),
            Some(problem) => Some(problem.to_string()),
            None if joined.len() > MAX_PATH_LEN => Some(format!("longer than {MAX_PATH_LEN} bytes")),
            None => None,
        };
        match reason {
            Some(reason) => Err(ProtoError::InvalidPath { path: joined.chars().take(200).collect(), reason }),
            None => Ok(Self(joined)),
        }
    }

    /// True if `self` is `other` or inside it.
    pub fn starts_with(&self, other: &DrivePath) -> bool {
        other.is_root()
            || self.0 == other.0
            || self.0.strip_prefix(&other.0).is_some_and(|rest| rest.starts_with('/'))
    }
}

impl fmt::Display for DrivePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.0)
    }
}

impl fmt::Debug for DrivePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DrivePath(/{})", self.0)
    }
}

impl Serialize for DrivePath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DrivePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DrivePath::from_stored(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_slashes() {
        assert_eq!(DrivePath::parse("/a/b/").unwrap().as_str(), "a/b");
        assert_eq!(DrivePath::parse("a").unwrap().to_string(), "/a");
        assert!(DrivePath::parse("/").unwrap().is_root());
        assert!(DrivePath::parse("").unwrap().is_root());
    }

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        for (path, why) in
            [("a/../b", "'..'"), ("./a", "'.'"), ("a//b", "empty"), ("a\0b", "NUL"), ("a\\b", "backslash")]
        {
            let err = DrivePath::parse(path).unwrap_err().to_string();
            assert!(err.contains(why), "{path:?}: {err}");
        }
        assert!(DrivePath::parse(&"x".repeat(256)).unwrap_err().to_string().contains("255"));
        assert!(DrivePath::parse(&"a/".repeat(2100)).unwrap_err().to_string().contains("4096"));
    }

    #[test]
    fn parent_join_and_prefix() {
        let p = DrivePath::parse("docs/2026/report.pdf").unwrap();
        let (parent, name) = p.split_last().unwrap();
        assert_eq!((parent.as_str(), name), ("docs/2026", "report.pdf"));
        assert_eq!(parent.join(name).unwrap(), p);
        assert!(DrivePath::root().join("a/b").is_err());
        assert!(p.starts_with(&DrivePath::parse("docs").unwrap()));
        assert!(!DrivePath::parse("docsx/a").unwrap().starts_with(&DrivePath::parse("docs").unwrap()));
        assert!(p.starts_with(&DrivePath::root()));
    }

    #[test]
    fn new_names_are_tightened_and_normalised() {
        for (path, why) in [
            ("a/b\nc", "control character U+000A"),
            ("docs/\u{1b}[2J", "U+001B"),
            ("C:x", "drive letter"),
            ("a/d:/b", "drive letter"),
            ("a/\u{202e}exe.pdf", "bidirectional"),
        ] {
            let err = DrivePath::parse(path).unwrap_err().to_string();
            assert!(err.contains(why), "{path:?}: {err}");
        }
        // NFD comes in, NFC is kept: the two spellings of one name are one path.
        let nfd = DrivePath::parse("Cafe\u{301}/re\u{301}sume\u{301}.txt").unwrap();
        assert_eq!(nfd, DrivePath::parse("Café/résumé.txt").unwrap());
        assert_eq!(DrivePath::root().join("e\u{301}").unwrap().as_str(), "é");
        assert!(DrivePath::root().join("a\nb").is_err());
        assert!(DrivePath::parse("10:30 meeting/notes.txt").is_ok());
    }

    #[test]
    fn stored_paths_keep_only_the_structural_rules() {
        let legacy = "old/a\nb/cafe\u{301}";
        assert_eq!(DrivePath::from_stored(legacy).unwrap().as_str(), legacy);
        assert!(DrivePath::from_stored("a/../b").is_err());
        let json = serde_json::to_string(legacy).unwrap();
        assert_eq!(serde_json::from_str::<DrivePath>(&json).unwrap().as_str(), legacy);
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<DrivePath>("\"a/../b\"").is_err());
        assert_eq!(serde_json::from_str::<DrivePath>("\"/a/b\"").unwrap().as_str(), "a/b");
    }
}
