//! The body of every failed API call. `code` is stable — clients branch on it, never on the
//! message.

use serde::{Deserialize, Serialize};

/// `{code, message, missing?, head?}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Machine-readable: `not_found`, `conflict`, `missing_blocks`, `unavailable`, …
    pub code: String,
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
            ErrorBody { code: "conflict".into(), message: "m".into(), missing: None, head: Some(None) };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"code":"conflict","message":"m","head":null}"#);
    }
}
