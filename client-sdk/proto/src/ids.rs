//! Small identifiers shared by clients and nodes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An account: the unit of dedup and of encryption keys. Two accounts that store the same
/// content store it twice, under different keys, so one account learns nothing about another's
/// files from dedup.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account-{}", self.0)
    }
}
