//! API errors: every failure becomes an HTTP status and a JSON body `{code, message}` whose
//! `code` is stable — clients and the SDK branch on it, never on the message. The mapping
//! from the layers below lives here, in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_proto::api::ErrorBody;
use cairn_proto::api::ErrorCode;
use cairn_raft::model::Rejection;

use cairn_block_service::BlockError;
use cairn_metadata::ServiceError;

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable, machine-readable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// For `missing_blocks`: the ids (hex) of the blocks to send before committing again.
    pub missing: Option<Vec<String>>,
    /// For a commit's `conflict`: the file's head now (`Some(None)`: there is no file).
    pub head: Option<Option<u64>>,
    /// `Retry-After` in seconds, for refusals that pass (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), missing: None, head: None, retry_after: None }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 429 `rate_limited`, to be tried again after `seconds`.
    pub fn rate_limited(seconds: u64, message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message).retry_after(seconds)
    }

    /// The same error, telling the client to wait `seconds` before trying again.
    pub fn retry_after(self, seconds: u64) -> Self {
        Self { retry_after: Some(seconds), ..self }
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, message)
    }

    /// The JSON body every client sees.
    pub fn into_body(self) -> ErrorBody {
        ErrorBody { code: self.code, message: self.message, missing: self.missing, head: self.head }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after;
        let mut response = (self.status, Json(self.into_body())).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        use Rejection as R;
        let message = r.to_string();
        let missing = match &r {
            R::MissingBlocks(ids) => Some(ids.iter().map(|id| id.to_hex()).collect()),
            _ => None,
        };
        let head = match &r {
            R::Conflict { head } => Some(*head),
            _ => None,
        };
        let (status, code) = match r {
            R::InvalidName { .. } | R::InvalidNode { .. } | R::InvalidBlock { .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::Invalid)
            }
            R::SizeMismatch { .. } | R::OffsetMismatch { .. } | R::UploadTooLarge { .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::Invalid)
            }
            R::ExpiryInPast { .. } | R::UploadIncomplete { .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::Invalid)
            }
            R::NameTaken(_) | R::TokenExists | R::LinkExists(_) | R::UploadExists(_) => {
                (StatusCode::CONFLICT, ErrorCode::Exists)
            }
            R::Conflict { .. } => (StatusCode::CONFLICT, ErrorCode::Conflict),
            R::Exists(_) => (StatusCode::CONFLICT, ErrorCode::Exists),
            R::MoveIntoItself { .. } => (StatusCode::BAD_REQUEST, ErrorCode::Invalid),
            R::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge),
            R::MissingBlocks(_) => (StatusCode::CONFLICT, ErrorCode::MissingBlocks),
            R::Forbidden | R::ShareWithOwner(_) | R::JoinRefused(_) => {
                (StatusCode::FORBIDDEN, ErrorCode::Forbidden)
            }
            R::NotAFolder(_) | R::IsAFolder(_) | R::AlreadyInTrash(_) | R::NotInTrash(_) => {
                (StatusCode::CONFLICT, ErrorCode::WrongKind)
            }
            R::UploadExpired { .. } => (StatusCode::GONE, ErrorCode::Expired),
            R::CursorExpired { .. } => (StatusCode::GONE, ErrorCode::CursorExpired),
            R::ChangedSince { .. } => (StatusCode::PRECONDITION_FAILED, ErrorCode::Changed),
            R::BlockLengthMismatch { .. } => (StatusCode::BAD_REQUEST, ErrorCode::BlockLengthMismatch),
            R::PlacementChanged { .. } | R::BlockInUse { .. } | R::ClusterVersionLowered { .. } => {
                (StatusCode::CONFLICT, ErrorCode::Conflict)
            }
            R::LastAdmin(_) => (StatusCode::CONFLICT, ErrorCode::LastAdmin),
            R::UserDisabled(_) => (StatusCode::FORBIDDEN, ErrorCode::UserDisabled),
            R::TokenExpired => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            R::NoSuchUser(_)
            | R::NoSuchToken
            | R::NoSuchNamespace(_)
            | R::NoSuchDevice { .. }
            | R::NotFound(_)
            | R::NoSuchShare { .. }
            | R::NoSuchLink(_)
            | R::NoSuchFile(_)
            | R::NoSuchVersion { .. }
            | R::NoSuchUpload(_)
            | R::NoSuchNode(_)
            | R::NoSuchBlock { .. } => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        };
        Self { status, code, message, missing, head, retry_after: None }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        if e.is_retryable() {
            // The SDK retries these, on this node or another, with the same request id.
            Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, message)
        } else {
            Self::internal(message)
        }
    }
}

impl From<BlockError> for ApiError {
    fn from(e: BlockError) -> Self {
        let message = e.to_string();
        match e {
            BlockError::Invalid(_) => Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidBlock, message),
            BlockError::NotFound(_) => Self::not_found(message),
            BlockError::Unavailable(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, message)
            }
            BlockError::Damaged(_) => Self::internal(message),
            BlockError::Metadata(e) => e.into(),
            BlockError::Refused(_) => Self::bad_request(message),
        }
    }
}
