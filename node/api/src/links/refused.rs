//! A refusal of a link request: an API error, with `Retry-After` when waiting helps (a link out
//! of password attempts, a busy password pool).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// An API error, with the seconds after which to try again (`Retry-After`) when waiting helps.
#[derive(Debug)]
pub struct Refused {
    /// What went wrong.
    pub error: ApiError,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self { error, retry_after: None }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
