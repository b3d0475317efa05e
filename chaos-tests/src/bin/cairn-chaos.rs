//! `cairn-chaos`: one long chaos run (what `make chaos` calls). Settings come from flags, or from
//! `CHAOS_SECONDS`, `CHAOS_SEED`, `CHAOS_NEMESES` and `CHAOS_NODES`; the report goes to
//! `chaos-results/<name>/<time>/`. Exits 0 when no checker found a violation, 1 when one did,
//! 2 on bad input.

use std::process::ExitCode;
use std::time::Duration;

use cairn_chaos::check::Validity;
use cairn_chaos::nemesis::parse_list;
use cairn_chaos::run::{RunConfig, run};
use clap::Parser;

/// Runs real cairn-node processes under injected faults and checks what the clients saw.
#[derive(Parser, Debug)]
#[command(name = "cairn-chaos", version)]
struct Args {
    /// Nodes in the cluster (3 or more; 5 codes blocks 3+2). Default: $CHAOS_NODES or 3.
    #[arg(long)]
    nodes: Option<u64>,
    /// How long the workload runs, in seconds. Default: $CHAOS_SECONDS or 1800.
    #[arg(long)]
    seconds: Option<u64>,
    /// Seed of the fault schedule and the workloads. Default: $CHAOS_SEED or the clock.
    #[arg(long)]
    seed: Option<u64>,
    /// Comma-separated nemeses, or "all". Default: $CHAOS_NEMESES or all.
    #[arg(long)]
    nemeses: Option<String>,
    /// The report's folder name under chaos-results/. Default: chaos-<nodes>-nodes.
    #[arg(long)]
    name: Option<String>,
}

fn from_env<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => {
            text.trim().parse().map(Some).map_err(|_| format!("{name}={text:?} is not a valid number"))
        }
        _ => Ok(None),
    }
}

fn config(args: Args) -> Result<RunConfig, String> {
    let nodes = match args.nodes {
        Some(n) => n,
        None => from_env("CHAOS_NODES")?.unwrap_or(3),
    };
    if nodes < 3 {
        return Err(format!("--nodes {nodes}: a chaos cluster needs at least 3 nodes"));
    }
    let seconds = match args.seconds {
        Some(s) => s,
        None => from_env("CHAOS_SECONDS")?.unwrap_or(1800),
    };
    if seconds == 0 {
        return Err("--seconds must be more than 0".into());
    }
    let seed = match args.seed {
        Some(s) => s,
        None => from_env("CHAOS_SEED")?.unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
        }),
    };
    // `make chaos` exports CHAOS_NEMESES even when unset, as an empty string: that means "all".
    let nemeses = match args.nemeses {
        Some(list) => list,
        None => from_env::<String>("CHAOS_NEMESES")?.unwrap_or_else(|| "all".into()),
    };
    let name = args.name.unwrap_or_else(|| format!("chaos-{nodes}-nodes"));
    let mut config = RunConfig::new(&name, nodes, Duration::from_secs(seconds), seed);
    config.nemeses = parse_list(&nemeses)?;
    Ok(config)
}

/// Waits for Ctrl-C or SIGTERM and names it.
async fn stopped() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = match config(Args::parse()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("cairn-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "chaos: {} nodes, {:?}, seed {}, nemeses {:?}",
        config.nodes, config.length, config.seed, config.nemeses
    );
    // Ctrl-C or SIGTERM drops the run, and with it the cluster: its processes are killed and
    // its folders removed, never left behind.
    let outcome = tokio::select! {
        outcome = run(&config) => outcome,
        signal = stopped() => {
            eprintln!("cairn-chaos: {signal}; the cluster is stopped and removed, no report written");
            return ExitCode::from(130);
        }
    };
    for verdict in &outcome.results.verdicts {
        let mark = match verdict.validity {
            Validity::Valid => "ok     ",
            Validity::Invalid => "INVALID",
            Validity::Unknown => "unknown",
        };
        println!("{mark} {:<14} {:>7} ops  {}", verdict.checker, verdict.operations, verdict.detail);
    }
    for (kind, c) in &outcome.results.counts {
        println!("{kind:<9} ok {:>6}  fail {:>5}  unknown {:>5}", c.ok, c.fail, c.unknown);
    }
    println!("report: {}", outcome.dir.display());
    if let Some(first) = &outcome.results.first_violation {
        println!("first violation: {first}");
    }
    if outcome.results.valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
