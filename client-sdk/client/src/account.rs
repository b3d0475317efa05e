//! The caller's account: password sign-in and sign-out, their tokens (list, make, revoke), and
//! for administrators, disabling and enabling users and setting passwords.

use std::time::Duration;

use cairn_proto::api::{
    NewPassword, NewToken, SessionView, SignIn, TokenInfo, TokenView, UserChange, UserView,
};
use reqwest::Method;

use crate::nodes::Call;
use crate::{Client, ClientError};

impl Client {
    /// Signs `user` in with `password` (no token is sent, so a client made with an empty token
    /// can do it): a session token, which a client made with it then uses. Not idempotent: a
    /// retry makes a second session.
    pub async fn sign_in(
        &self,
        user: &str,
        password: &str,
        label: Option<&str>,
    ) -> Result<SessionView, ClientError> {
        let body =
            SignIn { user: user.to_owned(), password: password.to_owned(), label: label.map(str::to_owned) };
        self.nodes.send_anonymous(&Call::new(Method::POST, &["sessions"]).json(&body)?).await?.json()
    }

    /// Signs out: revokes the token this client uses.
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        self.nodes.send(&Call::new(Method::DELETE, &["sessions", "current"]).idempotent()).await?;
        Ok(())
    }

    /// The caller's tokens and sessions (never the tokens themselves).
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, ClientError> {
        self.call(Call::new(Method::GET, &["tokens"])).await
    }

    /// Makes an API token for the caller, ending after `expires_in` if given. Takes a session
    /// (a password sign-in) unless the caller is an administrator. Not idempotent.
    pub async fn add_token(
        &self,
        label: &str,
        expires_in: Option<Duration>,
    ) -> Result<TokenView, ClientError> {
        let body = NewToken { label: label.to_owned(), expires_in_s: expires_in.map(|d| d.as_secs().max(1)) };
        self.call(Call::new(Method::POST, &["tokens"]).json(&body)?).await
    }

    /// Revokes one of the caller's tokens by its id (from [`Client::tokens`]).
    pub async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        self.nodes.send(&Call::new(Method::DELETE, &["tokens", id]).idempotent()).await?;
        Ok(())
    }

    /// Sets `user`'s password: one's own (giving the current one, if there is one), or as an
    /// administrator anyone's. Their sessions made with the old password end.
    pub async fn set_password(
        &self,
        user: &str,
        password: &str,
        current: Option<&str>,
    ) -> Result<(), ClientError> {
        let body = NewPassword { password: password.to_owned(), current: current.map(str::to_owned) };
        self.nodes
            .send(&Call::new(Method::PUT, &["users", user, "password"]).json(&body)?.idempotent())
            .await?;
        Ok(())
    }

    /// A user, as an administrator (or the user themself) sees them.
    pub async fn user(&self, name: &str) -> Result<UserView, ClientError> {
        self.call(Call::new(Method::GET, &["users", name])).await
    }

    /// Disables or enables a user, or gives or takes administrator rights (administrators).
    pub async fn change_user(&self, name: &str, change: &UserChange) -> Result<UserView, ClientError> {
        self.call(Call::new(Method::PATCH, &["users", name]).json(change)?.idempotent()).await
    }
}
