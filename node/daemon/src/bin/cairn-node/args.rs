//! The command line: every subcommand and its arguments, as clap parses them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cairn_raft::NodeId;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cairn-node", version, about = "A cairn storage node and its cluster's admin commands")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start a new cluster with this node as its first member: creates the cluster CA, this
    /// node's certificate and the master key in `secrets_dir`, and the Raft state in `data_dir`.
    Init {
        /// The node's config file.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Issue the certificate of another node, with the CA key in this node's `secrets_dir`;
    /// with --api, also the certificate its HTTPS API serves.
    IssueCert {
        /// A config whose `secrets_dir` holds `ca.key`.
        #[arg(short, long)]
        config: PathBuf,
        /// The id of the node to issue for.
        #[arg(long)]
        id: NodeId,
        /// The node's `network.api` address: also issue its HTTPS API certificate
        /// (node-<id>-api.crt/.key), replacing an older one. An existing node certificate is
        /// then kept, so this also renews the API certificate of a node that has one.
        #[arg(long)]
        api: Option<SocketAddr>,
        /// A further DNS name or IP address clients reach the node's API by, as in its
        /// `network.api_names` (repeat for several).
        #[arg(long = "api-name", requires = "api")]
        api_names: Vec<String>,
    },
    /// Run the node until it gets SIGINT or SIGTERM.
    Start {
        /// The node's config file.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Show the cluster's members, leader, term, applied index and health.
    Status {
        /// The config of the node to ask.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Change the cluster's membership.
    Member {
        #[command(subcommand)]
        change: MemberChange,
    },
    /// Rolling upgrades: the cluster version and the release each member runs.
    Upgrade {
        #[command(subcommand)]
        step: UpgradeStep,
    },
    /// Mint a single-use token for a new machine to join the cluster with `cairn-node join`
    /// (printed once; the cluster keeps only its hash). `join-token list` and
    /// `join-token revoke ID` manage the tokens minted.
    #[command(args_conflicts_with_subcommands = true)]
    JoinToken {
        #[command(subcommand)]
        action: Option<JoinTokenAction>,
        #[command(flatten)]
        mint: MintArgs,
    },
    /// Join this machine to a cluster: make its keys here, have a member sign them (the channel
    /// is pinned to the CA the token names), store the certificates and the master key, and
    /// become a member. Then start the node as usual.
    Join {
        /// The new node's config file (its id, addresses, zone and folders).
        #[arg(short, long)]
        config: PathBuf,
        /// The token from `cairn-node join-token` on a member.
        #[arg(long, env = "CAIRN_JOIN_TOKEN", hide_env_values = true)]
        token: String,
        /// A member's HTTPS API address, HOST:PORT, whose node holds the CA key.
        #[arg(long)]
        peer: String,
    },
    /// Renew this node's certificates (node and API) before they end: new keys made here,
    /// signed by a member that holds the CA key, over the cluster's own authenticated
    /// connection. The old pair is kept as *.old; the node uses the new one from its next start.
    RenewCert {
        /// The node's config file.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Manage the drive's users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Set how long every user's change journal keeps changes (30 days until set); a client
    /// whose cursor is older is told to resync (`cursor_expired`).
    JournalRetention {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// Keep changes this many days.
        #[arg(long, required_unless_present = "ms", conflicts_with = "ms")]
        days: Option<u64>,
        /// Keep changes this many milliseconds instead (for tests).
        #[arg(long)]
        ms: Option<u64>,
    },
    /// Check config files and print what they resolve to. Given the configs of several nodes
    /// of one cluster, also check their layout as a whole: unique ids and addresses, enough
    /// nodes for every profile, and no zone whose loss would lose blocks.
    CheckConfig {
        /// The files.
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// Write a consistent backup of the cluster's metadata to one file, taken by a running node
    /// at a linearizable point (every write acknowledged before the command started is in it),
    /// without stopping the cluster. Prints the Raft index it holds. Blocks are not in it.
    Backup {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The file to write (written beside it as OUT.partial, then renamed).
        out: PathBuf,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Seed a new cluster from a backup, on a node whose data_dir holds no Raft state: the node
    /// becomes its only voter; `start` it, then add nodes as usual. Its secrets_dir must hold
    /// the old cluster's ca.crt, ca.key and master.key (a backup carries no secrets).
    Restore {
        /// The node's config file.
        #[arg(short, long)]
        config: PathBuf,
        /// The backup file.
        backup: PathBuf,
    },
    /// When a majority of voters is lost for good: make this STOPPED node the only voter of a
    /// new cluster from its own state. Its old Raft state is moved aside, not deleted.
    Recover {
        /// The node's config file.
        #[arg(short, long)]
        config: PathBuf,
        /// Required: says you mean to start a new cluster from this node.
        #[arg(long)]
        force_new_cluster: bool,
        /// Do not ask for confirmation on the terminal.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(clap::Args)]
pub struct MintArgs {
    /// The config of a running member to ask.
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// How long the token works: a number and s, m, h or d (at most 7d).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// The node joins as a voter once caught up (the default).
    #[arg(long, conflicts_with = "storage")]
    pub voter: bool,
    /// The node joins as a learner that stores shards but never votes.
    #[arg(long)]
    pub storage: bool,
}

#[derive(Subcommand)]
pub enum JoinTokenAction {
    /// List the join tokens: unused, or used or expired in the last week.
    List {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Revoke a join token by its id (or the first 8 or more digits of it), from `list`.
    Revoke {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The token's id.
        id: String,
    },
}

/// `90s`, `15m`, `1h`, `2d` → a duration.
fn parse_ttl(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("{text:?}: give a number and s, m, h or d, e.g. 1h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d, e.g. 1h")),
    };
    let ttl = Duration::from_secs(number.saturating_mul(seconds));
    if ttl.is_zero() || ttl > Duration::from_secs(7 * 86_400) {
        return Err(format!("{text:?}: a join token lives between 1s and 7d"));
    }
    Ok(ttl)
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Create a user and print an API token for them (shown once; only its hash is stored).
    Add {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The login name: 1–64 characters of a-z 0-9 . _ -
        name: String,
        /// Let them create users and tokens through the API.
        #[arg(long)]
        admin: bool,
        /// What the token is for.
        #[arg(long, default_value = "cairn-node user add")]
        label: String,
    },
    /// Set a user's password (read without echo, or from the first line of standard input when
    /// it is not a terminal); their sessions made with the old one end.
    Passwd {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The user.
        name: String,
    },
    /// Disable a user: their tokens and sessions are refused at once, on every node.
    Disable {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The user.
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The user.
        name: String,
    },
    /// List a user's API tokens and sessions (by id; the tokens themselves are never stored).
    Tokens {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The user.
        name: String,
    },
    /// Revoke one of a user's tokens by its id, from `user tokens`.
    Revoke {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The user.
        name: String,
        /// The token's id.
        id: String,
    },
}

/// A step of a rolling upgrade.
#[derive(Subcommand)]
pub enum UpgradeStep {
    /// The cluster version in force, and the release and cluster versions of every member.
    Status {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Raise the cluster version once every member runs the new release, which turns on the
    /// features that need it; after this the previous release cannot be put back. The leader
    /// does it by itself unless `upgrade.auto_finalize = false`.
    Finalize {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum MemberChange {
    /// Add a node as a learner, wait until it has caught up, and with --voter make it a voter.
    Add {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The new node's id.
        #[arg(long)]
        id: NodeId,
        /// The new node's QUIC address.
        #[arg(long)]
        addr: SocketAddr,
        /// The new node's HTTP API address.
        #[arg(long)]
        api: SocketAddr,
        /// Make it a voter once it has caught up.
        #[arg(long)]
        voter: bool,
    },
    /// Make a learner a voter.
    Promote {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The learner's id.
        #[arg(long)]
        id: NodeId,
    },
    /// Empty a node before it leaves: placement stops choosing it, and the leader moves each
    /// of its shards to another node at `storage.rebalance_bytes_per_sec`, while reads and
    /// writes go on. Progress shows in `status`; then `member remove` it.
    Drain {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The node's id.
        #[arg(long)]
        id: NodeId,
        /// Wait, showing progress, until no block has a shard on the node.
        #[arg(long, conflicts_with = "cancel")]
        wait: bool,
        /// Stop draining: the node takes shards again.
        #[arg(long)]
        cancel: bool,
    },
    /// Remove a node from the cluster. A node that still holds shards is refused unless
    /// --force: drain it first so that no block is ever short of a shard.
    Remove {
        /// The config of a running member to ask.
        #[arg(short, long)]
        config: PathBuf,
        /// The node's id.
        #[arg(long)]
        id: NodeId,
        /// Remove it even if blocks still have shards on it (a dead node): they are one shard
        /// short until repair rebuilds them elsewhere.
        #[arg(long)]
        force: bool,
    },
}
