//! API errors: every failure becomes an HTTP status and a JSON body `{code, message}` whose
//! `code` is stable — clients and the SDK branch on it, never on the message. The mapping
//! from the layers below lives here, in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_proto::api::ErrorBody;
use cairn_raft::model::Rejection;

use crate::block_service::BlockError;
use crate::service::ServiceError;

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable, machine-readable code (`not_found`, `conflict`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// For `missing_blocks`: the ids (hex) of the blocks to send before committing again.
    pub missing: Option<Vec<String>>,
    /// For a commit's `conflict`: the file's head now (`Some(None)`: there is no file).
    pub head: Option<Option<u64>>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), missing: None, head: None }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The JSON body every client sees.
    pub fn into_body(self) -> ErrorBody {
        ErrorBody { code: self.code.into(), message: self.message, missing: self.missing, head: self.head }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.into_body())).into_response()
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
                (StatusCode::BAD_REQUEST, "invalid")
            }
            R::SizeMismatch { .. } | R::OffsetMismatch { .. } | R::UploadTooLarge { .. } => {
                (StatusCode::BAD_REQUEST, "invalid")
            }
            R::ExpiryInPast { .. } | R::UploadIncomplete { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            R::NameTaken(_) | R::TokenExists | R::LinkExists(_) | R::UploadExists(_) => {
                (StatusCode::CONFLICT, "exists")
            }
            R::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            R::Exists(_) => (StatusCode::CONFLICT, "exists"),
            R::MoveIntoItself { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            R::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            R::MissingBlocks(_) => (StatusCode::CONFLICT, "missing_blocks"),
            R::Forbidden | R::ShareWithOwner(_) => (StatusCode::FORBIDDEN, "forbidden"),
            R::NotAFolder(_) | R::IsAFolder(_) | R::AlreadyInTrash(_) | R::NotInTrash(_) => {
                (StatusCode::CONFLICT, "wrong_kind")
            }
            R::UploadExpired { .. } => (StatusCode::GONE, "expired"),
            R::CursorExpired { .. } => (StatusCode::GONE, "cursor_expired"),
            R::ChangedSince { .. } => (StatusCode::PRECONDITION_FAILED, "changed"),
            R::PlacementChanged { .. } | R::BlockInUse { .. } => (StatusCode::CONFLICT, "conflict"),
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
            | R::NoSuchBlock { .. } => (StatusCode::NOT_FOUND, "not_found"),
        };
        Self { status, code, message, missing, head }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        if e.is_retryable() {
            // The SDK retries these, on this node or another, with the same request id.
            Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        } else {
            Self::internal(message)
        }
    }
}

impl From<BlockError> for ApiError {
    fn from(e: BlockError) -> Self {
        let message = e.to_string();
        match e {
            BlockError::Invalid(_) => Self::new(StatusCode::BAD_REQUEST, "invalid_block", message),
            BlockError::NotFound(_) => Self::not_found(message),
            BlockError::Unavailable(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message),
            BlockError::Damaged(_) => Self::internal(message),
            BlockError::Metadata(e) => e.into(),
            BlockError::Refused(_) => Self::bad_request(message),
        }
    }
}
