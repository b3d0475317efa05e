//! argon2id hashing and checking on a small bounded pool.
//!
//! argon2 is slow and memory-hungry on purpose (≈19 MiB per run with the crate's defaults), so
//! every run, hash or check, holds one of [`WORKERS`] permits, and at most [`QUEUE`] more
//! requests wait for one; past that a request is refused at once ([`Busy`]) rather than queued
//! without end. The pool lives once per node process: a static, so the bound holds for the
//! whole node whichever request brings a password.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

/// argon2 runs at once on this node. Two keep a node's cores (and ≈40 MiB) for its real work.
pub const WORKERS: usize = 2;

/// Requests that may wait for a worker; more are refused with [`Busy`].
pub const QUEUE: usize = 16;

/// Why a password was not hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full: try again in a moment.
    #[error("this node is busy checking passwords: try again in a moment")]
    Busy,
    /// The stored hash is not a PHC string this node can read.
    #[error("a stored password hash is in a form this node does not know")]
    BadHash,
    /// argon2 itself failed, or its task did.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl From<PoolError> for crate::error::ApiError {
    fn from(e: PoolError) -> Self {
        use axum::http::StatusCode;
        use cairn_proto::api::ErrorCode;
        match e {
            PoolError::Busy => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, e.to_string())
                    .retry_after(1)
            }
            other => Self::internal(other.to_string()),
        }
    }
}

struct Pool {
    /// Held by every argon2 run.
    workers: Semaphore,
    /// Held by every request running or waiting: the bound on the queue.
    admitted: Semaphore,
    /// argon2 checks run, for `/metrics` and tests.
    checks: AtomicU64,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    workers: Semaphore::new(WORKERS),
    admitted: Semaphore::new(WORKERS + QUEUE),
    checks: AtomicU64::new(0),
});

/// How many passwords this node has checked with argon2 since it started.
pub fn checks() -> u64 {
    POOL.checks.load(Ordering::Relaxed)
}

/// Runs `work` on the pool.
async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolError> {
    let Ok(_admitted) = POOL.admitted.try_acquire() else { return Err(PoolError::Busy) };
    let _worker = POOL.workers.acquire().await.map_err(|_| PoolError::Failed("the pool is closed".into()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| PoolError::Failed(e.to_string()))
}

/// A fresh salted argon2id hash of `password`, as a PHC string.
pub async fn hash(password: String) -> Result<String, PoolError> {
    on_pool(move || hash_now(&password)).await?
}

/// Whether `password` matches the PHC string `phc` (compared in constant time).
pub async fn verify(phc: String, password: String) -> Result<bool, PoolError> {
    on_pool(move || {
        POOL.checks.fetch_add(1, Ordering::Relaxed);
        verify_now(&phc, &password)
    })
    .await?
}

/// Spends the time of one check without a hash to check against: what signing in as an
/// unknown user costs, so the answer's timing does not tell which names exist.
pub async fn verify_nothing(password: String) -> Result<(), PoolError> {
    static DECOY: LazyLock<String> =
        LazyLock::new(|| hash_now("a decoy nobody signs in with").unwrap_or_default());
    verify(DECOY.clone(), password).await.map(|_| ())
}

fn hash_now(password: &str) -> Result<String, PoolError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PoolError::Failed(e.to_string()))
}

fn verify_now(phc: &str, password: &str) -> Result<bool, PoolError> {
    let parsed = PasswordHash::new(phc).map_err(|_| PoolError::BadHash)?;
    Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let phc = hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify(phc.clone(), "correct horse".into()).await.unwrap());
        assert!(!verify(phc.clone(), "correct horsE".into()).await.unwrap());
        assert_ne!(hash("correct horse".into()).await.unwrap(), phc, "salts differ");
        assert!(matches!(verify("not a phc string".into(), "x".into()).await, Err(PoolError::BadHash)));
        // The count is the node's, shared with tests running beside this one: it can only grow.
        let before = checks();
        verify_nothing("guess".into()).await.unwrap();
        assert!(checks() > before, "a decoy check runs argon2 like a real one");
    }
}
