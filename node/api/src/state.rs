//! What every handler can reach: the node's two services, its clock and its limits, and the
//! one way the API proposes a write.

use cairn_block_service::BlockService;
use cairn_metadata::{Batcher, MetaService};
use cairn_proto::Clock;
use cairn_raft::model::{Answer, Command, Query, Request, RequestId, Response};

use crate::error::ApiError;
use crate::{idempotency, read_fence};

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) meta: MetaService,
    /// Writes go through the node's batcher, like every other proposal of this node.
    pub(crate) batcher: Batcher,
    pub(crate) blocks: BlockService,
    /// Memory held for requests' bytes, counted before it is held; uploads being patched.
    pub(crate) inflight: crate::inflight::Inflight,
    /// The largest body a simple upload takes (`network.api_max_upload_bytes`).
    pub(crate) max_upload_bytes: u64,
    /// The node's time of day: default modification times, expiries of links and uploads.
    pub(crate) clock: Clock,
    /// The caps on long polls and event streams, and those open now.
    pub(crate) watches: std::sync::Arc<crate::watch_limit::WatchLimits>,
    /// How long password sign-ins last (`[accounts]`).
    pub(crate) sessions: SessionLimits,
    /// The free disk that writes growing the drive leave alone.
    pub(crate) disk_room: std::sync::Arc<crate::disk_room::DiskRoom>,
}

impl ApiState {
    /// Proposes `command` (through the leader) and returns its response; a refusal of the model
    /// becomes its API error. Its request id comes from the request's `Idempotency-Key` if it
    /// has one (so a retry replays the first answer), else it is random; see [`crate::idempotency`].
    pub(crate) async fn propose(&self, command: Command) -> Result<Response, ApiError> {
        self.disk_room.admit([&command])?;
        let response = self.batcher.propose_one(idempotency::request_id(), command).await;
        read_fence::after_write();
        match response? {
            Response::Rejected(why) => Err(why.into()),
            other => Ok(other),
        }
    }

    /// Proposes `commands` in one Raft entry, so they apply together, in order, or (after a
    /// crash) not at all, and returns one response per command, refusals included, for the
    /// caller to tell apart. The entry may carry other callers' requests too (the batcher).
    /// Ids come from the `Idempotency-Key` as in [`Self::propose`].
    pub(crate) async fn propose_together(&self, commands: Vec<Command>) -> Result<Vec<Response>, ApiError> {
        let count = commands.len();
        self.disk_room.admit(&commands)?;
        let requests = commands
            .into_iter()
            .map(|command| Request { id: idempotency::request_id(), time_ms: 0, command })
            .collect();
        let responses = self.batcher.propose(requests).await;
        read_fence::after_write();
        let responses = responses?;
        if responses.len() != count {
            return Err(ApiError::internal("a proposal lost responses"));
        }
        Ok(responses)
    }

    /// Proposes `command` under a fresh request id, whatever the request's `Idempotency-Key`
    /// (one step of a longer exchange, such as a tus upload), and returns the model's answer as
    /// it is, refusals included, for the caller to tell them apart.
    pub(crate) async fn propose_step(&self, command: Command) -> Result<Response, ApiError> {
        self.disk_room.admit([&command])?;
        let response = self.batcher.propose_one(RequestId(rand::random()), command).await;
        read_fence::after_write();
        Ok(response?)
    }

    /// Answers `query` linearizably: after a read barrier, unless this request has passed one
    /// since its last write ([`read_fence`]).
    pub(crate) async fn query(&self, query: Query) -> Result<Answer, ApiError> {
        self.barrier().await?;
        Ok(self.meta.local(&query)?)
    }

    /// Waits until this node's state holds every write acknowledged before the request began
    /// (once per request, see [`read_fence`]); local reads after it are linearizable.
    pub(crate) async fn barrier(&self) -> Result<(), ApiError> {
        if !read_fence::passed() {
            self.meta.read_barrier().await?;
            read_fence::pass();
        }
        Ok(())
    }
}

/// How long sessions last, from the node's `[accounts]` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session ends when unused for this long (ms).
    pub idle_ms: u64,
    /// …and at the latest this long after sign-in (ms).
    pub max_ms: u64,
}
