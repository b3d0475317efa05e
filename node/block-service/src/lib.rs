//! The block service: every node stores clients' blocks as k+m shards spread over the cluster,
//! reads them back from any k, and keeps them whole.
//!
//! - [`write`]: verify, seal and code a block, place its shards, write them in parallel, record
//!   it in Raft — acknowledged once every shard is durable, or k+1 of them with the rest owed.
//! - [`read`]: fetch k shards in parallel, local first, hedging slow nodes, skipping bad ones.
//! - [`health`]: the leader pings every node and marks the silent ones down (and back up).
//! - [`repair`]: the leader rebuilds shards that live on nodes down past a grace period, or
//!   that were reported missing or corrupt.
//! - [`scrub`]: every node re-verifies its shards at a set pace, reports corrupt ones and deletes
//!   shards no block points to any more.
//! - [`gc`]: the leader deletes blocks no version has referenced for a grace period.
//! - [`rebalance`]: the leader moves shards to where placement puts them now: off draining
//!   nodes, onto new ones, at a set pace ([`pace`]).
//! - [`shards`], [`view`], [`messages`], [`stats`]: the calls, the cluster as seen, the wire
//!   format, the counters.
//! - [`storage_config`]: [`StorageConfig`], the node config's `[storage]` section.
//!
//! It sits on the metadata service (block records are proposed and read through it), placement,
//! the block codec, the shard store and the transport, and knows nothing of HTTP: the API is
//! built on it.

pub mod gc;
pub mod health;
pub mod messages;
pub mod pace;
pub mod read;
pub mod rebalance;
pub mod repair;
pub mod scrub;
pub mod shards;
pub mod stats;
pub mod step;
pub mod storage_config;
pub mod view;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;

use cairn_proto::{AccountId, BlockId, Clock};
use cairn_raft::NodeId;
use cairn_raft::model::block_index::BlockSet;
use cairn_raft::model::blocks::BlockRecord;
use cairn_raft::model::{Answer, Command, Query, RequestId, Response};
use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

pub use messages::{BlockError, BlockStored, RebalanceAsk, RebalanceReport};
pub use shards::{ShardClient, ShardFailure};
pub use stats::BlockCounters;
pub use storage_config::StorageConfig;
pub use view::ClusterView;

use cairn_block_codec::{BlockPipeline, EcProfile, MasterKey};
use cairn_metadata::{Batcher, BlockStats, MetaService};
use cairn_transport::{Request as WireRequest, Response as WireResponse};

/// Block records read per page when walking all of them.
const BLOCK_PAGE: usize = 500;

/// Memory is reserved in units of this many bytes, so a semaphore's permits cover gigabytes.
const MEMORY_UNIT: u64 = 64 * 1024;

/// A node's block service. Cheap to clone.
#[derive(Clone)]
pub struct BlockService {
    inner: Arc<Inner>,
}

struct Inner {
    meta: MetaService,
    batcher: Batcher,
    shards: ShardClient,
    master: MasterKey,
    config: StorageConfig,
    pipelines: Mutex<HashMap<(u8, u8), Arc<BlockPipeline>>>,
    memory: Semaphore,
    memory_units: u32,
    counters: BlockCounters,
    rebalance: rebalance::progress::RebalanceProgress,
    /// The node's time of day: how long a node has been down, how long a block unreferenced.
    clock: Clock,
}

impl std::fmt::Debug for BlockService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockService").field("node", &self.me()).finish_non_exhaustive()
    }
}

impl BlockService {
    /// The block service of the node running `meta`, proposing through `batcher`, storing
    /// through `shards`, sealing under `master`, telling the time by `clock`.
    pub fn new(
        meta: MetaService,
        batcher: Batcher,
        shards: ShardClient,
        master: MasterKey,
        config: StorageConfig,
        clock: Clock,
    ) -> Self {
        let units = u32::try_from(config.max_inflight_bytes / MEMORY_UNIT).unwrap_or(u32::MAX).max(1);
        Self {
            inner: Arc::new(Inner {
                meta,
                batcher,
                shards,
                master,
                config,
                pipelines: Mutex::new(HashMap::new()),
                memory: Semaphore::new(units as usize),
                memory_units: units,
                counters: BlockCounters::default(),
                rebalance: Default::default(),
                clock,
            }),
        }
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.inner.shards.me()
    }

    /// The counters of this node's block work, with its store's usage.
    pub async fn stats(&self) -> BlockStats {
        let mut stats = self.inner.counters.snapshot();
        if let Ok(usage) = shards::run_on_store(self.inner.shards.store(), |s| s.usage()).await {
            stats.shards_held = usage.shards;
            stats.shard_bytes = usage.used_bytes;
            stats.store_background_errors = usage.background_errors;
        }
        stats
    }

    /// Plaintext bytes of the blocks this node has read for anyone since it started: what an
    /// upload or a download made it read, as Prometheus' `cairn_block_bytes_read_total`.
    pub fn bytes_read(&self) -> u64 {
        self.inner.counters.bytes_read()
    }

    /// Blocks this node stored whole in metadata (small blocks, no shards) since it started,
    /// as Prometheus' `cairn_blocks_written_inline_total`.
    pub fn inline_blocks_written(&self) -> u64 {
        self.inner.counters.inline_blocks_written()
    }

    /// The node's metadata service.
    pub fn meta(&self) -> &MetaService {
        &self.inner.meta
    }

    /// The node's storage settings.
    pub fn config(&self) -> &StorageConfig {
        &self.inner.config
    }

    pub(crate) fn shards(&self) -> &ShardClient {
        &self.inner.shards
    }

    pub(crate) fn counters(&self) -> &BlockCounters {
        &self.inner.counters
    }

    /// The leader's rebalance progress (empty on a follower).
    pub fn rebalance_progress(&self) -> &rebalance::progress::RebalanceProgress {
        &self.inner.rebalance
    }

    /// The node's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The pipeline for stripes of `k+m`.
    pub(crate) fn pipeline(&self, profile: EcProfile) -> Arc<BlockPipeline> {
        let shape = (profile.data_shards() as u8, profile.parity_shards() as u8);
        self.inner
            .pipelines
            .lock()
            .entry(shape)
            .or_insert_with(|| Arc::new(BlockPipeline::new(self.inner.master.clone(), profile)))
            .clone()
    }

    /// Waits until `bytes` of block memory are free and holds them until the permit drops:
    /// the back-pressure that keeps many concurrent multi-MiB blocks from growing memory.
    pub(crate) async fn reserve(&self, bytes: u64) -> Result<SemaphorePermit<'_>, BlockError> {
        // A call larger than the whole budget waits for all of it rather than forever.
        let units = bytes.div_ceil(MEMORY_UNIT).clamp(1, u64::from(self.inner.memory_units));
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        self.inner.memory.acquire_many(units).await.map_err(|_| BlockError::Refused("shutting down".into()))
    }

    /// The next page of the block records of `set` after `after`, from this node's state: how
    /// repair, GC and rebalance walk the blocks that concern them. `None` when the walk is done
    /// (or the state unreadable).
    pub(crate) fn block_page(
        &self,
        set: BlockSet,
        after: Option<(AccountId, BlockId)>,
    ) -> Option<Vec<(AccountId, BlockId, BlockRecord)>> {
        match self.meta().local(&Query::BlocksIn { set, after, limit: BLOCK_PAGE }) {
            Ok(Answer::Blocks(page)) if !page.is_empty() => Some(page),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read block records");
                None
            }
        }
    }

    /// Every node some block has a shard on, from this node's state.
    pub(crate) fn shard_nodes(&self) -> Vec<NodeId> {
        match self.meta().local(&Query::ShardNodes) {
            Ok(Answer::ShardNodes(nodes)) => nodes,
            other => {
                tracing::warn!(answer = ?other, "could not read which nodes hold shards");
                Vec::new()
            }
        }
    }

    /// Proposes one command, under a random request id, and returns its response.
    pub(crate) async fn propose(&self, command: Command) -> Result<Response, BlockError> {
        self.inner.batcher.propose_one(RequestId(rand::random()), command).await.map_err(BlockError::Metadata)
    }

    /// Answers a block-layer call from a peer or a client. Shard calls and pings are for nodes
    /// only; block calls for any cluster certificate.
    pub async fn handle(&self, request: WireRequest, from_node: bool) -> WireResponse {
        let kind = request.kind;
        match kind {
            messages::KIND_SHARD_PUT
            | messages::KIND_SHARD_GET
            | messages::KIND_SHARD_DELETE
            | messages::KIND_PING => {
                if !from_node {
                    let refused = messages::ShardCallError::Refused("shard calls are for nodes only".into());
                    return WireResponse::new(kind, messages::encode(&Err::<(), _>(refused), &[]));
                }
                shards::serve(self.inner.shards.store(), kind, request.payload).await
            }
            messages::KIND_BLOCK_PUT => {
                let result = match messages::decode::<messages::BlockPut>(&request.payload) {
                    Ok((put, body)) => self.put(put.account, put.id, body).await,
                    Err(why) => Err(BlockError::Refused(why)),
                };
                WireResponse::new(kind, messages::encode(&result, &[]))
            }
            messages::KIND_BLOCK_GET => {
                let result = match messages::decode::<messages::BlockGet>(&request.payload) {
                    Ok((get, _)) => self.get(get.account, get.id).await,
                    Err(why) => Err(BlockError::Refused(why)),
                };
                match result {
                    Ok(plain) => WireResponse::new(
                        kind,
                        messages::encode(&Ok::<u32, BlockError>(plain.len() as u32), &plain),
                    ),
                    Err(e) => WireResponse::new(kind, messages::encode(&Err::<u32, _>(e), &[])),
                }
            }
            messages::KIND_REBALANCE => {
                let result = match messages::decode::<RebalanceAsk>(&request.payload) {
                    Ok((ask, _)) => self.rebalance_report(ask).await,
                    Err(why) => Err(BlockError::Refused(why)),
                };
                WireResponse::new(kind, messages::encode(&result, &[]))
            }
            other => WireResponse::new(
                kind,
                messages::encode(
                    &Err::<(), _>(BlockError::Refused(format!("unknown block call {other}"))),
                    &[],
                ),
            ),
        }
    }
}

/// Whether a transport kind belongs to the block layer.
pub fn is_block_kind(kind: u8) -> bool {
    (messages::KIND_SHARD_PUT..=messages::KIND_REBALANCE).contains(&kind)
}
