//! Link passwords: argon2id PHC strings, hashed and checked on the node's bounded pool
//! ([`crate::password::pool`]), with the attempts each link and each client address get.
//!
//! Before a check runs, the link and the client's address each give up one attempt
//! ([`super::attempts`]); a guesser out of attempts gets 429 with no argon2 run. A right
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

use cairn_raft::model::ids::LinkId;

use super::attempts::Attempts;
use crate::error::ApiError;
use crate::password::pool;

/// How long a right password is remembered.
const REMEMBER: Duration = Duration::from_secs(600);

/// The most right passwords remembered; past it the memory is cleared (it only saves work).
const REMEMBER_MAX: usize = 4_096;

struct Guard {
    attempts: Mutex<Attempts>,
    /// Keyed digests of (PHC string, right password) → when it was checked.
    known_good: Mutex<HashMap<[u8; 32], Instant>>,
    /// A random key for those digests, drawn per process.
    digest_key: [u8; 32],
    /// When the process started: the attempts' clock, which must not step back.
    epoch: Instant,
    /// Link passwords checked with argon2, for `/metrics` and tests.
    checks: AtomicU64,
}

static GUARD: LazyLock<Guard> = LazyLock::new(|| Guard {
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

/// A fresh salted hash of `password`, made on the pool.
pub async fn hash(password: String) -> Result<String, ApiError> {
    Ok(pool::hash(password).await?)
}

/// Whether `password` opens a link whose hash is `phc`, for a request from `from`: remembered,
/// or checked on the pool once the link and the address have an attempt left.
pub async fn check(link: LinkId, phc: &str, password: &str, from: Option<IpAddr>) -> Result<bool, ApiError> {
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
        let message = format!("too many password attempts at link {link}: try again in {seconds} s");
        return Err(ApiError::rate_limited(seconds, message));
    }
    GUARD.checks.fetch_add(1, Ordering::Relaxed);
    let right = match pool::verify(phc.to_owned(), password.to_owned()).await {
        Err(pool::PoolError::BadHash) => {
            return Err(ApiError::internal("a link's password hash is in a form this node does not know"));
        }
        other => other?,
    };
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

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use cairn_proto::api::ErrorCode;

    use super::*;

    #[tokio::test]
    async fn wrong_guesses_run_out_and_a_right_password_is_remembered() {
        let phc = hash(String::from("s3cret")).await.unwrap();
        let link = LinkId(0x5eed);
        let from = Some(IpAddr::from([198, 51, 100, 7]));
        assert!(check(link, &phc, "s3cret", from).await.unwrap());
        let before = checks();
        // Remembered: no attempt, no argon2.
        for _ in 0..20 {
            assert!(check(link, &phc, "s3cret", from).await.unwrap());
        }
        assert_eq!(checks(), before);
        // The link had five attempts and the first check took one: four wrong guesses run, the
        // rest are refused without argon2.
        let mut refused = 0;
        for _ in 0..20 {
            match check(link, &phc, "guess", from).await {
                Ok(right) => assert!(!right),
                Err(e) => {
                    assert_eq!((e.status, e.code), (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited));
                    assert!(e.retry_after.is_some_and(|s| s >= 1));
                    refused += 1;
                }
            }
        }
        assert_eq!((refused, checks() - before), (16, 4));
    }
}
