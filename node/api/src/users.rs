//! `/v1/me` and users: administrators create, disable and enable users and set passwords; a
//! user changes their own password by giving the current one. Tokens are in `tokens`,
//! password sign-in in `sessions`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cairn_proto::api::{NewPassword, NewUser, UserChange, UserView};
use cairn_raft::model::users::{Account, User};
use cairn_raft::model::{Answer, Command, Query, Response};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ClientAddr, Json as ApiJson};
use crate::password::{guard, pool};
use crate::state::ApiState;

/// The routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/me", get(me))
        .route("/users", post(create))
        .route("/users/{name}", get(show).patch(change))
        .route("/users/{name}/password", put(set_password))
}

/// The API's view of a user.
pub fn user_view(u: &User, disabled: bool) -> UserView {
    UserView { id: u.id.0, name: u.name.clone(), admin: u.admin, drive: u.drive.0, disabled }
}

/// `GET /v1/me`. A disabled user's request never gets this far.
pub async fn me(caller: Caller) -> Json<UserView> {
    Json(user_view(&caller.user, false))
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
        Answer::User(Some(user)) => Ok((StatusCode::CREATED, Json(user_view(&user, false)))),
        _ => Err(ApiError::internal("the new user is not readable")),
    }
}

/// `GET /v1/users/{name}`: the user themself or an administrator.
async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    if caller.user.name != name {
        caller.require_admin()?;
    }
    let (user, account) = account_of(&state, &name).await?;
    Ok(Json(user_view(&user, account.disabled)))
}

/// `PATCH /v1/users/{name}`: an administrator disables or enables a user, or gives or takes
/// administrator rights. The last enabled administrator keeps theirs (409 `last_admin`).
async fn change(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<UserChange>,
) -> Result<Json<UserView>, ApiError> {
    caller.require_admin()?;
    let (user, _) = account_of(&state, &name).await?;
    if let Some(disabled) = change.disabled {
        state.propose(Command::SetDisabled { user: user.id, disabled }).await?;
    }
    if let Some(admin) = change.admin {
        state.propose(Command::SetAdmin { user: user.id, admin }).await?;
    }
    let (user, account) = account_of(&state, &name).await?;
    Ok(Json(user_view(&user, account.disabled)))
}

/// `PUT /v1/users/{name}/password`: an administrator sets anyone's password; a user sets their
/// own, giving the current one if they have one (its checks count as sign-in attempts).
/// Sessions made with the old password end.
async fn set_password(
    State(state): State<ApiState>,
    caller: Caller,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
    ApiJson(new): ApiJson<NewPassword>,
) -> Result<StatusCode, ApiError> {
    let own = caller.user.name == name;
    if !own {
        caller.require_admin()?;
    }
    guard::check_length(&new.password)?;
    let (user, account) = account_of(&state, &name).await?;
    if own
        && !caller.user.admin
        && let Some(phc) = account.password
    {
        let Some(current) = new.current else {
            return Err(ApiError::bad_request("give your current password as `current`"));
        };
        guard::take_attempt(&name, from)?;
        if !pool::verify(phc, current).await? {
            return Err(ApiError::forbidden("the current password is wrong"));
        }
    }
    let hash = pool::hash(new.password).await?;
    state.propose(Command::SetPassword { user: user.id, password_hash: Some(hash) }).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn account_of(state: &ApiState, name: &str) -> Result<(User, Account), ApiError> {
    match state.query(Query::SignIn(name.to_owned())).await? {
        Answer::SignIn(Some(found)) => Ok(found),
        Answer::SignIn(None) => Err(ApiError::not_found(format!("no user named {name:?}"))),
        other => Err(ApiError::internal(format!("unexpected answer to a user lookup: {other:?}"))),
    }
}
