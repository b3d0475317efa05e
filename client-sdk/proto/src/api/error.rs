//! The body of every failed API call, and its stable [`ErrorCode`]: clients branch on the code,
//! never on the message. The node answers with these codes and the SDK and the command line
//! read them back, all through this one enum; on the wire each is its snake_case name, as it
//! always was.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines [`ErrorCode`] with the wire name of each variant, once.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $wire:literal,)*) => {
        /// The stable, machine-readable reason a call failed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// A code this side does not know: a newer peer's. The message still says what
            /// went wrong.
            Other,
        }

        impl ErrorCode {
            /// Every code this side knows.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it travels: `not_found`, `conflict`, …
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                    ErrorCode::Other => "other",
                }
            }

            /// The code a wire name stands for ([`ErrorCode::Other`] for one this side does
            /// not know).
            pub fn from_wire(code: &str) -> Self {
                match code {
                    $($wire => ErrorCode::$variant,)*
                    _ => ErrorCode::Other,
                }
            }
        }
    };
}

error_codes! {
    /// The request is malformed: a bad query, header or body.
    BadRequest = "bad_request",
    /// A path breaks the path rules.
    BadPath = "bad_path",
    /// A `Range` the content cannot satisfy.
    BadRange = "bad_range",
    /// A value the model refuses (a name, a size, a time in the past, …).
    Invalid = "invalid",
    /// A block whose bytes are not a valid encoding, or do not match its id.
    InvalidBlock = "invalid_block",
    /// A block list whose length for a block is not the stored block's plain length.
    BlockLengthMismatch = "block_length_mismatch",
    /// No token, or one the cluster does not know.
    Unauthenticated = "unauthenticated",
    /// The caller may not do this.
    Forbidden = "forbidden",
    /// The link needs its password.
    PasswordRequired = "password_required",
    /// Nothing there (a path, version, user, share, link, upload, …).
    NotFound = "not_found",
    /// A link or upload session that has expired.
    Expired = "expired",
    /// A journal cursor older than what the journal keeps: list again.
    CursorExpired = "cursor_expired",
    /// Something of that name exists already.
    Exists = "exists",
    /// The head moved: the first writer won (the body's `head` says where to merge onto).
    Conflict = "conflict",
    /// A file where a folder was meant, or the other way round.
    WrongKind = "wrong_kind",
    /// A commit names blocks the drive lacks (the body's `missing` lists them).
    MissingBlocks = "missing_blocks",
    /// Something was put at the path after the caller's cursor.
    Changed = "changed",
    /// More than a limit allows (entries, sizes).
    TooLarge = "too_large",
    /// A request body over its limit.
    BodyTooLarge = "body_too_large",
    /// A tus `PATCH` at an offset other than the upload's.
    OffsetMismatch = "offset_mismatch",
    /// A tus `PATCH` whose bytes do not match its `Upload-Checksum`.
    ChecksumMismatch = "checksum_mismatch",
    /// A tus version this server does not speak.
    UnsupportedVersion = "unsupported_version",
    /// A tus `PATCH` whose body is not `application/offset+octet-stream`.
    UnsupportedMediaType = "unsupported_media_type",
    /// The cluster cannot serve this now (no leader, too few nodes): try again.
    Unavailable = "unavailable",
    /// Too many attempts (wrong passwords, say) from this client or at this target: wait the
    /// `Retry-After` seconds the answer gives, then try again.
    RateLimited = "rate_limited",
    /// Taking an administrator's rights or disabling them would leave no enabled
    /// administrator: make another one first.
    LastAdmin = "last_admin",
    /// The user is disabled: an administrator must enable them again.
    UserDisabled = "user_disabled",
    /// The node's disk is short of room for more data: delete files or empty the trash (those
    /// still work), or give the cluster more disk.
    StorageFull = "storage_full",
    /// A fault of the node's own.
    Internal = "internal",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from_wire(&code))
    }
}

/// `{code, message, missing?, head?}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Machine-readable: `not_found`, `conflict`, `missing_blocks`, `unavailable`, …
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// For `missing_blocks`: the ids (hex) of the blocks to send before committing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
    /// For `conflict` on a commit: the file's head version now, `null` if there is no file —
    /// the base to merge onto and commit again.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub head: Option<Option<u64>>,
}

/// Tells a `null` field (`Some(None)`) from an absent one (`None`, by `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_head_is_a_number_null_or_absent() {
        let parse = |json: &str| serde_json::from_str::<ErrorBody>(json).unwrap().head;
        assert_eq!(parse(r#"{"code":"conflict","message":"m","head":7}"#), Some(Some(7)));
        assert_eq!(parse(r#"{"code":"conflict","message":"m","head":null}"#), Some(None));
        assert_eq!(parse(r#"{"code":"not_found","message":"m"}"#), None);
        let body =
            ErrorBody { code: ErrorCode::Conflict, message: "m".into(), missing: None, head: Some(None) };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"code":"conflict","message":"m","head":null}"#);
    }

    #[test]
    fn codes_travel_as_their_names_and_unknown_ones_are_other() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
        assert_eq!(ErrorCode::from_wire("not_found"), ErrorCode::NotFound);
        assert_eq!(serde_json::from_str::<ErrorCode>("\"made_up\"").unwrap(), ErrorCode::Other);
        let names: std::collections::BTreeSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "two codes share a name");
    }
}
