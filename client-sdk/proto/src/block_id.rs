//! `BlockId`: the name of a block, the blake3 hash of its plaintext bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why bytes or text are not a block id; [`crate::ProtoError`] wraps it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid block id: {0}")]
pub struct InvalidBlockId(pub String);

/// The blake3 hash of a block's plaintext. Equal content has an equal id, which is what makes
/// dedup and delta sync one mechanism.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId([u8; 32]);

impl BlockId {
    /// Length of an id in bytes.
    pub const LEN: usize = 32;

    /// Computes the id of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self(*blake3::hash(data).as_bytes())
    }

    /// Wraps raw id bytes (for example read back from storage).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses an id from a byte slice, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidBlockId> {
        let array: [u8; 32] =
            bytes.try_into().map_err(|_| InvalidBlockId(format!("{} bytes, expected 32", bytes.len())))?;
        Ok(Self(array))
    }

    /// The raw id bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, the form used in URLs, logs and JSON.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlockId {
    // Twelve hex digits are plenty to tell blocks apart in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({}…)", &self.to_hex()[..12])
    }
}

impl FromStr for BlockId {
    type Err = InvalidBlockId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(InvalidBlockId(format!("{} characters, expected 64 hex digits", s.len())));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|e| InvalidBlockId(format!("not hex: {e}")))?;
        Ok(Self(bytes))
    }
}

impl Serialize for BlockId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = BlockId::of(b"hello");
        assert_eq!(id.to_hex().parse::<BlockId>().unwrap(), id);
        assert_eq!(id.to_hex(), blake3::hash(b"hello").to_hex().as_str());
    }

    #[test]
    fn bad_hex_is_refused_with_reason() {
        let err = "abc".parse::<BlockId>().unwrap_err();
        assert!(err.to_string().contains("expected 64 hex digits"), "{err}");
        let err = "z".repeat(64).parse::<BlockId>().unwrap_err();
        assert!(err.to_string().contains("not hex"), "{err}");
        assert!(BlockId::from_slice(&[0; 31]).is_err());
    }

    #[test]
    fn serde_uses_hex_string() {
        let id = BlockId::of(b"x");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<BlockId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<BlockId>("\"00\"").is_err());
    }
}
