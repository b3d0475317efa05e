//! What a password must be, and how often one may be tried at signing in: each user name and
//! each client address get a few attempts, then one every few seconds; past that the answer is
//! 429 with `Retry-After` and no argon2 runs. The limits live once per node process.

use std::net::IpAddr;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use axum::http::StatusCode;
use cairn_proto::api::ErrorCode;

use super::rate::{self, Rate, Table};
use crate::error::ApiError;

/// The longest password the API takes, in bytes: argon2 reads all of it, so a megabyte of
/// "password" must not reach it.
pub const MAX_PASSWORD: usize = 1_024;

/// The shortest password a user may set.
pub const MIN_PASSWORD: usize = 8;

/// Attempts at one user name: five, then one every twelve seconds.
pub const PER_USER: Rate = Rate { burst: 5, every_ms: 12_000 };

/// Attempts from one client address, at any names: ten, then one every six seconds.
pub const PER_ADDRESS: Rate = Rate { burst: 10, every_ms: 6_000 };

struct Limits {
    users: Table<String>,
    addresses: Table<IpAddr>,
    epoch: Instant,
}

static LIMITS: LazyLock<Mutex<Limits>> = LazyLock::new(|| {
    Mutex::new(Limits {
        users: Table::new(PER_USER),
        addresses: Table::new(PER_ADDRESS),
        epoch: Instant::now(),
    })
});

/// Takes one sign-in attempt at `name` from `from`, or refuses with 429.
pub fn take_attempt(name: &str, from: Option<IpAddr>) -> Result<(), ApiError> {
    let mut limits = LIMITS.lock().map_err(|_| ApiError::internal("sign-in limits poisoned"))?;
    let Limits { users, addresses, epoch } = &mut *limits;
    let now_ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    rate::take_both(users, name.to_owned(), addresses, from.map(rate::network), now_ms).map_err(|seconds| {
        ApiError::rate_limited(seconds, format!("too many sign-in attempts: try again in {seconds} s"))
    })
}

/// Refuses a new password that is too short or too long to be one.
pub fn check_length(password: &str) -> Result<(), ApiError> {
    if password.len() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::Invalid,
            format!("a password is {MIN_PASSWORD} to {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}
