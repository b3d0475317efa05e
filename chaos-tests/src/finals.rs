//! What the cluster holds once every fault has healed, read for the checkers: every version of
//! every file the workloads touched, downloaded and hashed; and the whole change journal.
//! These reads are part of the history too (journal pages as `Journal` operations).

use cairn_client::api::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cairn_client::api::{DownloadOptions, HistoryOptions};
use cairn_client::{Client, ClientError};
use futures_util::{StreamExt, stream};

use crate::history::{Event, EventKind, Op, Outcome, Process, Recorder};
use crate::workload::metadata::changes_outcome;

/// (file id, version) → the version's content hash as downloaded now (`None`: unreadable).
pub type Finals = BTreeMap<(u64, u64), Option<String>>;

/// How long the final reads together keep retrying through a cluster that is still
/// recovering; after that, each read gets one try (a version that cannot be read then is
/// reported, not waited for forever).
const PATIENCE: Duration = Duration::from_secs(120);

/// Versions downloaded at once by the final reads.
const PARALLEL_READS: usize = 8;

/// Retries `call` until it succeeds or `give_up` passes: right after healing, a node may still
/// be catching up or electing.
async fn patiently<T, F, Fut>(give_up: Instant, mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(e) if e.is(ErrorCode::NotFound) || Instant::now() >= give_up => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Every path a commit in `events` named, or a move led to.
pub fn touched_paths(events: &[Event]) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for e in events {
        match &e.op {
            Op::Commit { path, .. } => _ = paths.insert(path.clone()),
            Op::Move { from, to } => paths.extend([from.clone(), to.clone()]),
            _ => {}
        }
    }
    paths
}

/// Downloads every version of the file at each of `paths` (live or trashed) and hashes it.
/// Versions are numbered from 1 to the head without gaps and none is ever dropped, so each is
/// fetched by number: one missing is a lost version.
pub async fn read_finals(client: &Client, paths: &BTreeSet<String>) -> Result<Finals, String> {
    let mut finals = Finals::new();
    let give_up = Instant::now() + PATIENCE;
    for path in paths {
        let newest = HistoryOptions { limit: Some(1), ..HistoryOptions::default() };
        let history = match patiently(give_up, || client.history(path, &newest)).await {
            Ok(history) => history,
            Err(e) if e.is(ErrorCode::NotFound) => continue,
            Err(e) => return Err(format!("history of {path}: {e}")),
        };
        // A long run leaves tens of thousands of versions: read several at a time.
        let hashes: Vec<(u64, Option<String>)> = stream::iter(1..=history.head)
            .map(|version| async move {
                let options = DownloadOptions { ns: None, version: Some(version) };
                let hash = patiently(give_up, || async {
                    let manifest = client.manifest(path, &options).await?;
                    let mut content = Vec::with_capacity(manifest.size as usize);
                    client.download_into(&manifest, None, &mut content, None).await?;
                    Ok(blake3::hash(&content).to_hex().to_string())
                })
                .await
                .ok();
                (version, hash)
            })
            .buffer_unordered(PARALLEL_READS)
            .collect()
            .await;
        finals.extend(hashes.into_iter().map(|(version, hash)| ((history.file, version), hash)));
    }
    Ok(finals)
}

/// Reads the whole journal of `client`'s user as `process`, page by page, into the history.
pub async fn read_journal(client: &Client, recorder: &Recorder, process: Process) -> Result<u64, String> {
    let mut cursor = 0;
    let give_up = Instant::now() + PATIENCE;
    loop {
        let op = Op::Journal { cursor };
        recorder.invoke(process, &op);
        let page = match patiently(give_up, || client.changes(cursor, None, Some(1000))).await {
            Ok(page) => page,
            Err(e) => {
                recorder.fail(process, &op, e.to_string());
                return Err(format!("journal after {cursor}: {e}"));
            }
        };
        let outcome = changes_outcome(cursor, &page);
        recorder.ok(process, &op, outcome);
        if page.changes.is_empty() || !page.more {
            return Ok(page.cursor);
        }
        cursor = page.cursor;
    }
}

/// Downloads made during the run that came back with other content than the upload they
/// asked for had acknowledged: `(history index, description)` of each.
pub fn wrong_downloads(events: &[Event]) -> (usize, Vec<(usize, String)>) {
    let mut acknowledged: BTreeMap<(&str, u64), &str> = BTreeMap::new();
    for e in events {
        if let (EventKind::Ok, Op::Commit { path, hash, .. }, Some(Outcome::Committed { version, .. })) =
            (e.kind, &e.op, &e.outcome)
        {
            acknowledged.insert((path, *version), hash);
        }
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    for e in events {
        if let (EventKind::Ok, Op::Download { path, version }, Some(Outcome::Content { hash, .. })) =
            (e.kind, &e.op, &e.outcome)
            && let Some(expected) = acknowledged.get(&(path.as_str(), *version))
        {
            checked += 1;
            if hash != expected {
                wrong.push((
                    e.index,
                    format!("{path} v{version} downloaded as {hash}, uploaded as {expected}"),
                ));
            }
        }
    }
    (checked, wrong)
}
