//! One chaos run, end to end: start a cluster behind the proxies, run the workloads while the
//! nemesis strikes, heal, read back what the cluster holds, check the history, write the report.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::check::{self, Validity, Verdict, Violation};
use crate::cluster::ChaosCluster;
use crate::finals;
use crate::health;
use crate::history::{Event, Process, Recorder};
use crate::nemesis::{self, Nemesis, Pacing};
use crate::report::{self, Results};
use crate::workload::{UserClient, data, metadata, sync};

/// The first process number of the data workload (metadata clients count from 0).
const DATA_PROCESSES: Process = 1_000;
/// The process that reads the whole journal at the end.
const FINAL_READER: Process = 2_000;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The test's name: the report goes to `<results>/<name>/<time>/`.
    pub name: String,
    /// Nodes at the start (3 or 5).
    pub nodes: u64,
    /// How long the workload runs.
    pub length: Duration,
    /// Seeds the fault schedule and the workloads.
    pub seed: u64,
    /// The kinds of fault to schedule.
    pub nemeses: Vec<Nemesis>,
    /// How faults are spaced.
    pub pacing: Pacing,
    /// Metadata clients.
    pub meta_clients: u64,
    /// Pairs of paths the metadata clients work on.
    pub meta_pairs: usize,
    /// Data clients.
    pub data_clients: u64,
    /// Sync devices (two, editing the same tree; 0 for none).
    pub sync_devices: usize,
    /// How long the linearizability search may take.
    pub search_limit: Duration,
    /// How long repair may take to make every block whole after healing.
    pub repair_bound: Duration,
    /// Where reports go.
    pub results: PathBuf,
}

impl RunConfig {
    /// A run of `length` with every nemesis on `nodes` nodes, reports under `chaos-results/`
    /// at the workspace root (or `$CHAOS_RESULTS`).
    pub fn new(name: &str, nodes: u64, length: Duration, seed: u64) -> Self {
        let results = std::env::var_os("CHAOS_RESULTS").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("chaos-results"),
            PathBuf::from,
        );
        Self {
            name: name.to_owned(),
            nodes,
            length,
            seed,
            nemeses: Nemesis::ALL.to_vec(),
            pacing: Pacing::default(),
            meta_clients: 6,
            meta_pairs: 3,
            data_clients: 2,
            sync_devices: 2,
            search_limit: Duration::from_secs(60),
            repair_bound: Duration::from_secs(180),
            results,
        }
    }
}

/// What a run found, and where its report is.
pub struct RunOutcome {
    /// The report folder.
    pub dir: PathBuf,
    /// `results.json`'s content.
    pub results: Results,
}

/// Runs `config` and writes its report.
pub async fn run(config: &RunConfig) -> RunOutcome {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let dir = config.results.join(&config.name).join(format!("{stamp}-seed{}", config.seed));
    let cluster = ChaosCluster::start(config.nodes, config.seed).await;
    let meta = UserClient::new(&cluster, &cluster.nodes.add_user("meta", false));
    let data_user = UserClient::new(&cluster, &cluster.nodes.add_user("data", false));
    let sync_user = UserClient::new(&cluster, &cluster.nodes.add_user("sync", false));
    let folders = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
    let devices: Vec<Arc<sync::Device>> = (0..config.sync_devices)
        .map(|i| {
            let name = format!("device{i}");
            Arc::new(sync::start_device(sync_user.clone(), &name, folders.path().join(&name)))
        })
        .collect();
    let recorder = Arc::new(Recorder::new());
    let schedule = nemesis::schedule(config.seed, &config.nemeses, config.length, &config.pacing);
    tracing::info!(faults = schedule.len(), seed = config.seed, "chaos run begins");

    let start = Instant::now();
    let until = start + config.length;
    let pairs = Arc::new(metadata::paths(config.meta_pairs));
    let mut clients = JoinSet::new();
    for p in 0..config.meta_clients {
        clients.spawn(metadata::run(meta.clone(), recorder.clone(), p, pairs.clone(), until, config.seed));
    }
    for p in 0..config.data_clients {
        let process = DATA_PROCESSES + p;
        clients.spawn(data::run(data_user.clone(), recorder.clone(), process, until, config.seed));
    }
    let mut editors = JoinSet::new();
    for (i, device) in devices.iter().enumerate() {
        let (device, seed) = (device.clone(), config.seed);
        editors.spawn(async move { sync::edit(&device, i, until, seed).await });
    }
    let cluster = Arc::new(Mutex::new(cluster));
    let users = vec![meta.clone(), data_user.clone(), sync_user.clone()];
    nemesis::run(cluster.clone(), schedule.clone(), recorder.clone(), users, start, until).await;
    let ops: usize = clients.join_all().await.into_iter().sum();
    editors.join_all().await;
    let seconds = start.elapsed().as_secs_f64();
    tracing::info!(ops, "workload done; healing and reading back");

    let cluster = cluster.lock().await;
    cluster.faults.heal();
    cluster.faults.heal_clients();
    cluster.nodes.wait_for_leader().await;
    let mut verdicts = Vec::new();
    for user in [&meta, &data_user, &sync_user] {
        user.renew(&cluster);
    }
    let meta_client = meta.get();
    let journal_read = finals::read_journal(&meta_client, &recorder, FINAL_READER).await;
    let events = recorder.events();
    let touched = finals::touched_paths(&events);
    let finals = finals::read_finals(&meta_client, &touched_in(&touched, "meta/")).await;
    let data_finals = finals::read_finals(&data_user.get(), &touched_in(&touched, "data/")).await;
    if !devices.is_empty() {
        verdicts.push(sync_verdict(&sync_user.get(), &devices, config.repair_bound).await);
    }
    drop(devices);
    tracing::info!("journal, versions and sync folders read back; waiting for every block to be whole");
    let members: BTreeSet<u64> = cluster.members().into_iter().collect();
    let operator = cluster.operator().await;
    let whole = health::wait_whole(&operator, &members, config.repair_bound).await;
    operator.shutdown().await;

    tracing::info!(events = events.len(), "checking the history");
    verdicts.push(check::linearizable::check(&events, config.search_limit));
    let meta_events: Vec<Event> =
        events.iter().filter(|e| e.process < DATA_PROCESSES || e.process == FINAL_READER).cloned().collect();
    let mut journal = check::journal::check(&meta_events);
    if let Err(e) = journal_read {
        journal = Verdict::unknown("journal", 0, format!("the final journal read failed: {e}"));
    }
    verdicts.push(journal);
    verdicts.push(match (finals, data_finals) {
        (Ok(mut all), Ok(data)) => {
            all.extend(data);
            check::lost_writes::check(&events, &all)
        }
        (Err(e), _) | (_, Err(e)) => Verdict::unknown("lost-writes", 0, format!("reading back failed: {e}")),
    });
    verdicts.push(downloads_verdict(&events));
    verdicts.push(match whole {
        Ok((blocks, took)) => Verdict::valid(
            "shards-whole",
            blocks,
            format!("all {blocks} blocks had k+m healthy shards {took:.1?} after healing"),
        ),
        Err(e) => Verdict::invalid("shards-whole", 0, e.clone(), Violation::new(0, 0, e)),
    });
    verdicts.push(check::nemesis::check(&events));
    verdicts.push(check::panics::check(&cluster.logs()));

    let (counts, latencies_ms) = report::tally(&events);
    let results = Results {
        test: config.name.clone(),
        seed: config.seed,
        nodes: config.nodes,
        seconds,
        nemeses: config.nemeses.clone(),
        valid: verdicts.iter().all(|v| v.validity != Validity::Invalid),
        first_violation: report::first_violation(&verdicts),
        verdicts,
        counts,
        latencies_ms,
        faults: report::faults(&events),
        proxies: cluster.faults.stats(),
    };
    if let Err(e) = report::write(&dir, &events, &schedule, &results, &cluster.logs()) {
        tracing::error!(error = %e, dir = %dir.display(), "could not write the report");
    }
    RunOutcome { dir, results }
}

fn touched_in(paths: &BTreeSet<String>, prefix: &str) -> BTreeSet<String> {
    paths.iter().filter(|p| p.starts_with(prefix)).cloned().collect()
}

/// The sync devices converged with the drive, and every edit they made is still somewhere.
async fn sync_verdict(
    client: &cairn_client::Client,
    devices: &[Arc<sync::Device>],
    patience: Duration,
) -> Verdict {
    let devices: Vec<&sync::Device> = devices.iter().map(AsRef::as_ref).collect();
    let files = match sync::wait_converged(client, &devices, patience).await {
        Ok(files) => files,
        Err(e) => return Verdict::invalid("sync", 0, e.clone(), Violation::new(0, 0, e)),
    };
    let mut found = match sync::drive_contents(client).await {
        Ok(found) => found,
        Err(e) => return Verdict::unknown("sync", 0, format!("reading the drive's history failed: {e}")),
    };
    found.extend(sync::snapshot(&devices[0].dir).into_values());
    let (made, live, lost) = sync::lost_edits(&devices, &found);
    match lost.first() {
        None => Verdict::valid(
            "sync",
            made,
            format!(
                "{} devices converged on {files} files; all {live} live edits of {made} kept",
                devices.len()
            ),
        ),
        Some(first) => Verdict::invalid(
            "sync",
            made,
            format!("{} of {live} live edits lost", lost.len()),
            Violation::new(0, 0, first.clone()),
        ),
    }
}

/// Downloads during the run returned the content their upload acknowledged.
fn downloads_verdict(events: &[Event]) -> Verdict {
    let (checked, wrong) = finals::wrong_downloads(events);
    match wrong.first() {
        None => Verdict::valid("downloads", checked, format!("{checked} downloads matched their uploads")),
        Some((index, what)) => Verdict::invalid(
            "downloads",
            checked,
            format!("{} of {checked} downloads came back wrong", wrong.len()),
            Violation::new(*index, *index, what.clone()),
        ),
    }
}
