//! Setting a node up and running it: `init`, `join`, `issue-cert`, `renew-cert`,
//! `check-config`, `start`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cairn_node::api_cert;
use cairn_node::api_names::{self, ApiName};
use cairn_node::{NodeConfig, RunningNode, SecretsDir, SecretsError, join, layout};
use cairn_raft::NodeId;
use cairn_raft::model::join_tokens::JoinRole;

use crate::load::{Result, load_for};

/// `init`: a new cluster with this node as its first member.
pub async fn init(config: &Path) -> Result {
    let config = &load_for(config, true)?;
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
pub fn issue_cert(config: &Path, id: NodeId, api: Option<SocketAddr>, api_names: &[String]) -> Result {
    let config = &load_for(config, false)?;
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

/// `start`: runs the node until SIGINT or SIGTERM.
pub async fn start(config: &Path) -> Result {
    let config = &load_for(config, true)?;
    // Block and shard buffers are reused, not returned to the kernel after every block, but
    // they are once the node goes quiet.
    cairn_node::allocator::keep_freed_buffers();
    tokio::spawn(cairn_node::allocator::trim_when_quiet());
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

/// `join`: this machine joins a cluster with a token minted by a member.
pub async fn join(config: &Path, token: &str, peer: &str) -> Result {
    let config = load_for(config, false)?;
    let joined = join::joiner::join(&config, token, peer, |step| println!("{step}")).await?;
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

/// `renew-cert`: a new node certificate before the old one ends.
pub async fn renew_cert(config: &Path) -> Result {
    let config = load_for(config, false)?;
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

/// `check-config`: parses configs, and checks several together as one cluster's layout.
pub fn check_config(paths: Vec<PathBuf>) -> Result {
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
