//! One linearizable read per API request.
//!
//! A request asks the metadata several things (its token, access to a path, the path, the
//! version) and each used to run its own read barrier: a round trip to the leader and a quorum
//! round each. Once a request has passed one barrier, this node's state already holds every
//! write acknowledged before the request began, and the state only moves forward, so later
//! reads of the same request are served from it as they are and stay linearizable (the read
//! point lies within the request). A write the request makes itself resets the fence: the
//! node may not have applied it yet, and the request must see its own write.
//!
//! The middleware [`scope`] runs every request inside a task-local fence. Work a handler spawns
//! onto other tasks has none, and each of its reads runs its own barrier, as before.

use std::cell::Cell;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    static PASSED: Cell<bool>;
}

/// Axum middleware: the rest of the request runs inside a fresh fence.
pub async fn scope(request: Request, next: Next) -> Response {
    PASSED.scope(Cell::new(false), next.run(request)).await
}

/// Whether the current request has passed a read barrier since its last write.
pub(crate) fn passed() -> bool {
    PASSED.try_with(Cell::get).unwrap_or(false)
}

/// The current request has passed a read barrier.
pub(crate) fn pass() {
    let _ = PASSED.try_with(|p| p.set(true));
}

/// The current request wrote: its next read needs a barrier again.
pub(crate) fn after_write() {
    let _ = PASSED.try_with(|p| p.set(false));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fence_is_passed_until_the_request_writes_and_never_outside_a_request() {
        assert!(!passed());
        pass();
        assert!(!passed(), "outside a request there is no fence to pass");
        PASSED
            .scope(Cell::new(false), async {
                assert!(!passed());
                pass();
                assert!(passed());
                after_write();
                assert!(!passed());
            })
            .await;
    }
}
