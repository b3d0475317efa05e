//! Exit codes that mean something, and the one failure type every command returns.
//!
//! Scripts branch on the exit code, so the mapping from what went wrong to a code lives here,
//! in one place: the SDK's [`ClientError`] (its stable API `code` first, then the HTTP status),
//! local I/O, and the command line's own refusals.

use std::fmt;
use std::path::Path;

use cairn_client::ClientError;
use cairn_client::api::ErrorCode;
use cairn_client::disk::Breach;
use cairn_client::sync::SyncError;

/// What `cairn` exits with. The numbers are part of the interface: never renumber one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// Something unexpected: a node answered what the API never does, a server error.
    Internal = 1,
    /// The command line itself is wrong (clap's own code for usage errors).
    Usage = 2,
    /// The path, version, user, share or link does not exist (404, 410).
    NotFound = 3,
    /// The drive changed under the request: a newer head, a taken name (409).
    Conflict = 4,
    /// The token is missing, unknown or not allowed to do this (401, 403).
    Permission = 5,
    /// No node answered, or none could serve the request, before the retry deadline.
    Unreachable = 6,
    /// Downloaded bytes did not match their block id or the file's hash.
    Integrity = 7,
    /// A local file or folder could not be read or written.
    LocalIo = 8,
    /// The request was refused as malformed: a bad path, an invalid value (400).
    BadInput = 9,
    /// The cluster's disks are short of room for more data (507); deleting still works.
    StorageFull = 10,
    /// Stopped by Ctrl-C (the shell's convention: 128 + SIGINT).
    Interrupted = 130,
}

/// The table printed under `cairn --help` and kept in step with [`Exit`].
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  unexpected or internal error
  2  usage: the command line is wrong
  3  not found (a path, version, user, share or link)
  4  conflict: the file changed meanwhile (409 conflict, missing_blocks, exists, wrong_kind)
  5  permission: no token, an unknown token, or not allowed (401, 403)
  6  unreachable: no node answered, or none could serve the request (503)
  7  integrity: downloaded bytes failed their check; nothing was written
  8  local I/O error (reading or writing a local file)
  9  bad input: a path or value the cluster refuses (400 bad_path, invalid, …)
 10  storage full: the cluster's disks are short of room (507); deleting still works
130  interrupted (Ctrl-C); a download in progress leaves no partial file

With --json, stdout carries exactly one JSON document: the answer, or on failure
{\"error\": {\"code\", \"message\", \"exit\"}}. Messages for people go to stderr
(usage errors too, with nothing on stdout).";

/// A failed command: the exit code, a stable machine-readable code and a message.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What to exit with.
    pub exit: Exit,
    /// The API's error code, or one of ours (`io`, `usage`, `no_profile`, …).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The command printed its answer already (`status` with no node answering), so with
    /// `--json` no error document follows it: stdout still holds one document.
    pub answered: bool,
}

impl Failure {
    /// A failure with `exit`, `code` and `message`.
    pub fn new(exit: Exit, code: &str, message: impl Into<String>) -> Self {
        Self { exit, code: code.to_owned(), message: message.into(), answered: false }
    }

    /// The same failure, marked as coming after the command printed its answer.
    pub fn after_answer(mut self) -> Self {
        self.answered = true;
        self
    }

    /// The command line asked for something that cannot be done as asked.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, "usage", message)
    }

    /// A value the command line accepted but that is wrong (a bad path, a bad duration).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Exit::BadInput, ErrorCode::Invalid.as_str(), message)
    }

    /// A local file operation on `path` failed: `what` is a plain verb phrase.
    pub fn io(what: &str, path: &Path, error: std::io::Error) -> Self {
        Self::new(Exit::LocalIo, "io", format!("{what} {}: {error}", path.display()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        let exit = exit_of(&error);
        Self { exit, code: error.code().to_owned(), message: error.to_string(), answered: false }
    }
}

impl From<SyncError> for Failure {
    fn from(error: SyncError) -> Self {
        let message = error.to_string();
        let (exit, code) = match error {
            SyncError::Client(e) => return e.into(),
            SyncError::Wall(e) => return e.into(),
            SyncError::InUse(_) => (Exit::LocalIo, "in_use"),
            SyncError::Bound { .. } => (Exit::BadInput, "bound"),
            SyncError::Setup(_) => (Exit::BadInput, "setup"),
            SyncError::State { .. } | SyncError::Io { .. } | SyncError::Watch { .. } => (Exit::LocalIo, "io"),
        };
        Self::new(exit, code, message)
    }
}

impl From<Breach> for Failure {
    fn from(error: Breach) -> Self {
        let (exit, code) = match &error {
            Breach::Io { .. } => (Exit::LocalIo, "io"),
            _ => (Exit::BadInput, "unsafe_path"),
        };
        Self::new(exit, code, error.to_string())
    }
}

/// The exit code of an SDK error: by its stable code, each decided here (a new code does not
/// compile until it is), and by its status when a newer node sends a code this build does not
/// know.
fn exit_of(error: &ClientError) -> Exit {
    use ErrorCode as C;
    match error {
        ClientError::Api { code, status, .. } => match code {
            C::NotFound | C::Expired | C::CursorExpired => Exit::NotFound,
            C::Conflict | C::MissingBlocks | C::Exists | C::WrongKind | C::Changed | C::OffsetMismatch => {
                Exit::Conflict
            }
            // A tus version mismatch is a failed precondition (412), like `changed`.
            C::UnsupportedVersion => Exit::Conflict,
            C::Unauthenticated | C::Forbidden | C::PasswordRequired | C::UserDisabled => Exit::Permission,
            C::LastAdmin => Exit::Conflict,
            C::Unavailable | C::RateLimited => Exit::Unreachable,
            C::BadPath
            | C::BadRequest
            | C::Invalid
            | C::InvalidBlock
            | C::BlockLengthMismatch
            | C::BadRange
            | C::TooLarge
            | C::BodyTooLarge
            | C::ChecksumMismatch
            | C::UnsupportedMediaType => Exit::BadInput,
            C::StorageFull => Exit::StorageFull,
            C::Internal => Exit::Internal,
            C::Other => match status.as_u16() {
                404 | 410 => Exit::NotFound,
                409 | 412 => Exit::Conflict,
                401 | 403 => Exit::Permission,
                507 => Exit::StorageFull,
                502..=504 => Exit::Unreachable,
                400..=499 => Exit::BadInput,
                _ => Exit::Internal,
            },
        },
        ClientError::Unreachable(_) => Exit::Unreachable,
        ClientError::Protocol { .. } => Exit::Internal,
        ClientError::Integrity(_) => Exit::Integrity,
        ClientError::Io { .. } => Exit::LocalIo,
        ClientError::Config(_) | ClientError::Invalid(_) => Exit::BadInput,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Test code: a panic is a failure report.
mod tests {
    use cairn_client::ClientError;

    use super::*;

    fn api(status: u16, code: &str) -> ClientError {
        ClientError::Api {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            code: ErrorCode::from_wire(code),
            message: "m".into(),
            missing: vec![],
            head: None,
        }
    }

    #[test]
    fn api_errors_map_by_code_then_status() {
        assert_eq!(Failure::from(api(404, "not_found")).exit, Exit::NotFound);
        assert_eq!(Failure::from(api(409, "missing_blocks")).exit, Exit::Conflict);
        assert_eq!(Failure::from(api(409, "exists")).exit, Exit::Conflict);
        assert_eq!(Failure::from(api(401, "unauthenticated")).exit, Exit::Permission);
        assert_eq!(Failure::from(api(403, "forbidden")).exit, Exit::Permission);
        assert_eq!(Failure::from(api(400, "bad_path")).exit, Exit::BadInput);
        assert_eq!(Failure::from(api(503, "unavailable")).exit, Exit::Unreachable);
        assert_eq!(Failure::from(api(500, "internal")).exit, Exit::Internal);
        // A code this build does not know still lands by its status.
        assert_eq!(Failure::from(api(410, "something_new")).exit, Exit::NotFound);
        assert_eq!(Failure::from(api(422, "something_new")).exit, Exit::BadInput);
    }

    #[test]
    fn errors_that_never_reached_the_api_have_codes_too() {
        assert_eq!(Failure::from(ClientError::Unreachable("x".into())).exit, Exit::Unreachable);
        assert_eq!(Failure::from(ClientError::Integrity("x".into())).exit, Exit::Integrity);
        assert_eq!(Failure::from(ClientError::Invalid("x".into())).exit, Exit::BadInput);
        let io = ClientError::Io { path: "f".into(), source: std::io::Error::other("x") };
        assert_eq!(Failure::from(io).exit, Exit::LocalIo);
    }
}
