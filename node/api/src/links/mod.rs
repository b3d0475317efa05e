//! Public share links over HTTP: `POST /v1/links`, `GET /v1/links` (the caller's), `DELETE
//! /v1/links/{id}`, and the token-less `GET /v1/links/{id}` (stat or list) and `GET
//! /v1/links/{id}/content`.
//!
//! A link is bound to its file or folder, not to a path (see the model's `links`): it follows
//! moves, stops while its file is in the trash, and answers 404 once its target is gone. Through
//! a folder link, files in the trash are neither listed nor served. A link is read with its
//! creator's rights, through the tree and content handlers themselves, and only while the
//! creator may still write at the target: a link made by an editor stops when the editor is
//! demoted or the share ends. Its downloads get `Range` and `ETag` without a second copy of the
//! download code.
//!
//! A password is stored only as an argon2id hash, travels only in the `X-Link-Password` header
//! (a `?password=` is refused: URLs end up in logs), and is checked on a small bounded pool with
//! a limited number of attempts per link and per client address ([`password`]).

mod attempts;
mod password;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response as HttpResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use cairn_proto::DrivePath;
use cairn_proto::api::{
    DownloadOptions, ErrorCode, LINK_PASSWORD_HEADER, LinkDownload, LinkInfo, LinkListing, LinkPage,
    LinkPaging, LinkTree, LinkView, Listing, NewLinkBody,
};
use cairn_raft::model::drive::FileStatus;
use cairn_raft::model::ids::LinkId;
use cairn_raft::model::links::{LinkRecord, LinkState, LinkStatus, LinkTarget, NewLink};
use cairn_raft::model::query::MAX_PAGE;
use cairn_raft::model::tokens::TokenRecord;
use cairn_raft::model::{Answer, Command, Query, Response, UserId};

use super::auth::Caller;
use super::content;
use super::error::ApiError;
use super::extract::{Json as ApiJson, Params};
use super::paths::{self, InNamespace};
use super::shares::expect;
use super::tree;
use crate::state::ApiState;

pub use password::checks as password_checks;

/// The routes of this module, relative to `/v1`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/links", post(create_link).get(list_links))
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
        Some(p) => Some(password::hash(p).await?),
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

/// `GET /v1/links`: the links on what the caller owns (their editors' too) and the links the
/// caller made, each with where its target is now and whether it opens.
pub async fn list_links(
    State(state): State<ApiState>,
    caller: Caller,
    Params(paging): Params<LinkPaging>,
) -> Result<Json<LinkPage>, ApiError> {
    let after = paging.after.as_deref().map(parse_link).transpose()?;
    let limit = paging.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let query = Query::Links { user: caller.user.id, after, limit, now_ms: state.clock.now_ms() };
    let Answer::Links(found) = state.query(query).await? else {
        return Err(ApiError::internal("unexpected answer to a link listing"));
    };
    let mut names: HashMap<UserId, String> = HashMap::new();
    let mut links = Vec::with_capacity(found.len());
    for link in &found {
        let maker = link.record.created_by;
        if let Entry::Vacant(slot) = names.entry(maker) {
            let name = match state.query(Query::User(maker)).await? {
                Answer::User(Some(user)) => user.name,
                _ => format!("user {maker}"),
            };
            slot.insert(name);
        }
        links.push(info(link, names.get(&maker).cloned().unwrap_or_default()));
    }
    let next = (found.len() == limit).then(|| found.last().map(|l| l.record.id.to_string())).flatten();
    Ok(Json(LinkPage { links, next }))
}

fn info(link: &LinkState, created_by: String) -> LinkInfo {
    let record = &link.record;
    let status = match link.status {
        LinkStatus::Live => "live",
        LinkStatus::Expired => "expired",
        LinkStatus::Trashed => "trashed",
        LinkStatus::Gone => "gone",
        LinkStatus::NoRights => "no_rights",
    };
    let kind = match record.target {
        LinkTarget::File(_) => "file",
        LinkTarget::Folder(_) => "folder",
    };
    LinkInfo {
        id: record.id.to_string(),
        ns: record.namespace.0,
        path: link.path.as_ref().map(|p| p.as_str().to_owned()),
        kind: kind.into(),
        created_by,
        created_ms: record.created_ms,
        expires_ms: record.expires_ms,
        password: record.password_hash.is_some(),
        status: status.into(),
    }
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

/// What a link holder's request carries besides its parameters: the password header and the
/// client's address. Its extraction refuses a password in the URL, before the parameters are
/// read, so the refusal says where the password goes.
pub struct Holder {
    password: Option<String>,
    from: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for Holder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let in_url = parts.uri.query().unwrap_or_default().split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            name.eq_ignore_ascii_case("password")
        });
        if in_url {
            return Err(ApiError::bad_request(
                "a link password is not taken in the URL, where logs keep it: send it in an X-Link-Password header",
            ));
        }
        // A header that is not text cannot match any password: it reads as the empty one, which
        // no link has (creating a link refuses it), so it counts as a wrong password.
        let password =
            parts.headers.get(LINK_PASSWORD_HEADER).map(|v| v.to_str().unwrap_or_default().to_owned());
        // The address the connection came from, when the server records it; a forwarded-for
        // header is not trusted, since anyone can send one.
        let from = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
        Ok(Self { password, from })
    }
}

/// `GET /v1/links/{id}`, no token: stats the linked file, or lists the linked folder (or a
/// folder inside it, `?path=`). Files in the trash are not listed.
pub async fn link_tree(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    holder: Holder,
    Params(params): Params<LinkListing>,
) -> Result<Json<LinkTree>, ApiError> {
    let (link, target_path, caller) = open_link(&state, &raw, &holder).await?;
    let (target, inside) = inside_link(&target_path, params.path.as_deref())?;
    let listing = Listing { ns: Some(link.namespace.0), after: params.after, limit: params.limit };
    let Json(mut tree) = tree::tree_at(state, caller, target, listing)
        .await
        .map_err(|e| as_seen_through_link(e, &raw, &inside))?;
    if tree.file.as_ref().is_some_and(|f| f.status == "trashed") {
        return Err(ApiError::not_found(format!("nothing at {inside} in this link")));
    }
    tree.children.retain(|child| child.status.as_deref() != Some("trashed"));
    // The holder sees the link's inside only, not where it sits in its owner's drive.
    tree.path = inside.as_str().to_owned();
    let name = target_path.split_last().map(|(_, name)| name.to_owned()).unwrap_or_default();
    Ok(Json(LinkTree { name, expires_ms: link.expires_ms, tree }))
}

/// `GET /v1/links/{id}/content`, no token: the linked file's content, or that of a file inside
/// the linked folder (`?path=`); `Range` and `If-None-Match` work as on `/v1/content`.
pub async fn link_content(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    holder: Holder,
    Params(params): Params<LinkDownload>,
    headers: HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let (link, target_path, caller) = open_link(&state, &raw, &holder).await?;
    let (target, inside) = inside_link(&target_path, params.path.as_deref())?;
    // A file in the trash inside a linked folder is not served (the link's own file was checked
    // when it was opened).
    if !inside.is_root()
        && let Answer::Stat(Some((_, Some(file)))) =
            state.query(Query::Stat { namespace: link.namespace, path: target.clone() }).await?
        && file.status == FileStatus::Trashed
    {
        return Err(ApiError::not_found(format!("nothing at {inside} in this link")));
    }
    let options = DownloadOptions { ns: Some(link.namespace.0), ..Default::default() };
    content::download_at(state, caller, target, options, headers)
        .await
        .map_err(|e| as_seen_through_link(e, &raw, &inside))
}

fn parse_link(raw: &str) -> Result<LinkId, ApiError> {
    // `from_str_radix` alone would also take a leading `+`.
    (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u128::from_str_radix(raw, 16).ok())
        .flatten()
        .map(LinkId)
        .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a link id (32 hex digits)")))
}

/// Finds link `raw`, checks that it opens something, its expiry and its password, and returns it
/// with where its target is now and the caller it reads as: its creator.
async fn open_link(
    state: &ApiState,
    raw: &str,
    holder: &Holder,
) -> Result<(LinkRecord, DrivePath, Caller), ApiError> {
    let id = parse_link(raw)?;
    let now_ms = state.clock.now_ms();
    let LinkState { record: link, path, status } = match state.query(Query::Link { link: id, now_ms }).await?
    {
        Answer::Link(Some(link)) => link,
        Answer::Link(None) => {
            return Err(ApiError::not_found(format!("no link {id}: it may have been revoked")));
        }
        other => {
            return Err(ApiError::internal(format!("unexpected answer to a link lookup: {other:?}")));
        }
    };
    // An expired link says so (410) until it is pruned by the next write after its expiry; from
    // then on it is simply gone (404). What a dead link pointed at is not told to its holder.
    let dead = |why: &str| ApiError::not_found(format!("link {id} opens nothing now: {why}"));
    let path = match (status, path) {
        (LinkStatus::Live, Some(path)) => path,
        (LinkStatus::Expired, _) => {
            let at = link.expires_ms.unwrap_or_default();
            let message = format!("link {id} expired at {at} ms");
            return Err(ApiError::new(StatusCode::GONE, ErrorCode::Expired, message));
        }
        (LinkStatus::Trashed, _) => return Err(dead("what it opens is in the trash")),
        (LinkStatus::NoRights, _) => return Err(dead("the one who made it may no longer publish it")),
        (LinkStatus::Gone | LinkStatus::Live, _) => return Err(dead("what it opened is gone")),
    };
    if let Some(hash) = &link.password_hash {
        let Some(given) = &holder.password else {
            return Err(password_required(format!(
                "link {id} asks for a password: send it in an X-Link-Password header"
            )));
        };
        if !password::check(id, hash, given, holder.from).await? {
            return Err(password_required(format!("wrong password for link {id}")));
        }
    }
    // The maker's account, not only their user: a disabled user's links stop with their tokens.
    let user = match state.query(Query::User(link.created_by)).await? {
        Answer::User(Some(user)) => user,
        _ => return Err(dead("the one who made it is gone")),
    };
    match state.query(Query::SignIn(user.name.clone())).await? {
        Answer::SignIn(Some((_, account))) if !account.disabled => {}
        _ => return Err(dead("the one who made it is disabled")),
    }
    // A link holder has no token; it reads as the link's creator, whose access `paths::place`
    // checks again on every request.
    let token = TokenRecord { user: user.id, label: format!("link {id}"), created_ms: link.created_ms };
    Ok((link, path, Caller { user, token }))
}

fn password_required(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::PasswordRequired, message)
}

/// The path `inside` the link (`None`: the link's target itself) in its owner's namespace, and
/// as the holder names it. Only `inside` comes in and is held to today's rules; the target's own
/// path is the drive's, kept as stored, so a target named before the rules tightened still opens.
fn inside_link(target: &DrivePath, inside: Option<&str>) -> Result<(DrivePath, DrivePath), ApiError> {
    let inside = paths::parse(inside.unwrap_or_default())?;
    let target = match (target.is_root(), inside.is_root()) {
        (_, true) => target.clone(),
        (true, false) => inside.clone(),
        (false, false) => DrivePath::from_stored(&format!("{}/{}", target.as_str(), inside.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let target = DrivePath::parse("team/q3").unwrap();
        let (full, inside) = inside_link(&target, Some("plans/a.txt")).unwrap();
        assert_eq!((full.as_str(), inside.as_str()), ("team/q3/plans/a.txt", "plans/a.txt"));
        assert_eq!(inside_link(&target, None).unwrap().0.as_str(), "team/q3");
        assert_eq!(
            inside_link(&target, Some("../secret")).map_err(|e| e.code).unwrap_err(),
            ErrorCode::BadPath
        );
    }

    #[test]
    fn a_target_named_before_the_rules_tightened_still_opens() {
        // Its path was stored with a newline and an NFD accent, both refused in new paths now.
        let stored = "old\nname/cafe\u{301}";
        let target = DrivePath::from_stored(stored).unwrap();
        assert_eq!(inside_link(&target, None).unwrap().0.as_str(), stored);
        let (full, inside) = inside_link(&target, Some("notes.txt")).unwrap();
        assert_eq!((full.as_str(), inside.as_str()), (format!("{stored}/notes.txt").as_str(), "notes.txt"));
        // What the holder sends is new, and held to today's rules.
        assert_eq!(
            inside_link(&target, Some("a\u{1b}b")).map_err(|e| e.code).unwrap_err(),
            ErrorCode::BadPath
        );
        let (full, _) = inside_link(&target, Some("re\u{301}sume\u{301}.txt")).unwrap();
        assert_eq!(full.as_str(), format!("{stored}/r\u{e9}sum\u{e9}.txt"));
    }
}
