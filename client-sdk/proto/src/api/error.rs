//! The body of every failed API call. `code` is stable — clients branch on it, never on the
//! message.

use serde::{Deserialize, Serialize};

/// `{code, message, missing?}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Machine-readable: `not_found`, `conflict`, `missing_blocks`, `unavailable`, …
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// For `missing_blocks`: the ids (hex) of the blocks to send before committing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}
