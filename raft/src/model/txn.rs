//! A read view of the state plus the writes one batch of requests makes to it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Space;

/// The state could not be read, or a stored value could not be decoded. Fatal for the apply:
/// the state machine stops rather than diverge from the other replicas.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The storage engine failed.
    #[error("read metadata state: {0}")]
    Storage(String),
    /// A stored value is not what this version of cairn wrote.
    #[error("decode metadata value in {space:?}: {message}")]
    Decode {
        /// Where the value was.
        space: Space,
        /// The decoder's complaint.
        message: String,
    },
}

/// Key-value pairs, in key order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to the committed state.
pub trait StateRead {
    /// The value under `key` in `space`, if any.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// Up to `limit` pairs whose keys start with `prefix`, in key order, after `after` if given.
    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, StateError>;
}

/// One write of a batch: a put, or a delete when the value is `None`.
pub type WriteOp = ((Space, Vec<u8>), Option<Vec<u8>>);

/// The state as a batch of requests sees it: committed state, overlaid with the batch's own
/// writes so far, so a later request in a batch reads what an earlier one wrote.
pub struct Txn<'a, R: ?Sized> {
    base: &'a R,
    writes: BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>,
}

impl<'a, R: StateRead + ?Sized> Txn<'a, R> {
    /// A transaction over `base` with no writes yet.
    pub fn new(base: &'a R) -> Self {
        Self { base, writes: BTreeMap::new() }
    }

    /// Raw read through the overlay.
    pub fn get_raw(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.get(&(space, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(space, key),
        }
    }

    /// Typed read through the overlay.
    pub fn get<T: DeserializeOwned>(&self, space: Space, key: &[u8]) -> Result<Option<T>, StateError> {
        self.get_raw(space, key)?.map(|bytes| decode(space, &bytes)).transpose()
    }

    /// Scan through the overlay: committed pairs merged with this transaction's writes.
    pub fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, StateError> {
        let in_range = |key: &[u8]| key.starts_with(prefix) && after.is_none_or(|a| key > a);
        let pending: Vec<_> = self
            .writes
            .range((space, prefix.to_vec())..)
            .take_while(|((s, k), _)| *s == space && k.starts_with(prefix))
            .filter(|((_, k), _)| in_range(k))
            .collect();
        // Each pending write can hide at most one committed pair, so this many is always enough.
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
            self.base.scan(space, prefix, after, limit.saturating_add(pending.len()))?.into_iter().collect();
        for ((_, key), value) in pending {
            match value {
                Some(v) => merged.insert(key.clone(), v.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged.into_iter().take(limit).collect())
    }

    /// Typed write.
    pub fn put<T: Serialize>(&mut self, space: Space, key: &[u8], value: &T) {
        self.put_raw(space, key, encode(value));
    }

    /// Raw write.
    pub fn put_raw(&mut self, space: Space, key: &[u8], value: Vec<u8>) {
        self.writes.insert((space, key.to_vec()), Some(value));
    }

    /// Removes a key.
    pub fn delete(&mut self, space: Space, key: &[u8]) {
        self.writes.insert((space, key.to_vec()), None);
    }

    /// Allocates the next number of the counter `name` (starting at 1).
    pub fn next_id(&mut self, name: &str) -> Result<u64, StateError> {
        let next = self.get::<u64>(Space::Counters, name.as_bytes())?.unwrap_or(1);
        self.put(Space::Counters, name.as_bytes(), &(next + 1));
        Ok(next)
    }

    /// The writes made, in key order, for the storage layer to commit.
    pub fn into_writes(self) -> impl Iterator<Item = WriteOp> {
        self.writes.into_iter()
    }
}

/// A transaction is itself a read view (committed state plus its own writes), so the read
/// functions of the model serve `apply` and queries alike instead of being written twice.
impl<R: StateRead + ?Sized> StateRead for Txn<'_, R> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.get_raw(space, key)
    }

    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, StateError> {
        Txn::scan(self, space, prefix, after, limit)
    }
}

/// Encodes a state value with postcard: compact, but not self-describing. A record written
/// before a field was added does not decode into the new struct (not even with
/// `#[serde(default)]`), so a stored type gains fields only with a format migration; new enum
/// variants at the end are safe.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // postcard fails only on types serde cannot describe (none of ours) or on a full buffer
    // (not with the Vec flavour).
    postcard::to_stdvec(value).unwrap_or_else(|e| unreachable!("encode metadata value: {e}"))
}

/// Decodes a state value.
pub fn decode<T: DeserializeOwned>(space: Space, bytes: &[u8]) -> Result<T, StateError> {
    postcard::from_bytes(bytes).map_err(|e| StateError::Decode { space, message: e.to_string() })
}

/// The simplest state: a map in memory. Tests of `apply` use it; so does nothing else.
impl StateRead for BTreeMap<(Space, Vec<u8>), Vec<u8>> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(BTreeMap::get(self, &(space, key.to_vec())).cloned())
    }

    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, StateError> {
        Ok(self
            .range((space, prefix.to_vec())..)
            .take_while(|((s, k), _)| *s == space && k.starts_with(prefix))
            .filter(|((_, k), _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}
