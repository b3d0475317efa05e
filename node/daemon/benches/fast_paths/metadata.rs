//! The metadata row: many HTTPS clients making folders (`POST /v1/folders/{path}` with the
//! bearer token, through the SDK's `make_folder`) for a fixed time, each client starting at
//! its own node, so the load spreads over the nodes and followers forward to the leader.
//!
//! Each client is its own SDK `Client` with its own connections, as separate devices would be.
//! Every client first makes its own parent folder, which also opens its TLS connection, so the
//! timed writes each make exactly one folder over a warm connection.

use std::time::{Duration, Instant};

use cairn_client::{Client, ClientConfig};
use tokio::task::JoinSet;

/// What one rep of the load measured.
pub struct Load {
    /// Folders made.
    pub ops: usize,
    /// Over this long.
    pub elapsed: Duration,
    /// Every write's latency, sorted.
    pub latencies: Vec<Duration>,
}

/// `clients` SDK clients over `nodes` (client `c` starts at node `c` modulo their number)
/// making folders `/meta-rREP/cC/N` for `seconds`; panics if a write fails (after the SDK's own
/// retries, on other nodes too).
pub async fn make_folders(
    nodes: &[String],
    ca_pem: &str,
    token: &str,
    clients: usize,
    seconds: u64,
    rep: usize,
) -> Load {
    let all: Vec<Client> = (0..clients)
        .map(|c| {
            let mut order = nodes.to_vec();
            order.rotate_left(c % nodes.len());
            let mut config = ClientConfig::new(order, token);
            config.ca_pem = Some(ca_pem.to_owned());
            Client::new(config).unwrap()
        })
        .collect();
    let mut tasks = JoinSet::new();
    for (c, client) in all.iter().enumerate() {
        let client = client.clone();
        tasks.spawn(async move { client.make_folder(&format!("/meta-r{rep}/c{c}"), None).await.unwrap() });
    }
    tasks.join_all().await;

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = JoinSet::new();
    for (c, client) in all.into_iter().enumerate() {
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while Instant::now() < until {
                let path = format!("/meta-r{rep}/c{c}/{i}");
                let sent = Instant::now();
                if let Err(e) = client.make_folder(&path, None).await {
                    panic!("make folder {path}: {e}");
                }
                latencies.push(sent.elapsed());
                i += 1;
            }
            latencies
        });
    }
    let mut latencies: Vec<Duration> = tasks.join_all().await.into_iter().flatten().collect();
    let elapsed = started.elapsed();
    latencies.sort();
    Load { ops: latencies.len(), elapsed, latencies }
}
