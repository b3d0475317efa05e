//! `cairn-node`: run a cairn node and administer its cluster.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cairn_metadata::AdminCommand;
use cairn_node::api_cert;
use cairn_node::api_names::{self, ApiName};
use cairn_node::{
    NodeConfig, RunningNode, SecretsDir, SecretsError, admin, backup, drain, join, layout, upgrade,
    user_admin,
};
use cairn_proto::Clock;
use cairn_raft::model::join_tokens::JoinRole;
use cairn_raft::{NodeAddr, NodeId};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cairn-node", version, about = "A cairn storage node and its cluster's admin commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
struct MintArgs {
    /// The config of a running member to ask.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// How long the token works: a number and s, m, h or d (at most 7d).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
    /// The node joins as a voter once caught up (the default).
    #[arg(long, conflicts_with = "storage")]
    voter: bool,
    /// The node joins as a learner that stores shards but never votes.
    #[arg(long)]
    storage: bool,
}

#[derive(Subcommand)]
enum JoinTokenAction {
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
enum UserAction {
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
enum UpgradeStep {
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
enum MemberChange {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread runs a node's async work (Raft, transport, service) and its short storage
    // calls; long work goes to tokio's blocking pool. On the 2-core machines cairn targets this
    // measured faster than a multi-threaded runtime: no wake-ups across threads on the commit
    // path (BENCHMARKS.md).
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Loads a config and sets up logging: at the config's level for a node, at `warn` for the
/// admin commands (their output is what they print), unless `RUST_LOG` says otherwise.
fn load_for(path: &std::path::Path, daemon: bool) -> Result<NodeConfig> {
    let config = NodeConfig::load(path)?;
    let level = if daemon { config.log.as_str() } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .map_err(|e| format!("{}: log: {e}", path.display()))?;
    // Only the first call installs a subscriber; later ones (none today) would be ignored.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    Ok(config)
}

fn load(path: &std::path::Path) -> Result<NodeConfig> {
    load_for(path, false)
}

async fn run(command: Command) -> Result {
    match command {
        Command::Init { config } => init(&load_for(&config, true)?).await,
        Command::IssueCert { config, id, api, api_names } => issue_cert(&load(&config)?, id, api, &api_names),
        Command::Start { config } => start(&load_for(&config, true)?).await,
        Command::Status { config } => {
            let config = load(&config)?;
            let (view, reports) = admin::cluster_status(&config).await?;
            print!("{}", admin::render_status(&view, &reports));
            print!("{}", admin::render_layout(&config, &reports));
            if let Ok(report) = drain::report(&config, None).await {
                print!("{}", drain::render(&report));
            }
            warn_of_expiring_certificates(&config)
        }
        Command::Member { change } => member(change).await,
        Command::Upgrade { step: UpgradeStep::Status { config } } => {
            print!("{}", upgrade::render(&upgrade::status(&load(&config)?).await?));
            Ok(())
        }
        Command::Upgrade { step: UpgradeStep::Finalize { config } } => {
            let report = upgrade::finalize(&load(&config)?).await?;
            println!("the cluster runs at version {}", report.cluster_version);
            Ok(())
        }
        Command::User { action } => user(action).await,
        Command::JoinToken { action, mint } => join_token(action, mint).await,
        Command::RenewCert { config } => {
            let config = load(&config)?;
            join::renew::renew(&config).await?;
            let cert = config.secrets_dir.join(format!("node-{}.crt", config.id));
            let ends = cairn_transport::cert_not_after(&std::fs::read_to_string(&cert)?)?;
            println!(
                "renewed {} (valid until {}); restart the node to use it: systemctl restart cairn-node",
                cert.display(),
                httpdate::fmt_http_date(ends)
            );
            Ok(())
        }
        Command::Join { config, token, peer } => {
            let config = load_for(&config, false)?;
            let joined = join::joiner::join(&config, &token, &peer, |step| println!("{step}")).await?;
            println!(
                "node {} joined as {} (the cluster has {} members now); start it: \
                 `cairn-node start -c <this config>`, or `systemctl enable --now cairn-node` with the package",
                config.id,
                match joined.role {
                    JoinRole::Voter => "a voter",
                    JoinRole::Storage => "a storage node (a learner that never votes)",
                },
                joined.members + 1
            );
            Ok(())
        }
        Command::JournalRetention { config, days, ms } => {
            let ms = match (days, ms) {
                (Some(days), _) => days.checked_mul(24 * 60 * 60 * 1000).ok_or("--days is too large")?,
                (None, Some(ms)) => ms,
                (None, None) => return Err("give --days or --ms".into()),
            };
            admin::set_journal_retention(&load(&config)?, ms).await?;
            println!("journal retention: {ms} ms ({:.2} days)", ms as f64 / 86_400_000.0);
            Ok(())
        }
        Command::CheckConfig { configs: paths } => {
            let mut configs = Vec::new();
            for path in paths {
                let config = NodeConfig::load(&path)?;
                println!(
                    "{}: node {} in zone {}, quic {}, api {}://{}, data {}",
                    path.display(),
                    config.id,
                    config.zone,
                    config.advertised(),
                    if config.network.api_tls { "https" } else { "http" },
                    config.network.api,
                    config.data_dir.display()
                );
                configs.push(config);
            }
            if configs.len() > 1 {
                for line in layout::check(&configs)? {
                    println!("{line}");
                }
            }
            Ok(())
        }
        Command::Backup { config, out, force } => {
            let header = backup::take::take(&load(&config)?, &out, force, Clock::system().now_ms()).await?;
            println!(
                "metadata backup at index {} (term {}), taken by node {}: {} ({} bytes)",
                header.index,
                header.term,
                header.node,
                out.display(),
                header.body_len
            );
            Ok(())
        }
        Command::Restore { config, backup: file } => {
            let config = load(&config)?;
            let restored = backup::restore::restore(&config, &file, Clock::system().now_ms())?;
            let h = &restored.header;
            println!("restored the backup at index {} (term {}) taken {}", h.index, h.term, h.taken);
            print!("{}", backup::render_seeded(config.id, &restored.seeded));
            Ok(())
        }
        Command::Recover { config, force_new_cluster, yes } => {
            let config = load(&config)?;
            if !force_new_cluster {
                return Err("recover starts a new cluster from this node alone: give --force-new-cluster \
                            if a majority of the voters is lost for good (README: disaster recovery)"
                    .into());
            }
            eprintln!("{}", backup::recover::warning(&config));
            if !yes && !backup::recover::confirm(&config)? {
                return Err("not confirmed: nothing changed".into());
            }
            let recovered = backup::recover::recover(&config, Clock::system().now_ms()).await?;
            println!(
                "kept everything node {} had applied{}; its old Raft state is in {}",
                config.id,
                match (recovered.replayed, recovered.dropped) {
                    (0, 0) => String::new(),
                    (r, 0) => format!(", and applied {r} entries it knew committed"),
                    (r, d) => format!(
                        ", and applied {r} entries it knew committed; dropped {d} it never knew committed"
                    ),
                },
                recovered.aside.display()
            );
            print!("{}", backup::render_seeded(config.id, &recovered.seeded));
            Ok(())
        }
    }
}

async fn init(config: &NodeConfig) -> Result {
    if config.data_dir.join("raft-log").exists() {
        return Err(format!(
            "{} already holds a node's data; init starts new clusters only",
            config.data_dir.display()
        )
        .into());
    }
    let secrets = SecretsDir::new(&config.secrets_dir);
    secrets.create_cluster("cairn")?;
    secrets.issue_node(config.id)?;
    if config.network.api_tls {
        secrets.issue_api(config.id, &api_cert::wanted_for(config))?;
    }
    let node = RunningNode::start(config).await?;
    let result = node.initialise_alone(config).await;
    node.shutdown().await;
    result?;
    println!("initialised a new cluster with node {} as its first member", config.id);
    println!("  secrets: {} (keep ca.key and master.key safe)", config.secrets_dir.display());
    if config.network.api_tls {
        println!(
            "  api:     https://{} (clients trust {})",
            config.network.api,
            config.secrets_dir.join("ca.crt").display()
        );
    }
    println!("  data:    {}", config.data_dir.display());
    println!(
        "next: cairn-node start -c <this config>; then, for each further machine, mint a token here with \
         `cairn-node join-token -c <this config>` and run `cairn-node join` there (README: deploy on three or more machines)"
    );
    Ok(())
}

/// `issue-cert`: node `id`'s certificate and, given its API address, its API certificate.
fn issue_cert(config: &NodeConfig, id: NodeId, api: Option<SocketAddr>, api_names: &[String]) -> Result {
    let secrets = SecretsDir::new(&config.secrets_dir);
    let dir = config.secrets_dir.display();
    let Some(api) = api else {
        secrets.issue_node(id)?;
        println!("issued node-{id}.crt and node-{id}.key in {dir}");
        println!(
            "node {id} also needs an API certificate to serve HTTPS (network.api_tls, the default): \
             run this again with --api <its network.api> [--api-name <name>]..."
        );
        return Ok(());
    };
    let extra = api_names
        .iter()
        .map(|name| ApiName::parse(name).map_err(|e| format!("--api-name: {e}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    match secrets.issue_node(id) {
        Ok(()) => println!("issued node-{id}.crt and node-{id}.key in {dir}"),
        Err(SecretsError::Exists(path)) => println!("kept {} (exists)", path.display()),
        Err(e) => return Err(e.into()),
    }
    let names = api_names::wanted_names(api, &extra);
    secrets.issue_api(id, &names)?;
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    println!("issued node-{id}-api.crt and node-{id}-api.key in {dir} for {}", names.join(", "));
    Ok(())
}

/// How long before a certificate ends `status` starts to warn of it.
const CERT_WARNING: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Warns, after the status, of this machine's certificates that end within [`CERT_WARNING`]:
/// past that date its peers or its clients refuse it.
fn warn_of_expiring_certificates(config: &NodeConfig) -> Result {
    let now = std::time::SystemTime::now();
    for (path, not_after) in SecretsDir::new(&config.secrets_dir).expiring(now + CERT_WARNING)? {
        let days = not_after.duration_since(now).map_or(0, |left| left.as_secs() / 86_400);
        let when = format!("{} ends in {days} days ({})", path.display(), httpdate::fmt_http_date(not_after));
        if path.file_name().is_some_and(|name| name == "ca.crt") {
            println!(
                "warning: the cluster CA {when}: after it, nodes and clients trust no certificate of it"
            );
        } else {
            println!(
                "warning: {when}: renew it with `cairn-node renew-cert -c <the node's config>` on its \
                 machine, then restart that node"
            );
        }
    }
    Ok(())
}

async fn start(config: &NodeConfig) -> Result {
    // Block and shard buffers are reused, not returned to the kernel after every block.
    cairn_node::allocator::keep_freed_buffers();
    // A key others may read is refused before anything starts: see `secrets`.
    SecretsDir::new(&config.secrets_dir).check_private_keys(config.id)?;
    let node = RunningNode::start(config).await?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    node.shutdown().await;
    Ok(())
}

async fn user(action: UserAction) -> Result {
    match action {
        UserAction::Add { config, name, admin, label } => {
            let created = admin::add_user(&load(&config)?, &name, admin, &label).await?;
            println!("user {name} (id {}){}", created.user.0, if admin { ", administrator" } else { "" });
            println!("token: {}", created.token);
        }
        UserAction::Passwd { config, name } => {
            let password = if std::io::stdin().is_terminal() {
                let first = rpassword::prompt_password(format!("new password for {name}: "))?;
                if rpassword::prompt_password("again: ")? != first {
                    return Err("the two passwords differ: nothing changed".into());
                }
                first
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            };
            user_admin::set_password(&load(&config)?, &name, &password).await?;
            println!("password set for {name}; their older sessions have ended");
        }
        UserAction::Disable { config, name } => {
            user_admin::set_disabled(&load(&config)?, &name, true).await?;
            println!("{name} is disabled");
        }
        UserAction::Enable { config, name } => {
            user_admin::set_disabled(&load(&config)?, &name, false).await?;
            println!("{name} is enabled");
        }
        UserAction::Tokens { config, name } => {
            print!("{}", user_admin::tokens(&load(&config)?, &name).await?)
        }
        UserAction::Revoke { config, name, id } => {
            user_admin::revoke(&load(&config)?, &name, &id).await?;
            println!("revoked token {id} of {name}");
        }
    }
    Ok(())
}

async fn join_token(action: Option<JoinTokenAction>, mint: MintArgs) -> Result {
    match action {
        Some(JoinTokenAction::List { config }) => {
            let list = join::tokens::list(&load(&config)?).await?;
            print!("{}", join::tokens::render(&list, std::time::SystemTime::now()));
            Ok(())
        }
        Some(JoinTokenAction::Revoke { config, id }) => {
            let hash = join::tokens::revoke(&load(&config)?, &id).await?;
            println!("revoked join token {}", &hash.to_hex()[..16]);
            Ok(())
        }
        None => {
            let config = load(&mint.config.ok_or("give the config of a running member: -c node.toml")?)?;
            let role = if mint.storage { JoinRole::Storage } else { JoinRole::Voter };
            let minted = join::tokens::mint(&config, role, mint.ttl).await?;
            println!("{}", minted.token.to_text());
            if !SecretsDir::new(&config.secrets_dir).has_ca_key() {
                eprintln!(
                    "note: this node holds no CA key and cannot sign the join; give --peer a node that \
                     holds ca.key (the first node, unless you copied it elsewhere)"
                );
            }
            eprintln!(
                "a single-use {role} token, until {}. On the new machine, with its own node.toml:\n  \
                 cairn-node join -c node.toml --peer {} --token <the token>",
                httpdate::fmt_http_date(minted.expires),
                peer_address(&config)
            );
            Ok(())
        }
    }
}

/// The address a new machine reaches this node's API by, for the join hint: the listening
/// address unless it is every address (0.0.0.0), then the first name the API certificate
/// carries, else the address peers dial.
fn peer_address(config: &NodeConfig) -> String {
    let api = config.network.api;
    if !api.ip().is_unspecified() {
        return api.to_string();
    }
    match config.network.api_names.first() {
        Some(name) if name.contains(':') => format!("[{name}]:{}", api.port()),
        Some(name) => format!("{name}:{}", api.port()),
        None => format!("{}:{}", config.advertised().ip(), api.port()),
    }
}

async fn member(change: MemberChange) -> Result {
    match change {
        MemberChange::Add { config, id, addr, api, voter } => {
            let config = load(&config)?;
            let node = NodeAddr { raft_addr: addr.to_string(), api_addr: api.to_string() };
            admin::change_membership(&config, AdminCommand::AddLearner { id, addr: node }).await?;
            println!("node {id} added as a learner; waiting for it to catch up");
            let mut last = None;
            admin::wait_caught_up(&config, id, Duration::from_secs(600), |matched, goal| {
                if last != Some(matched) {
                    println!("  node {id}: {matched} of {goal} entries");
                    last = Some(matched);
                }
            })
            .await?;
            if voter {
                admin::change_membership(&config, AdminCommand::Promote { id }).await?;
                println!("node {id} is a voter");
            }
            Ok(())
        }
        MemberChange::Promote { config, id } => {
            admin::change_membership(&load(&config)?, AdminCommand::Promote { id }).await?;
            println!("node {id} is a voter");
            Ok(())
        }
        MemberChange::Drain { config, id, wait, cancel } => {
            let config = load(&config)?;
            drain::mark(&config, id, cancel).await?;
            if cancel {
                println!("node {id} takes shards again");
                return Ok(());
            }
            println!(
                "node {id} is draining: its shards move to other nodes at up to {}/s (storage.rebalance_bytes_per_sec)",
                admin::human_bytes(config.storage.rebalance_bytes_per_sec)
            );
            if !wait {
                println!(
                    "follow it with `cairn-node status`; `member drain --id {id} --wait` waits for the end"
                );
                return Ok(());
            }
            let mut last = None;
            drain::wait_drained(&config, id, Duration::from_secs(600), |report| {
                let left = report.holding.map(|h| h.blocks);
                if left != last {
                    println!("  node {id}: {} blocks still have a shard there", left.unwrap_or(0));
                    last = left;
                }
            })
            .await?;
            println!("node {id} is drained: remove it with `cairn-node member remove --id {id}`");
            Ok(())
        }
        MemberChange::Remove { config, id, force } => {
            let config = load(&config)?;
            let parity = config.storage.profile.total_shards() - config.storage.profile.data_shards();
            match drain::check_removable(&config, id, parity).await {
                Ok(()) => {}
                Err(why) if force => eprintln!("warning: {why}"),
                Err(why) => return Err(why.into()),
            }
            admin::change_membership(&config, AdminCommand::Remove { id }).await?;
            println!("node {id} removed");
            Ok(())
        }
    }
}
