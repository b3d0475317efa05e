//! The chaos smoke run inside `make test`: two minutes of metadata and data workloads on three
//! nodes while partitions, one-way drops, lossy links, cut-off clients, kill -9, SIGSTOP,
//! corrupted shards, a full disk, a membership change and a drain strike — then every checker
//! must pass. `make chaos` runs the same for longer, on three and five nodes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.

use std::time::Duration;

use cairn_chaos::check::Validity;
use cairn_chaos::nemesis::Pacing;
use cairn_chaos::run::{RunConfig, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_chaos_run_keeps_every_promise() {
    // The run's progress on stderr (shown when the test fails, or with --nocapture).
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "cairn_chaos=info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    let seed = std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261126);
    let mut config = RunConfig::new("smoke", 3, Duration::from_secs(120), seed);
    config.pacing = Pacing {
        fault: (Duration::from_secs(3), Duration::from_secs(7)),
        quiet: (Duration::from_secs(2), Duration::from_secs(4)),
    };
    let outcome = run(&config).await;
    let results = &outcome.results;
    println!("report: {}", outcome.dir.display());
    for fault in &results.faults {
        println!("{fault}");
    }
    for v in &results.verdicts {
        println!("{:?} {} ({} ops): {}", v.validity, v.checker, v.operations, v.detail);
    }
    assert!(results.valid, "{}", results.first_violation.as_deref().unwrap_or("a checker failed"));
    let ok: usize = results.counts.values().map(|c| c.ok).sum();
    assert!(ok >= 1000, "only {ok} operations completed: {:?}", results.counts);
    assert!(results.faults.len() >= 8, "only {} faults struck", results.faults.len());
    let searched = results.verdicts.iter().find(|v| v.checker == "linearizable").unwrap();
    assert_ne!(searched.validity, Validity::Invalid);
}
