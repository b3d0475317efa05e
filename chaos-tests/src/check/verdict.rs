//! What a checker concludes: valid, invalid (with the first violation) or unknown.

use serde::{Deserialize, Serialize};

/// Whether a history kept a promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// The promise was kept.
    Valid,
    /// The checker could not tell (it ran out of time, or lacked the evidence).
    Unknown,
    /// The promise was broken: see the verdict's `first_violation`.
    Invalid,
}

impl Validity {
    /// The worse of two validities: invalid beats unknown, which beats valid. Folding a
    /// checker's parts with this never claims more than every part proved.
    pub fn worst(self, other: Validity) -> Validity {
        self.max(other)
    }
}

/// Where in the history a promise was broken, and how, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The first history index of the violating window (an event's `index`). Checkers that
    /// do not read the history (the log scanner) put 0 here.
    pub from_index: usize,
    /// The last history index of the violating window (inclusive).
    pub to_index: usize,
    /// What went wrong.
    pub description: String,
}

impl Violation {
    /// A violation spanning the history indices `from..=to` (given in either order).
    pub fn new(from: usize, to: usize, description: impl Into<String>) -> Self {
        Self { from_index: from.min(to), to_index: from.max(to), description: description.into() }
    }
}

/// One checker's conclusion about one history: what goes into `results.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The checker's name (`linearizable`, `journal`, `lost_writes`, `panics`).
    pub checker: String,
    /// Whether the promise was kept.
    pub validity: Validity,
    /// How many operations (or, for the log scanner, log files) it checked.
    pub operations: usize,
    /// A summary for people: what was checked and what was found.
    pub detail: String,
    /// The first violation found, when `validity` is [`Validity::Invalid`].
    pub first_violation: Option<Violation>,
}

impl Verdict {
    /// The promise was kept over `operations` operations.
    pub fn valid(checker: &str, operations: usize, detail: impl Into<String>) -> Self {
        Self {
            checker: checker.to_owned(),
            validity: Validity::Valid,
            operations,
            detail: detail.into(),
            first_violation: None,
        }
    }

    /// The checker could not tell.
    pub fn unknown(checker: &str, operations: usize, detail: impl Into<String>) -> Self {
        Self {
            checker: checker.to_owned(),
            validity: Validity::Unknown,
            operations,
            detail: detail.into(),
            first_violation: None,
        }
    }

    /// The promise was broken, first as `violation` says.
    pub fn invalid(
        checker: &str,
        operations: usize,
        detail: impl Into<String>,
        violation: Violation,
    ) -> Self {
        Self {
            checker: checker.to_owned(),
            validity: Validity::Invalid,
            operations,
            detail: detail.into(),
            first_violation: Some(violation),
        }
    }

    /// Whether the verdict is [`Validity::Valid`].
    pub fn is_valid(&self) -> bool {
        self.validity == Validity::Valid
    }

    /// Whether the verdict is [`Validity::Invalid`].
    pub fn is_invalid(&self) -> bool {
        self.validity == Validity::Invalid
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn worst_prefers_invalid_then_unknown() {
        assert_eq!(Validity::Valid.worst(Validity::Unknown), Validity::Unknown);
        assert_eq!(Validity::Invalid.worst(Validity::Unknown), Validity::Invalid);
        assert_eq!(Validity::Valid.worst(Validity::Valid), Validity::Valid);
    }

    #[test]
    fn verdict_round_trips_through_json() {
        let verdict = Verdict::invalid("journal", 3, "gap", Violation::new(9, 4, "seq 2 missing"));
        let json = serde_json::to_string(&verdict).unwrap();
        assert!(json.contains("\"validity\":\"invalid\""), "{json}");
        let back: Verdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back, verdict);
        assert_eq!(back.first_violation.unwrap().from_index, 4);
    }
}
