//! Public share links over HTTP: `POST /v1/links`, `DELETE /v1/links/{id}`, and the token-less
//! `GET /v1/links/{id}` (stat or list) and `GET /v1/links/{id}/content`.
//!
//! A link is read with its creator's rights, through the tree and content handlers themselves:
//! a link stops working when its creator loses access to the path, and its downloads get
//! `Range` and `ETag` without a second copy of the download code. A password is stored only as
//! an argon2id hash (a PHC string).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response as HttpResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use cairn_proto::DrivePath;
use cairn_proto::api::ErrorCode;
use cairn_proto::api::{DownloadOptions, LinkDownload, LinkListing, LinkTree, LinkView, NewLinkBody};
use cairn_raft::model::ids::LinkId;
use cairn_raft::model::links::{LinkRecord, NewLink};
use cairn_raft::model::users::TokenRecord;
use cairn_raft::model::{Answer, Command, Query, Response};

use super::auth::Caller;
use super::content;
use super::error::ApiError;
use super::extract::{Json as ApiJson, Params};
use super::paths::{self, InNamespace};
use super::shares::expect;
use super::tree;
use crate::state::ApiState;
use cairn_proto::api::Listing;

/// The routes of this module, relative to `/v1`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/links", post(create_link))
        .route("/links/{id}", get(link_tree).delete(revoke_link))
        .route("/links/{id}/content", get(link_content))
}

/// The longest link password, in bytes: long enough for any passphrase, short enough that
/// hashing it costs nothing extra.
const MAX_PASSWORD: usize = 1024;

/// `POST /v1/links`: publishes a folder or file read-only to anyone holding the link. 201.
pub async fn create_link(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewLinkBody>,
) -> Result<(StatusCode, Json<LinkView>), ApiError> {
    let path = paths::parse(&new.path)?;
    let place = paths::place(&state, &caller, &InNamespace { ns: new.ns }, path, true).await?;
    let password_hash = match new.password {
        None => None,
        Some(p) if p.is_empty() => {
            return Err(ApiError::bad_request("an empty password protects nothing: leave `password` out"));
        }
        Some(p) if p.len() > MAX_PASSWORD => {
            return Err(ApiError::bad_request(format!("a link password has at most {MAX_PASSWORD} bytes")));
        }
        // Deliberately slow hashing: off the async threads.
        Some(p) => Some(
            tokio::task::spawn_blocking(move || password::hash(&p))
                .await
                .map_err(|e| ApiError::internal(format!("password hashing task failed: {e}")))??,
        ),
    };
    // rand's thread generator is a CSPRNG seeded from the OS: 128 bits nobody can guess.
    let link = LinkId(rand::random::<u128>());
    let has_password = password_hash.is_some();
    let command = Command::CreateLink(NewLink {
        link,
        namespace: place.namespace,
        path: place.path.clone(),
        user: caller.user.id,
        expires_ms: new.expires_ms,
        password_hash,
    });
    expect(state.propose(command).await?, |r| matches!(r, Response::LinkCreated), "a new link")?;
    let view = LinkView {
        id: link.to_string(),
        url_path: format!("/v1/links/{link}"),
        content_path: format!("/v1/links/{link}/content"),
        ns: place.namespace.0,
        path: place.path.as_str().to_owned(),
        expires_ms: new.expires_ms,
        password: has_password,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /v1/links/{id}`: revokes a link; its creator may, and so may the namespace's owner.
/// 204.
pub async fn revoke_link(
    State(state): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let link = parse_link(&raw)?;
    let command = Command::RevokeLink { link, by: caller.user.id };
    expect(state.propose(command).await?, |r| matches!(r, Response::LinkRevoked), "a link revocation")?;
    Ok(StatusCode::NO_CONTENT)
}

/// The header that carries a link's password.
const PASSWORD_HEADER: &str = "x-link-password";

/// `GET /v1/links/{id}`, no token: stats the linked file, or lists the linked folder (or a
/// folder inside it, `?path=`).
pub async fn link_tree(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    Params(params): Params<LinkListing>,
    headers: HeaderMap,
) -> Result<Json<LinkTree>, ApiError> {
    let password = password_given(&headers, params.password.as_deref());
    let (link, caller) = open_link(&state, &raw, password).await?;
    let (target, inside) = inside_link(&link, params.path.as_deref())?;
    let listing = Listing { ns: Some(link.namespace.0), after: params.after, limit: params.limit };
    let Json(mut tree) = tree::tree_at(state, caller, target, listing)
        .await
        .map_err(|e| as_seen_through_link(e, &raw, &inside))?;
    // The holder sees the link's inside only, not where it sits in its owner's drive.
    tree.path = inside.as_str().to_owned();
    let name = link.path.split_last().map(|(_, name)| name.to_owned()).unwrap_or_default();
    Ok(Json(LinkTree { name, expires_ms: link.expires_ms, tree }))
}

/// `GET /v1/links/{id}/content`, no token: the linked file's content, or that of a file inside
/// the linked folder (`?path=`); `Range` and `If-None-Match` work as on `/v1/content`.
pub async fn link_content(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    Params(params): Params<LinkDownload>,
    headers: HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let password = password_given(&headers, params.password.as_deref());
    let (link, caller) = open_link(&state, &raw, password).await?;
    let (target, inside) = inside_link(&link, params.path.as_deref())?;
    let options = DownloadOptions { ns: Some(link.namespace.0), ..Default::default() };
    content::download_at(state, caller, target, options, headers)
        .await
        .map_err(|e| as_seen_through_link(e, &raw, &inside))
}

fn password_given<'a>(headers: &'a HeaderMap, param: Option<&'a str>) -> Option<&'a str> {
    // A header that is not text cannot match any password: it reads as the empty one, which no
    // link has (creating a link refuses it), so it counts as a wrong password.
    headers.get(PASSWORD_HEADER).map(|v| v.to_str().unwrap_or_default()).or(param)
}

fn parse_link(raw: &str) -> Result<LinkId, ApiError> {
    // `from_str_radix` alone would also take a leading `+`.
    (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u128::from_str_radix(raw, 16).ok())
        .flatten()
        .map(LinkId)
        .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a link id (32 hex digits)")))
}

/// Finds link `raw`, checks its expiry and password, and returns it with the caller it reads
/// as: its creator.
async fn open_link(
    state: &ApiState,
    raw: &str,
    password: Option<&str>,
) -> Result<(LinkRecord, Caller), ApiError> {
    let id = parse_link(raw)?;
    // Asked as of time 0, the model answers with an expired link too, so the API can tell "expired"
    // (410) from "no such link" (404). An expired link is pruned by the next write after its
    // expiry, and from then on it is simply gone.
    let link = match state.query(Query::Link { link: id, now_ms: 0 }).await? {
        Answer::Link(Some(link)) => link,
        Answer::Link(None) => {
            return Err(ApiError::not_found(format!("no link {id}: it may have been revoked")));
        }
        other => return Err(ApiError::internal(format!("unexpected answer to a link lookup: {other:?}"))),
    };
    if let Some(at) = link.expires_ms
        && state.clock.now_ms() >= at
    {
        return Err(ApiError::new(
            StatusCode::GONE,
            ErrorCode::Expired,
            format!("link {id} expired at {at} ms"),
        ));
    }
    if let Some(hash) = &link.password_hash {
        let Some(password) = password else {
            return Err(password_required(format!(
                "link {id} asks for a password: send it in an X-Link-Password header"
            )));
        };
        let (hash, password) = (hash.clone(), password.to_owned());
        let right = tokio::task::spawn_blocking(move || password::verify(&hash, &password))
            .await
            .map_err(|e| ApiError::internal(format!("password check task failed: {e}")))??;
        if !right {
            return Err(password_required(format!("wrong password for link {id}")));
        }
    }
    let user = match state.query(Query::User(link.created_by)).await? {
        Answer::User(Some(user)) => user,
        _ => return Err(ApiError::not_found(format!("no link {id}: its creator is gone"))),
    };
    // A link holder has no token; it reads as the link's creator, whose access `paths::place`
    // checks again on every request.
    let token = TokenRecord { user: user.id, label: format!("link {id}"), created_ms: link.created_ms };
    Ok((link, Caller { user, token }))
}

fn password_required(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::PasswordRequired, message)
}

/// The path `inside` the link (`None`: the link's target itself) in its owner's namespace, and
/// as the holder names it. Only `inside` comes in and is held to today's rules; the link's own
/// path is the drive's, kept as stored, so a link made before the rules tightened still works.
fn inside_link(link: &LinkRecord, inside: Option<&str>) -> Result<(DrivePath, DrivePath), ApiError> {
    let inside = paths::parse(inside.unwrap_or_default())?;
    let target = match (link.path.is_root(), inside.is_root()) {
        (_, true) => link.path.clone(),
        (true, false) => inside.clone(),
        (false, false) => DrivePath::from_stored(&format!("{}/{}", link.path.as_str(), inside.as_str()))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadPath, e.to_string()))?,
    };
    Ok((target, inside))
}

/// The tree and content handlers name paths in the owner's drive; through a link, the holder
/// sees only paths relative to the link.
fn as_seen_through_link(e: ApiError, link: &str, inside: &DrivePath) -> ApiError {
    let message = match e.code {
        ErrorCode::NotFound => format!("nothing at {inside} in this link"),
        ErrorCode::WrongKind => format!("{inside} is a folder: list it with GET /v1/links/{link}?path=…"),
        _ => return e,
    };
    ApiError { message, ..e }
}

/// Link passwords as argon2id PHC strings, with the `argon2` crate's default parameters.
mod password {
    use argon2::Argon2;
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

    use super::ApiError;

    /// A fresh salted hash of `password`. Slow on purpose: call it off the async threads.
    pub(super) fn hash(password: &str) -> Result<String, ApiError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(format!("hash a link password: {e}")))
    }

    /// Whether `password` matches the PHC string `phc` (in constant time).
    pub(super) fn verify(phc: &str, password: &str) -> Result<bool, ApiError> {
        let parsed = PasswordHash::new(phc)
            .map_err(|_| ApiError::internal("a link's password hash is in a form this node does not know"))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use cairn_raft::model::UserId;
    use cairn_raft::model::ids::NamespaceId;

    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let phc = password::hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(password::verify(&phc, "correct horse").unwrap());
        assert!(!password::verify(&phc, "correct horsE").unwrap());
        assert_ne!(password::hash("correct horse").unwrap(), phc, "salts differ");
        assert!(password::verify("not a phc string", "x").is_err());
    }

    #[test]
    fn link_ids_are_32_hex_digits() {
        let id = LinkId(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(parse_link(&id.to_string()), Ok(id));
        for bad in ["", "0123", "zz23456789abcdef0123456789abcdef", "+123456789abcdef0123456789abcdef"] {
            assert_eq!(parse_link(bad).map_err(|e| e.code), Err(ErrorCode::BadRequest), "{bad}");
        }
    }

    #[test]
    fn paths_inside_a_link_stay_inside_it() {
        let link = LinkRecord {
            id: LinkId(1),
            namespace: NamespaceId(7),
            path: DrivePath::parse("team/q3").unwrap(),
            created_by: UserId(1),
            created_ms: 0,
            expires_ms: None,
            password_hash: None,
        };
        let (target, inside) = inside_link(&link, Some("plans/a.txt")).unwrap();
        assert_eq!((target.as_str(), inside.as_str()), ("team/q3/plans/a.txt", "plans/a.txt"));
        assert_eq!(inside_link(&link, None).unwrap().0.as_str(), "team/q3");
        assert_eq!(
            inside_link(&link, Some("../secret")).map_err(|e| e.code).unwrap_err(),
            ErrorCode::BadPath
        );
    }

    #[test]
    fn a_link_made_before_the_rules_tightened_still_opens() {
        // Its path was stored with a newline and an NFD accent, both refused in new paths now.
        let stored = "old\nname/cafe\u{301}";
        let link = LinkRecord {
            id: LinkId(1),
            namespace: NamespaceId(7),
            path: DrivePath::from_stored(stored).unwrap(),
            created_by: UserId(1),
            created_ms: 0,
            expires_ms: None,
            password_hash: None,
        };
        assert_eq!(inside_link(&link, None).unwrap().0.as_str(), stored);
        let (target, inside) = inside_link(&link, Some("notes.txt")).unwrap();
        assert_eq!((target.as_str(), inside.as_str()), (format!("{stored}/notes.txt").as_str(), "notes.txt"));
        // What the holder sends is new, and held to today's rules.
        assert_eq!(inside_link(&link, Some("a\u{1b}b")).map_err(|e| e.code).unwrap_err(), ErrorCode::BadPath);
        let (target, _) = inside_link(&link, Some("re\u{301}sume\u{301}.txt")).unwrap();
        assert_eq!(target.as_str(), format!("{stored}/r\u{e9}sum\u{e9}.txt"));
    }
}
