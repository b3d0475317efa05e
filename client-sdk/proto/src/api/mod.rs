//! The HTTP API's wire types: request bodies, query strings and answers of `/v1`, shared by
//! the node (which serves them) and the SDK (which sends and reads them), so the two cannot
//! drift apart. Plain serde structs; the node converts its model records into them.
//!
//! Ids travel as integers, block ids and hashes as hex, times as ms since the epoch.

pub mod batch;
pub mod blocks;
pub mod changes;
pub mod content;
pub mod error;
pub mod history;
pub mod links;
pub mod shares;
pub mod tree;
pub mod users;

pub use batch::{Base, Batch, BatchDone, BatchFile, BatchOutcome, MAX_BATCH_BODY, MAX_BATCH_FILES};
pub use blocks::{
    BlockEntry, BlockTarget, Committed, Ids, Manifest, Missing, NewCommit, SessionCommit, Stored,
};
pub use changes::{ChangePage, ChangeView, ChangesQuery, CursorView};
pub use content::{DownloadOptions, UploadOptions, Uploaded};
pub use error::{ErrorBody, ErrorCode};
pub use history::{
    HistoryOptions, HistoryView, MoveRequest, Moved, PinView, TrashChanged, TrashItem, TrashListing,
    TrashTarget, TrashView, VersionAction, VersionRestored, VersionView,
};
pub use links::{
    LINK_PASSWORD_HEADER, LinkDownload, LinkInfo, LinkListing, LinkPage, LinkPaging, LinkTree, LinkView,
    NewLinkBody,
};
pub use shares::{EndShare, NewShare, Paging, Role, SharePage, ShareView};
pub use tree::{Changed, ChildView, DeleteParams, FileView, InNamespace, Listing, TreeView, UploadingView};
pub use users::{
    NewPassword, NewToken, NewUser, SessionView, SignIn, TokenInfo, TokenKind, TokenView, UserChange,
    UserView,
};

/// The header a client sets to make a write safe to retry: the same key from the same user
/// replays the first answer instead of writing twice.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The header a download answers with: the version whose content it carries.
pub const VERSION_HEADER: &str = "x-cairn-version";
