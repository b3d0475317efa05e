//! Link passwords: argon2id PHC strings, checked on a small bounded pool, with the attempts
//! each link and each client address get.
//!
//! argon2 is slow and memory-hungry on purpose (≈19 MiB per run with the crate's defaults), so
//! every run, hash or check, holds one of [`WORKERS`] permits, and at most [`QUEUE`] more
//! requests wait for one; past that a request is answered 503 at once rather than queued
//! without end. Before a check runs, the link and the client's address each give up one
//! attempt ([`super::attempts`]); a guesser out of attempts gets 429 with no argon2 run. A right
//! password is remembered (as a keyed digest, never as itself) for a while, so a person browsing
//! a protected folder does not spend an attempt and an argon2 run per file.
//!
//! These live once per node process, as the pool itself does: a static, so the limits hold for
//! the whole node whichever request carries the guess.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::StatusCode;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::ids::LinkId;
use tokio::sync::Semaphore;

use super::attempts::Attempts;
use super::refused::Refused;
use crate::error::ApiError;

/// argon2 runs at once on this node. Two keep a node's cores (and ≈40 MiB) for its real work.
pub const WORKERS: usize = 2;

/// Requests that may wait for a worker; more get 503.
pub const QUEUE: usize = 16;

/// How long a right password is remembered.
const REMEMBER: Duration = Duration::from_secs(600);

/// The most right passwords remembered; past it the memory is cleared (it only saves work).
const REMEMBER_MAX: usize = 4_096;

struct Guard {
    /// Held by every argon2 run.
    workers: Semaphore,
    /// Held by every request running or waiting: the bound on the queue.
    admitted: Semaphore,
    attempts: Mutex<Attempts>,
    /// Keyed digests of (PHC string, right password) → when it was checked.
    known_good: Mutex<HashMap<[u8; 32], Instant>>,
    /// A random key for those digests, drawn per process.
    digest_key: [u8; 32],
    /// When the process started: the attempts' clock, which must not step back.
    epoch: Instant,
    /// argon2 checks run, for `/metrics` and tests.
    checks: AtomicU64,
}

static GUARD: LazyLock<Guard> = LazyLock::new(|| Guard {
    workers: Semaphore::new(WORKERS),
    admitted: Semaphore::new(WORKERS + QUEUE),
    attempts: Mutex::new(Attempts::default()),
    known_good: Mutex::new(HashMap::new()),
    digest_key: rand::random(),
    epoch: Instant::now(),
    checks: AtomicU64::new(0),
});

/// How many link passwords this node has checked with argon2 since it started.
pub fn checks() -> u64 {
    GUARD.checks.load(Ordering::Relaxed)
}

/// Runs `work` (an argon2 hash or check) on the bounded pool.
async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Refused> {
    let Ok(_admitted) = GUARD.admitted.try_acquire() else {
        let busy = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "this node is busy checking link passwords: try again in a moment",
        );
        return Err(Refused { error: busy, retry_after: Some(1) });
    };
    let _worker =
        GUARD.workers.acquire().await.map_err(|_| ApiError::internal("the password pool is closed"))?;
    let done = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("password task failed: {e}")))?;
    Ok(done)
}

/// A fresh salted hash of `password`, made on the pool.
pub async fn hash(password: String) -> Result<String, Refused> {
    Ok(on_pool(move || hash_now(&password)).await??)
}

/// Whether `password` opens a link whose hash is `phc`, for a request from `from`: remembered,
/// or checked on the pool once the link and the address have an attempt left.
pub async fn check(link: LinkId, phc: &str, password: &str, from: Option<IpAddr>) -> Result<bool, Refused> {
    let digest = digest(phc, password);
    let now = Instant::now();
    {
        let known = GUARD.known_good.lock().map_err(|_| ApiError::internal("password memory poisoned"))?;
        if known.get(&digest).is_some_and(|at| now.duration_since(*at) < REMEMBER) {
            return Ok(true);
        }
    }
    let now_ms = u64::try_from(now.duration_since(GUARD.epoch).as_millis()).unwrap_or(u64::MAX);
    let taken = GUARD
        .attempts
        .lock()
        .map_err(|_| ApiError::internal("password attempts poisoned"))?
        .take(link, from, now_ms);
    if let Err(seconds) = taken {
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("too many password attempts at link {link}: try again in {seconds} s"),
        );
        return Err(Refused { error, retry_after: Some(seconds) });
    }
    let (phc, given) = (phc.to_owned(), password.to_owned());
    let right = on_pool(move || {
        GUARD.checks.fetch_add(1, Ordering::Relaxed);
        verify_now(&phc, &given)
    })
    .await??;
    if right {
        let mut known =
            GUARD.known_good.lock().map_err(|_| ApiError::internal("password memory poisoned"))?;
        if known.len() >= REMEMBER_MAX {
            known.retain(|_, at| now.duration_since(*at) < REMEMBER);
            if known.len() >= REMEMBER_MAX {
                known.clear();
            }
        }
        known.insert(digest, now);
    }
    Ok(right)
}

fn digest(phc: &str, password: &str) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_keyed(&GUARD.digest_key);
    // The PHC string holds no NUL, so the pair is read back one way only.
    hasher.update(phc.as_bytes()).update(&[0]).update(password.as_bytes());
    *hasher.finalize().as_bytes()
}

/// A fresh salted hash of `password`. Slow on purpose: only on the pool.
fn hash_now(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("hash a link password: {e}")))
}

/// Whether `password` matches the PHC string `phc` (in constant time).
fn verify_now(phc: &str, password: &str) -> Result<bool, ApiError> {
    let parsed = PasswordHash::new(phc)
        .map_err(|_| ApiError::internal("a link's password hash is in a form this node does not know"))?;
    Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let phc = hash_now("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_now(&phc, "correct horse").unwrap());
        assert!(!verify_now(&phc, "correct horsE").unwrap());
        assert_ne!(hash_now("correct horse").unwrap(), phc, "salts differ");
        assert!(verify_now("not a phc string", "x").is_err());
    }

    #[tokio::test]
    async fn wrong_guesses_run_out_and_a_right_password_is_remembered() {
        let phc = hash(String::from("s3cret")).await.map_err(|r| r.error).unwrap();
        let link = LinkId(0x5eed);
        let from = Some(IpAddr::from([198, 51, 100, 7]));
        assert!(check(link, &phc, "s3cret", from).await.map_err(|r| r.error).unwrap());
        let before = checks();
        // Remembered: no attempt, no argon2.
        for _ in 0..20 {
            assert!(check(link, &phc, "s3cret", from).await.map_err(|r| r.error).unwrap());
        }
        assert_eq!(checks(), before);
        // The link had five attempts and the first check took one: four wrong guesses run, the
        // rest are refused without argon2.
        let mut refused = 0;
        for _ in 0..20 {
            match check(link, &phc, "guess", from).await {
                Ok(right) => assert!(!right),
                Err(r) => {
                    assert_eq!(
                        (r.error.status, r.error.code),
                        (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
                    );
                    assert!(r.retry_after.is_some_and(|s| s >= 1));
                    refused += 1;
                }
            }
        }
        assert_eq!((refused, checks() - before), (16, 4));
    }
}
