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
    ///
    /// The two are merged in key order and the merge stops at `limit` pairs, so a scan costs
    /// what it returns, not what the transaction wrote: `apply` scans the expiries on every
    /// request of an entry, and an entry of thousands of requests writes thousands of them.
    pub fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, StateError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Where the range begins: the prefix, or `after` when that is further on.
        let start = (space, after.filter(|a| *a > prefix).unwrap_or(prefix).to_vec());
        let mut pending = self
            .writes
            .range(start..)
            .take_while(|((s, k), _)| *s == space && k.starts_with(prefix))
            .filter(|((_, k), _)| after.is_none_or(|a| k.as_slice() > a))
            .map(|((_, k), v)| (k, v))
            .peekable();
        let mut out: Pairs = Vec::new();
        let mut base_after: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        // Committed pairs a page at a time: a pending delete hides one, so a page may not fill.
        let page = limit.saturating_add(16);
        loop {
            let base = self.base.scan(space, prefix, base_after.as_deref(), page)?;
            let exhausted = base.len() < page;
            for (key, value) in base {
                while let Some((pending_key, pending_value)) =
                    pending.next_if(|(k, _)| k.as_slice() < key.as_slice())
                {
                    if let Some(v) = pending_value {
                        out.push((pending_key.clone(), v.clone()));
                    }
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
                match pending.next_if(|(k, _)| k.as_slice() == key.as_slice()) {
                    // Overwritten or deleted by this transaction.
                    Some((_, Some(v))) => out.push((key.clone(), v.clone())),
                    Some((_, None)) => {}
                    None => out.push((key.clone(), value)),
                }
                if out.len() >= limit {
                    return Ok(out);
                }
                base_after = Some(key);
            }
            if exhausted {
                break;
            }
        }
        for (key, value) in pending {
            if out.len() >= limit {
                break;
            }
            if let Some(v) = value {
                out.push((key.clone(), v.clone()));
            }
        }
        Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of a transaction is the scan of the state its writes would make, for every
    /// prefix, start and limit, over a mix of puts, overwrites and deletes.
    #[test]
    fn a_scan_sees_committed_pairs_through_the_writes() {
        let key = |i: u32| vec![(i % 3) as u8, (i / 3) as u8];
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for _ in 0..200 {
            let mut base: BTreeMap<(Space, Vec<u8>), Vec<u8>> = BTreeMap::new();
            for _ in 0..next() % 40 {
                base.insert((Space::Expiries, key(next() % 60)), vec![1]);
            }
            base.insert((Space::Journal, vec![0, 0]), vec![9]);
            let mut txn = Txn::new(&base);
            let mut after_writes = base.clone();
            for _ in 0..next() % 40 {
                let k = key(next() % 60);
                if next() % 3 == 0 {
                    txn.delete(Space::Expiries, &k);
                    after_writes.remove(&(Space::Expiries, k));
                } else {
                    txn.put_raw(Space::Expiries, &k, vec![2]);
                    after_writes.insert((Space::Expiries, k), vec![2]);
                }
            }
            for prefix in [vec![], vec![1u8]] {
                for after in [None, Some(key(next() % 60))] {
                    for limit in [0, 1, 3, 100] {
                        let want =
                            after_writes.scan(Space::Expiries, &prefix, after.as_deref(), limit).unwrap();
                        let got = txn.scan(Space::Expiries, &prefix, after.as_deref(), limit).unwrap();
                        assert_eq!(got, want, "prefix {prefix:?} after {after:?} limit {limit}");
                    }
                }
            }
        }
    }
}
