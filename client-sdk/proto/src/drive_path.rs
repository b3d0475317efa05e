//! `DrivePath`: a normalised path inside a drive, checked once at the edge.
//!
//! Canonical form: components joined by `/`, no leading or trailing slash, the root is the
//! empty path. Refused, with a reason: `..` and `.` components, empty components (`a//b`), NUL,
//! backslashes, components longer than 255 bytes, paths longer than 4096 bytes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ProtoError;

/// Longest accepted path, in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Longest accepted path component, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// A validated, normalised drive path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DrivePath(String);

impl DrivePath {
    /// The root folder.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Validates and normalises `path`; a single leading `/` is accepted and dropped.
    pub fn parse(path: &str) -> Result<Self, ProtoError> {
        let bad = |reason: &str| ProtoError::InvalidPath {
            path: path.chars().take(200).collect(),
            reason: reason.into(),
        };
        if path.len() > MAX_PATH_LEN {
            return Err(bad("longer than 4096 bytes"));
        }
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Ok(Self::root());
        }
        for name in trimmed.split('/') {
            match name {
                "" => return Err(bad("empty path component")),
                "." | ".." => return Err(bad("'.' and '..' are not allowed")),
                _ if name.len() > MAX_NAME_LEN => return Err(bad("a component is longer than 255 bytes")),
                _ if name.contains('\0') => return Err(bad("NUL is not allowed")),
                _ if name.contains('\\') => return Err(bad("backslash is not allowed")),
                _ => {}
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

    /// The path of `name` inside this folder. `name` must be a valid single component.
    pub fn join(&self, name: &str) -> Result<Self, ProtoError> {
        let joined = if self.is_root() { name.to_string() } else { format!("{}/{name}", self.0) };
        let path = Self::parse(&joined)?;
        if name.contains('/') || path.0.len() != joined.len() {
            return Err(ProtoError::InvalidPath {
                path: joined,
                reason: "not a single path component".into(),
            });
        }
        Ok(path)
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
        DrivePath::parse(&s).map_err(serde::de::Error::custom)
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
    fn deserialising_validates() {
        assert!(serde_json::from_str::<DrivePath>("\"a/../b\"").is_err());
        assert_eq!(serde_json::from_str::<DrivePath>("\"/a/b\"").unwrap().as_str(), "a/b");
    }
}
