//! Extractors whose refusals are API errors: axum's own answer a malformed JSON body or query
//! string with plain text, and every error of this API is `{code, message}`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use cairn_proto::api::ErrorCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body (at most axum's default 2 MB), or a `bad_request`.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::BytesRejection(e)) => {
                Err(ApiError::new(e.status(), ErrorCode::BodyTooLarge, e.body_text()))
            }
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Query-string parameters, or a `bad_request`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text()))
    }
}

/// The address the request's connection came from, when the server records it (`None`
/// otherwise): what limits on attempts per client count by. A forwarded-for header is not
/// trusted, since any client can write one.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let connection = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Self(connection.map(|axum::extract::ConnectInfo(addr)| addr.ip())))
    }
}
