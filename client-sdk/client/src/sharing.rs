//! Sharing, typed: shares with users (viewer, editor; given and received) and public links.

use cairn_proto::api::{
    EndShare, LINK_PASSWORD_HEADER, LinkPage, LinkPaging, LinkTree, LinkView, NewLinkBody, NewShare, Paging,
    Role, SharePage,
};
use reqwest::Method;
use reqwest::header::HeaderName;

use crate::drive::drive_path;
use crate::nodes::Call;
use crate::{Client, ClientError};

/// The header that carries a link's password (kept out of URLs and their logs: a node refuses a
/// password in the URL).
const LINK_PASSWORD: HeaderName = HeaderName::from_static(LINK_PASSWORD_HEADER);

impl Client {
    /// Shares `path` with the user named `user` as `role` (or changes the role of a share).
    pub async fn share(
        &self,
        path: &str,
        user: &str,
        role: Role,
        ns: Option<u64>,
    ) -> Result<(), ClientError> {
        let body = NewShare { path: drive_path(path)?.as_str().into(), user: user.to_owned(), role, ns };
        self.nodes.send(&Call::new(Method::POST, &["shares"]).json(&body)?.idempotent()).await?;
        Ok(())
    }

    /// Ends the share of `path` with `user` (the recipient may end it too).
    pub async fn unshare(&self, path: &str, user: &str, ns: Option<u64>) -> Result<(), ClientError> {
        let body = EndShare { path: drive_path(path)?.as_str().into(), user: user.to_owned(), ns };
        self.nodes.send(&Call::new(Method::DELETE, &["shares"]).json(&body)?.idempotent()).await?;
        Ok(())
    }

    /// One page of the shares the caller gave.
    pub async fn shares_given(&self, paging: &Paging) -> Result<SharePage, ClientError> {
        self.call(Call::new(Method::GET, &["shares", "given"]).query(paging)?).await
    }

    /// One page of the shares the caller received ("shared with me").
    pub async fn shares_received(&self, paging: &Paging) -> Result<SharePage, ClientError> {
        self.call(Call::new(Method::GET, &["shares", "received"]).query(paging)?).await
    }

    /// Publishes `path` read-only to anyone holding the link. Not idempotent: the node draws the
    /// link's secret id, so a replay could not return it; a retry makes a second link.
    pub async fn create_link(
        &self,
        path: &str,
        password: Option<String>,
        expires_ms: Option<u64>,
        ns: Option<u64>,
    ) -> Result<LinkView, ClientError> {
        let body = NewLinkBody { path: drive_path(path)?.as_str().into(), password, expires_ms, ns };
        self.call(Call::new(Method::POST, &["links"]).json(&body)?).await
    }

    /// One page of the links the caller may revoke: those on what they own, whoever made them,
    /// and those they made; each says where its target is now and whether it still opens.
    pub async fn links(&self, paging: &LinkPaging) -> Result<LinkPage, ClientError> {
        self.call(Call::new(Method::GET, &["links"]).query(paging)?).await
    }

    /// Revokes a link (its maker may, and so may the owner of what it opens).
    pub async fn revoke_link(&self, id: &str) -> Result<(), ClientError> {
        self.nodes.send(&Call::new(Method::DELETE, &["links", id]).idempotent()).await?;
        Ok(())
    }

    /// What a link shows, as anyone holding it sees it (no token sent).
    pub async fn open_link(&self, id: &str, password: Option<&str>) -> Result<LinkTree, ClientError> {
        let mut call = Call::new(Method::GET, &["links", id]);
        if let Some(password) = password {
            call = call.header(LINK_PASSWORD, password)?;
        }
        self.nodes.send_anonymous(&call).await?.json()
    }
}
