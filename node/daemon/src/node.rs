//! [`RunningNode`]: one node's storage, transport, Raft and service, started from its config.
//!
//! ```text
//! <data_dir>/
//!   raft-log/   the Raft log and vote (RocksDB, synced)
//!   state/      the metadata state machine (RocksDB generations and snapshots)
//!   shards/     this node's shards (RocksDB, synced, checksummed)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_proto::Clock;
use cairn_raft::storage::{RocksLogStore, RocksStateMachine};
use cairn_raft::{NodeId, TypeConfig};
use openraft::Raft;

use super::api_cert;
use super::config::NodeConfig;
use super::network_limits;
use super::secrets::{SecretsDir, SecretsError, private_dir};
use crate::handler::handler;
use cairn_api::ApiLimits;
use cairn_api::disk_room::DiskRoom;
use cairn_block_service::{BlockService, ShardClient, gc, health, rebalance, repair, scrub};
use cairn_metadata::raft_net::{Elector, RaftNetwork};
use cairn_metadata::{Batcher, MetaService, ServiceError, upgrade};
use cairn_shard_store::{SegmentShardStore, ShardStore, ShardStoreConfig};
use cairn_transport::{Transport, TransportError, TransportSettings};

/// Why a node could not start or be initialised.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A certificate, key or the master key is missing or wrong.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The QUIC endpoint could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The Raft log or state could not be opened.
    #[error("open {what} in {path}: {message}")]
    Storage {
        /// Which store.
        what: &'static str,
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
    /// The HTTP address could not be bound.
    #[error("listen on {addr} (network.api): {message}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        message: String,
    },
    /// The node's profile cannot survive the loss of a zone over the cluster's layout.
    #[error("{0}")]
    Layout(#[from] crate::layout::LayoutError),
    /// Raft refused to start or to be initialised.
    #[error("raft: {0}")]
    Raft(String),
    /// The node's data folder is already part of a cluster.
    #[error("{0} already holds a cluster's data; `init` only starts new clusters")]
    AlreadyInitialised(std::path::PathBuf),
    /// The open-file limit cannot hold the configured API connections.
    #[error("{0}")]
    OpenFiles(String),
}

/// A started node.
pub struct RunningNode {
    id: NodeId,
    raft: Raft<TypeConfig>,
    service: MetaService,
    blocks: BlockService,
    transport: Arc<Transport>,
    /// The block layer's background workers, stopped at shutdown.
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode").field("id", &self.id).finish_non_exhaustive()
    }
}

impl RunningNode {
    /// Opens the node's stores, binds its endpoint and starts Raft and the service.
    pub async fn start(config: &NodeConfig) -> Result<Self, NodeError> {
        // First, so a node that could not hold its connections says so before opening anything.
        let max_connections =
            network_limits::fit_connection_cap(&config.network).map_err(NodeError::OpenFiles)?;
        let secrets = SecretsDir::new(&config.secrets_dir);
        let identity = secrets.node_identity(config.id)?;
        // Checked (or issued) before anything is opened, so a node that could not serve its API
        // stops at once and says why.
        let api_tls = if config.network.api_tls { Some(api_cert::server_config_for(config)?) } else { None };
        // Loaded now so a node missing the key fails at start, not at its first block.
        let master = secrets.master_key()?;
        let log_dir = config.data_dir.join("raft-log");
        let state_dir = config.data_dir.join("state");
        // Private to the node's user (0700) before RocksDB makes anything inside them: the
        // metadata and shards are the cluster's data, if encrypted.
        for dir in [&config.data_dir, &log_dir, &state_dir, &config.data_dir.join("shards")] {
            private_dir(dir).map_err(|e| NodeError::Storage {
                what: "data folder",
                path: dir.clone(),
                message: e.to_string(),
            })?;
        }
        let log = RocksLogStore::open(&log_dir).map_err(|e| NodeError::Storage {
            what: "Raft log",
            path: log_dir.clone(),
            message: e.to_string(),
        })?;
        let state = RocksStateMachine::open(&state_dir).map_err(|e| NodeError::Storage {
            what: "metadata state",
            path: state_dir.clone(),
            message: e.to_string(),
        })?;
        let reader = state.reader();
        // The cluster as this node last saw it: a profile that cannot survive a zone's loss over
        // it is refused now, with the reason, rather than found out when a zone goes.
        let map = cairn_raft::model::cluster::cluster_map(&reader.view()).map_err(|e| {
            NodeError::Storage { what: "metadata state", path: state_dir.clone(), message: e.to_string() }
        })?;
        crate::layout::check_at_start(config, &map)?;
        let shard_dir = config.data_dir.join("shards");
        let store_config = ShardStoreConfig {
            capacity_bytes: config.storage.capacity_bytes,
            reserve_disk_bytes: config.storage.reserve_disk_bytes,
            ..ShardStoreConfig::new(&shard_dir)
        };
        // Shard bodies in segment files, written once; a store an older release kept in
        // RocksDB blob files opens as is and its shards are still served.
        let store: Arc<dyn ShardStore> = Arc::new(SegmentShardStore::open(store_config).map_err(|e| {
            NodeError::Storage { what: "shard store", path: shard_dir.clone(), message: e.to_string() }
        })?);
        // The block budget also bounds the block requests clients have in flight to this node.
        let settings = TransportSettings {
            max_client_inbound_bytes: config.storage.max_inflight_bytes,
            ..Default::default()
        };
        let transport = Arc::new(Transport::bind(config.network.listen, &identity, settings).await?);
        let raft_config = Arc::new(config.openraft().map_err(|e| NodeError::Raft(e.to_string()))?);
        let raft = Raft::new(config.id, raft_config, RaftNetwork::new(transport.clone()), log.clone(), state)
            .await
            .map_err(|e| NodeError::Raft(e.to_string()))?;
        // The one wall clock of the node: everything below that needs the time of day is handed
        // this, so a test can hand a fixed one instead.
        let clock = Clock::system();
        let service = MetaService::new(
            config.id,
            raft.clone(),
            reader,
            transport.clone(),
            config.call_timeout(),
            clock.clone(),
        );
        let batcher = Batcher::start(service.clone(), clock.clone());
        let shards = ShardClient::new(config.id, store, transport.clone(), config.call_timeout());
        let blocks = BlockService::new(
            service.clone(),
            batcher.clone(),
            shards,
            master,
            config.storage.clone(),
            clock.clone(),
        );
        let elector =
            Elector::start(config.id, raft.clone(), log, transport.clone(), config.election_times());
        transport.serve(handler(
            service.clone(),
            batcher.clone(),
            blocks.clone(),
            elector,
            config.secrets_dir.clone(),
        ));
        let spec = health::own_spec(
            &blocks,
            config.advertised().to_string(),
            config.network.api.to_string(),
            config.zone.clone(),
        );
        let limits = ApiLimits {
            max_upload_bytes: config.network.api_max_upload_bytes,
            sessions: config.accounts.session_limits(),
            max_watches_per_user: config.network.max_watches_per_user,
            max_watches: config.network.max_watches,
            disk_room: DiskRoom::new(
                config.data_dir.clone(),
                state_dir.join("snapshots"),
                config.storage.reserve_disk_bytes,
            ),
        };
        let join = crate::join::signer::routes(
            config.id,
            config.secrets_dir.clone(),
            service.clone(),
            batcher.clone(),
        );
        let router = cairn_api::router(service.clone(), batcher, blocks.clone(), limits, clock).merge(join);
        let api = config.network.api;
        if api_tls.is_none() && !api.ip().is_loopback() {
            tracing::warn!(
                %api,
                "the API serves plain HTTP on a non-loopback address: tokens and files cross \
                 the network unencrypted (network.api_tls = false)"
            );
        }
        let connections = config.network.connection_limits(max_connections);
        let http = cairn_api::server::serve(api, router, connections, api_tls)
            .await
            .map_err(|e| NodeError::Listen { addr: api, message: e.to_string() })?;
        let mut workers = vec![
            http,
            tokio::spawn(health::register_self(blocks.clone(), spec)),
            tokio::spawn(health::run(blocks.clone())),
            tokio::spawn(repair::run(blocks.clone())),
            tokio::spawn(rebalance::run(blocks.clone())),
            tokio::spawn(scrub::run(blocks.clone())),
            tokio::spawn(gc::run(blocks.clone())),
        ];
        workers.push(tokio::spawn(upgrade::watch(service.clone(), config.upgrade.auto_finalize)));
        tracing::info!(
            id = config.id,
            listen = %config.network.listen,
            api = %format_args!("{}://{api}", if config.network.api_tls { "https" } else { "http" }),
            zone = %config.zone,
            "node started"
        );
        Ok(Self { id: config.id, raft, service, blocks, transport, workers })
    }

    /// Makes this node the first and only member of a new cluster, and waits until it leads.
    pub async fn initialise_alone(&self, config: &NodeConfig) -> Result<(), NodeError> {
        let already = self.raft.metrics().borrow().last_log_index.is_some();
        if already {
            return Err(NodeError::AlreadyInitialised(config.data_dir.clone()));
        }
        let members = BTreeMap::from([(config.id, config.node_addr())]);
        self.raft.initialize(members).await.map_err(|e| NodeError::Raft(e.to_string()))?;
        self.raft
            .wait(Some(config.call_timeout()))
            .current_leader(self.id, "the first member leads")
            .await
            .map_err(|e| NodeError::Raft(e.to_string()))?;
        // A new cluster has no member of an older release: it starts at this release's version.
        match self.service.finalize_upgrade_here().await {
            Ok(_) | Err(ServiceError::Upgrade(_)) => Ok(()),
            Err(e) => Err(NodeError::Raft(format!("set the cluster version: {e}"))),
        }
    }

    /// The node's service.
    pub fn service(&self) -> &MetaService {
        &self.service
    }

    /// The node's block service.
    pub fn blocks(&self) -> &BlockService {
        &self.blocks
    }

    /// Stops the workers and Raft and closes the endpoint, telling peers.
    pub async fn shutdown(self) {
        for worker in &self.workers {
            worker.abort();
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("raft did not shut down cleanly: {e}");
        }
        self.transport.shutdown().await;
        tracing::info!(id = self.id, "node stopped");
    }
}
