//! How many watches of the change journal (long polls and event streams, see [`crate::changes`])
//! may be open at once, per user and on the node. A watch holds a connection or an HTTP/2
//! stream and a task for up to a minute (a poll) or without end (a stream), so a user, or all
//! of them, holding more is refused with 429 `rate_limited` and a `Retry-After`, before any
//! wait begins. Pages that do not wait are not counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_raft::model::UserId;
use parking_lot::Mutex;

use crate::error::ApiError;

/// The default cap per user: a person's devices and browser tabs each keep one open, with room
/// to spare.
pub const DEFAULT_PER_USER: usize = 16;

/// The default cap per node: half the default connection cap, so waiting never takes all the
/// room requests need.
pub const DEFAULT_PER_NODE: usize = 2048;

/// `Retry-After` of a refused watch, in seconds: a poll ends within a minute, and a client
/// retrying every few seconds costs little while it waits for one.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Watches open, and refused since the node started, for `/metrics` (process-wide, like the
/// node's one API).
static OPEN: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// The caps, and the watches open now.
#[derive(Debug)]
pub struct WatchLimits {
    per_user: usize,
    per_node: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_user: HashMap<UserId, usize>,
}

/// One open watch; dropping it (the poll answered, the stream closed) frees its place.
#[derive(Debug)]
pub struct WatchPermit {
    limits: Arc<WatchLimits>,
    user: UserId,
}

impl WatchLimits {
    /// At most `per_user` watches of one user and `per_node` in all.
    pub fn new(per_user: usize, per_node: usize) -> Arc<Self> {
        Arc::new(Self { per_user, per_node, open: Mutex::new(Open::default()) })
    }

    /// Opens a watch for `user`, or refuses it with 429.
    pub fn admit(self: &Arc<Self>, user: UserId) -> Result<WatchPermit, ApiError> {
        let mut open = self.open.lock();
        let refusal = if open.total >= self.per_node {
            Some(format!(
                "this node holds its {} long polls and event streams: try again shortly",
                self.per_node
            ))
        } else if open.by_user.get(&user).is_some_and(|n| *n >= self.per_user) {
            Some(format!(
                "you hold {} long polls and event streams, the most one user may: close one, or try again shortly",
                self.per_user
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::rate_limited(RETRY_AFTER_SECS, message));
        }
        open.total += 1;
        *open.by_user.entry(user).or_insert(0) += 1;
        OPEN.fetch_add(1, Ordering::Relaxed);
        Ok(WatchPermit { limits: self.clone(), user })
    }

    /// Watches open now.
    pub fn open(&self) -> usize {
        self.open.lock().total
    }
}

impl Drop for WatchPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock();
        open.total -= 1;
        OPEN.fetch_sub(1, Ordering::Relaxed);
        if let Some(count) = open.by_user.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.by_user.remove(&self.user);
            }
        }
    }
}

/// `(name, help, value)` of the watch counters, in Prometheus' naming.
pub fn prometheus() -> Vec<(&'static str, &'static str, u64)> {
    vec![
        ("cairn_api_watches_open", "Long polls and event streams open.", OPEN.load(Ordering::Relaxed)),
        (
            "cairn_api_watches_refused_total",
            "Long polls and event streams refused (429) by network.max_watches_per_user or network.max_watches.",
            REFUSED.load(Ordering::Relaxed),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use cairn_proto::api::ErrorCode;

    use super::*;

    #[test]
    fn a_user_over_the_cap_gets_429_with_retry_after_while_others_go_on() {
        let limits = WatchLimits::new(2, 3);
        let alice = [limits.admit(UserId(1)).unwrap(), limits.admit(UserId(1)).unwrap()];
        let refused = limits.admit(UserId(1)).unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited));
        let response = refused.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let bob = limits.admit(UserId(2)).unwrap();
        // The node's cap: three open in all.
        assert_eq!(limits.admit(UserId(3)).unwrap_err().code, ErrorCode::RateLimited);
        drop(alice);
        assert_eq!(limits.open(), 1);
        let _again = limits.admit(UserId(1)).unwrap();
        drop(bob);
        assert_eq!(limits.open.lock().by_user.len(), 1, "users without a watch are forgotten");
    }
}
