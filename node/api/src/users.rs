//! `/v1/me`, and users and their tokens. Creating users is for administrators; a user may
//! also make tokens for themself (one per device, say).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_proto::api::{NewToken, NewUser, TokenView, UserView};
use cairn_raft::model::users::User;
use cairn_raft::model::{Answer, Command, Query, Response, TokenHash};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Json as ApiJson;
use crate::state::ApiState;

/// The API's view of a user.
pub fn user_view(u: &User) -> UserView {
    UserView { id: u.id.0, name: u.name.clone(), admin: u.admin, drive: u.drive.0 }
}

/// `GET /v1/me`.
pub async fn me(caller: Caller) -> Json<UserView> {
    Json(user_view(&caller.user))
}

/// `POST /v1/users`: an administrator creates a user.
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.require_admin()?;
    let Response::UserCreated { user } =
        state.propose(Command::CreateUser { name: new.name.clone() }).await?
    else {
        return Err(ApiError::internal("unexpected answer to creating a user"));
    };
    if new.admin {
        state.propose(Command::SetAdmin { user, admin: true }).await?;
    }
    match state.query(Query::User(user)).await? {
        Answer::User(Some(user)) => Ok((StatusCode::CREATED, Json(user_view(&user)))),
        _ => Err(ApiError::internal("the new user is not readable")),
    }
}

/// `POST /v1/users/{name}/tokens`: a token for `name`, made by an administrator or by the user.
pub async fn add_token(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    if caller.user.name != name {
        caller.require_admin()?;
    }
    let user = match state.query(Query::UserByName(name.clone())).await? {
        Answer::User(Some(user)) => user,
        _ => return Err(ApiError::not_found(format!("no user named {name:?}"))),
    };
    let token = new_token();
    let add =
        Command::AddToken { user: user.id, token_hash: TokenHash::of(&token), label: new.label.clone() };
    state.propose(add).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token, label: new.label, user: user.id.0 })))
}

/// 32 random bytes, hex: 256 bits, beyond guessing.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}
