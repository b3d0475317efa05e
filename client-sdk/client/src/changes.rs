//! The change journal, typed: the cursor to start from after a full listing, and pages of
//! changes after a cursor, waiting for one with a long poll. A poll whose node dies is sent
//! again to the next node with the same cursor (the journal is Raft state, so nothing is
//! missed); a cursor the journal no longer covers fails with code `cursor_expired`, and the
//! caller resyncs from a full listing and [`Client::latest_cursor`].

use std::time::Duration;

use cairn_proto::api::changes::MAX_POLL_MS;
use cairn_proto::api::{ChangePage, ChangesQuery, CursorView};
use reqwest::Method;

use crate::nodes::Call;
use crate::{Client, ClientError};

impl Client {
    /// The seq of the caller's newest change (0: none yet): the cursor to follow changes from
    /// after listing the whole tree.
    pub async fn latest_cursor(&self) -> Result<u64, ClientError> {
        let view: CursorView = self.call(Call::new(Method::GET, &["changes", "latest"])).await?;
        Ok(view.cursor)
    }

    /// The caller's changes after `cursor` (at most `limit`, default and at most 1 000). With
    /// none yet and a `timeout`, the node waits up to that long (at most a minute) for one, and
    /// answers an empty page with the same cursor if none came. The wait is not cut by the
    /// client's read timeout; the client gives an attempt the wait plus its read timeout.
    pub async fn changes(
        &self,
        cursor: u64,
        timeout: Option<Duration>,
        limit: Option<usize>,
    ) -> Result<ChangePage, ClientError> {
        let wait = timeout.unwrap_or_default().min(Duration::from_millis(MAX_POLL_MS));
        let timeout_ms = timeout.map(|_| u64::try_from(wait.as_millis()).unwrap_or(MAX_POLL_MS));
        let query = ChangesQuery { cursor: Some(cursor), timeout_ms, limit };
        let mut call = Call::new(Method::GET, &["changes"]).query(&query)?;
        if !wait.is_zero() {
            call = call.timeout(wait + self.config.read_timeout);
        }
        self.call(call).await
    }
}
