//! The drive's calls, typed: who am I, users and tokens, stat and list, folders, delete, move,
//! the trash, and versions (history, restore, pin). Uploads and downloads are in
//! [`crate::upload`] and [`crate::download`]; sharing in [`crate::sharing`].

use cairn_proto::DrivePath;
use cairn_proto::api::{
    Changed, DeleteParams, HistoryOptions, HistoryView, InNamespace, Listing, MoveRequest, Moved, NewToken,
    NewUser, PinView, TokenView, TrashChanged, TrashListing, TrashTarget, TrashView, TreeView, UserView,
    VersionAction, VersionRestored,
};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::nodes::Call;
use crate::{Client, ClientError};

/// Parses a drive path as the API would, so a bad one fails before anything is sent.
pub fn drive_path(path: &str) -> Result<DrivePath, ClientError> {
    DrivePath::parse(path).map_err(|e| ClientError::Invalid(e.to_string()))
}

impl Client {
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, ClientError> {
        self.nodes.send(&call).await?.json()
    }

    /// The caller: `GET /v1/me`.
    pub async fn me(&self) -> Result<UserView, ClientError> {
        self.call(Call::new(Method::GET, &["me"])).await
    }

    /// Creates a user (administrators only).
    pub async fn create_user(&self, name: &str, admin: bool) -> Result<UserView, ClientError> {
        let body = NewUser { name: name.to_owned(), admin };
        self.call(Call::new(Method::POST, &["users"]).json(&body)?.idempotent()).await
    }

    /// Makes a token for `user` (themself, or anyone for an administrator). Not idempotent: the
    /// node draws the secret, so a replay could not return it; a retry makes a second token.
    pub async fn create_token(&self, user: &str, label: &str) -> Result<TokenView, ClientError> {
        let body = NewToken { label: label.to_owned(), expires_in_s: None };
        self.call(Call::new(Method::POST, &["users", user, "tokens"]).json(&body)?).await
    }

    /// A file's state or one page of a folder's children.
    pub async fn stat(&self, path: &str, listing: &Listing) -> Result<TreeView, ClientError> {
        let path = drive_path(path)?;
        self.call(Call::new(Method::GET, &["tree"]).path(&path).query(listing)?).await
    }

    /// All children of a folder, every page.
    pub async fn list_all(&self, path: &str, ns: Option<u64>) -> Result<TreeView, ClientError> {
        let mut listing = Listing { ns, ..Listing::default() };
        let mut view = self.stat(path, &listing).await?;
        while let Some(after) = view.next.take() {
            listing.after = Some(after);
            let page = self.stat(path, &listing).await?;
            view.children.extend(page.children);
            view.next = page.next;
        }
        Ok(view)
    }

    /// Makes a folder (and any missing folders above it).
    pub async fn make_folder(&self, path: &str, ns: Option<u64>) -> Result<Changed, ClientError> {
        let path = drive_path(path)?;
        let call = Call::new(Method::POST, &["folders"]).path(&path).query(&InNamespace { ns })?;
        self.call(call.idempotent()).await
    }

    /// Deletes a file or folder to the trash.
    pub async fn delete(&self, path: &str, ns: Option<u64>) -> Result<Changed, ClientError> {
        self.delete_with(path, DeleteParams { ns, if_unchanged_since: None }).await
    }

    /// Deletes a file or folder to the trash only if nothing was put at or below it after
    /// `cursor` of the caller's change journal: fails with code `changed` otherwise (and
    /// `cursor_expired` for a cursor the journal no longer covers).
    pub async fn delete_if_unchanged(
        &self,
        path: &str,
        ns: Option<u64>,
        cursor: u64,
    ) -> Result<Changed, ClientError> {
        self.delete_with(path, DeleteParams { ns, if_unchanged_since: Some(cursor) }).await
    }

    async fn delete_with(&self, path: &str, params: DeleteParams) -> Result<Changed, ClientError> {
        let path = drive_path(path)?;
        let call = Call::new(Method::DELETE, &["tree"]).path(&path).query(&params)?;
        self.call(call.idempotent()).await
    }

    /// Moves or renames a file or folder.
    pub async fn move_path(&self, from: &str, to: &str, ns: Option<u64>) -> Result<Moved, ClientError> {
        let body =
            MoveRequest { from: drive_path(from)?.as_str().into(), to: drive_path(to)?.as_str().into(), ns };
        self.call(Call::new(Method::POST, &["move"]).json(&body)?.idempotent()).await
    }

    /// One page of the trash.
    pub async fn trash(&self, listing: &TrashListing) -> Result<TrashView, ClientError> {
        self.call(Call::new(Method::GET, &["trash"]).query(listing)?).await
    }

    /// Restores a trashed file, or every trashed file below a folder.
    pub async fn restore_from_trash(&self, path: &str, ns: Option<u64>) -> Result<TrashChanged, ClientError> {
        let body = TrashTarget { path: drive_path(path)?.as_str().into(), ns };
        self.call(Call::new(Method::POST, &["trash", "restore"]).json(&body)?.idempotent()).await
    }

    /// Deletes for good a trashed file, or every trashed file below a folder.
    pub async fn purge(&self, path: &str, ns: Option<u64>) -> Result<TrashChanged, ClientError> {
        let body = TrashTarget { path: drive_path(path)?.as_str().into(), ns };
        self.call(Call::new(Method::DELETE, &["trash"]).json(&body)?.idempotent()).await
    }

    /// A file's versions, newest first.
    pub async fn history(&self, path: &str, options: &HistoryOptions) -> Result<HistoryView, ClientError> {
        let path = drive_path(path)?;
        self.call(Call::new(Method::GET, &["history"]).path(&path).query(options)?).await
    }

    /// Makes an old version's content the new head (only if the head is still `base`, if given).
    pub async fn restore_version(
        &self,
        path: &str,
        version: u64,
        base: Option<u64>,
        ns: Option<u64>,
    ) -> Result<VersionRestored, ClientError> {
        let path = drive_path(path)?;
        let body = VersionAction { version, base, pinned: None, ns };
        let call = Call::new(Method::POST, &["history"]).path(&path);
        self.call(call.segment("restore").json(&body)?.idempotent()).await
    }

    /// Pins (or unpins) a version, so history pruning keeps it.
    pub async fn pin(
        &self,
        path: &str,
        version: u64,
        pinned: bool,
        ns: Option<u64>,
    ) -> Result<PinView, ClientError> {
        let path = drive_path(path)?;
        let body = VersionAction { version, base: None, pinned: Some(pinned), ns };
        let call = Call::new(Method::POST, &["history"]).path(&path);
        self.call(call.segment("pin").json(&body)?.idempotent()).await
    }
}
