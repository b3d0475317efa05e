//! Safe retries: a client that sends `Idempotency-Key: <key>` with a write gets, on a retry of
//! the same request, the first attempt's answers instead of a second write.
//!
//! The Raft model remembers every request id's response for a day and answers a repeated id
//! with it (`cairn_raft::model::apply`). Without the header a write's ids are random, as
//! before. With it, the middleware [`scope`] runs the handler inside a task-local [`Retry`],
//! and [`request_id`] — which `ApiState::propose` calls for each command — derives the id
//! from the caller, the key, the request line and the ordinal of the command within the
//! request: a retry proposes the same ids in the same order and gets the same answers.
//!
//! The caller is the raw bearer token, not the user id: the middleware runs before the token
//! is looked up (that lookup is the handler's extractor), and a token belongs to exactly one
//! user, so two users' keys never collide either way. (A retry comes from the same client with
//! the same token; a client that switched tokens between attempts loses the dedup, not safety.)
//! The method, path and query are in it too, so a key reused by mistake for another call does
//! not replay an unrelated answer. A key reused for the same call with a different body does
//! replay the first answer: the key names one operation, as with other APIs that take one.
//!
//! Ordinals are drawn in call order, so a handler proposes one command at a time; commands
//! proposed concurrently (the trash purge's) go through the block service with random ids.
//!
//! Calls that make a secret ignore the key ([`NOT_REPLAYABLE`]): their handlers make a secret
//! (a link id, a token, a session) before proposing it, and a replay would pair the first
//! command's success with a new secret that was never stored. A retry of them makes a second
//! link or token, which is wasteful but true. (Fixing that means making the secret part of the
//! model's answer, or deriving it from a cluster secret and the key, in those handlers.)

use std::cell::Cell;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_raft::model::RequestId;

use super::error::ApiError;

/// The header, as the SDK sends it (one constant for both sides).
pub const HEADER: &str = cairn_proto::api::IDEMPOTENCY_KEY;

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 128;

/// The blake3 context of request ids: a fixed, unique string, per blake3's `derive_key`.
const CONTEXT: &str = "cairn-node 2025 API idempotency key to Raft request id v1";

/// Routes (as axum matched them) that ignore the key: see the module's documentation.
pub const NOT_REPLAYABLE: [&str; 4] = ["/v1/links", "/v1/users/{name}/tokens", "/v1/tokens", "/v1/sessions"];

tokio::task_local! {
    static RETRY: Retry;
}

/// One keyed request's id source: everything but the ordinal already hashed.
struct Retry {
    seed: blake3::Hasher,
    next: Cell<u64>,
}

/// Axum middleware: validates `Idempotency-Key` and, when present, runs the rest of the
/// request where [`request_id`] derives ids from it.
pub async fn scope(request: Request, next: Next) -> Response {
    let key = match key_of(request.headers()) {
        Ok(Some(key)) => key.to_owned(),
        Ok(None) => return next.run(request).await,
        Err(refusal) => return refusal.into_response(),
    };
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    if route.is_some_and(|route| NOT_REPLAYABLE.contains(&route)) {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let line = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let seed = seed(&token, &key, request.method().as_str(), line);
    RETRY.scope(Retry { seed, next: Cell::new(0) }, next.run(request)).await
}

/// The id of the next command this request proposes: derived from its idempotency key, or
/// random when it has none.
pub fn request_id() -> RequestId {
    RETRY
        .try_with(|retry| {
            let ordinal = retry.next.get();
            retry.next.set(ordinal + 1);
            derive(&retry.seed, ordinal)
        })
        .unwrap_or_else(|_| RequestId(rand::random()))
}

/// The request's key: none, or one header of 1 to 128 visible ASCII characters.
fn key_of(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ApiError::bad_request("send one Idempotency-Key header, not several"));
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters (no spaces), \
             e.g. a UUID; got {} bytes",
            bytes.len()
        )));
    }
    // Visible ASCII is UTF-8.
    Ok(value.to_str().ok())
}

/// Hashes everything of a keyed request that stays the same across its retries, each part
/// length-prefixed so no two different requests hash alike.
fn seed(token: &[u8], key: &str, method: &str, line: &str) -> blake3::Hasher {
    let mut seed = blake3::Hasher::new_derive_key(CONTEXT);
    for part in [token, key.as_bytes(), method.as_bytes(), line.as_bytes()] {
        seed.update(&(part.len() as u64).to_le_bytes());
        seed.update(part);
    }
    seed
}

/// The request id of the `ordinal`-th command: the first 16 bytes of the hash.
fn derive(seed: &blake3::Hasher, ordinal: u64) -> RequestId {
    let mut hasher = seed.clone();
    hasher.update(&ordinal.to_le_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    RequestId(u128::from_le_bytes(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use cairn_proto::api::ErrorCode;

    #[test]
    fn ids_repeat_for_a_retry_and_differ_for_anything_else() {
        let id = |token: &str, key: &str, method: &str, line: &str, n| {
            derive(&seed(token.as_bytes(), key, method, line), n)
        };
        let first = id("Bearer a", "k1", "PUT", "/v1/content/f", 0);
        assert_eq!(first, id("Bearer a", "k1", "PUT", "/v1/content/f", 0));
        for other in [
            id("Bearer a", "k1", "PUT", "/v1/content/f", 1),
            id("Bearer b", "k1", "PUT", "/v1/content/f", 0),
            id("Bearer a", "k2", "PUT", "/v1/content/f", 0),
            id("Bearer a", "k1", "POST", "/v1/content/f", 0),
            id("Bearer a", "k1", "PUT", "/v1/content/g", 0),
            // The length prefixes keep a shifted boundary from hashing alike.
            id("Bearer ak", "1", "PUT", "/v1/content/f", 0),
        ] {
            assert_ne!(first, other);
        }
    }

    #[tokio::test]
    async fn ids_come_from_the_key_inside_the_scope_and_are_random_outside() {
        let retry = || Retry { seed: seed(b"t", "k", "POST", "/v1/x"), next: Cell::new(0) };
        let run = || RETRY.scope(retry(), async { (request_id(), request_id()) });
        let (a, b) = run().await;
        assert_ne!(a, b, "each command of a request has its own id");
        assert_eq!(run().await, (a, b), "a retry proposes the same ids");
        assert_ne!(request_id(), request_id());
    }

    #[test]
    fn keys_are_one_header_of_visible_ascii() {
        let headers = |values: &[&[u8]]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(HEADER, HeaderValue::from_bytes(v).unwrap());
            }
            h
        };
        assert_eq!(key_of(&headers(&[])).unwrap(), None);
        assert_eq!(key_of(&headers(&[b"a-1_B.~"])).unwrap(), Some("a-1_B.~"));
        let longest = "k".repeat(MAX_KEY_LEN);
        assert_eq!(key_of(&headers(&[longest.as_bytes()])).unwrap(), Some(longest.as_str()));
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in [&[b"" as &[u8]][..], &[b"a b"], &[too_long.as_bytes()], &[b"caf\xc3\xa9"], &[b"a", b"b"]]
        {
            let error = key_of(&headers(bad)).unwrap_err();
            assert_eq!(error.code, ErrorCode::BadRequest);
            assert!(error.message.contains("Idempotency-Key"), "{}", error.message);
        }
    }
}
