//! The metadata workload: many clients of one user on a handful of paths, doing conditional
//! commits (compare-and-set on the head version), reads, deletes, renames and journal reads —
//! the history the linearizability and journal checkers read.
//!
//! Paths come in pairs (`meta/a0` and `meta/b0`, …) and renames stay within a pair, so each
//! pair is an independent register for the checker, and contention stays high.

use cairn_client::api::ErrorCode;
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use cairn_client::ClientError;
use cairn_client::upload::{CommitOn, PutOptions};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{UserClient, conflict_head, perform};
use crate::history::{JournalEntry, Op, Outcome, Process, Recorder};

/// The paths of `pairs` pairs.
pub fn paths(pairs: usize) -> Vec<(String, String)> {
    (0..pairs).map(|i| (format!("meta/a{i}"), format!("meta/b{i}"))).collect()
}

/// A journal page this long at most, so reads overlap with writes.
const JOURNAL_PAGE: usize = 50;

/// One client process: operations until `until`.
pub async fn run(
    user: Arc<UserClient>,
    recorder: Arc<Recorder>,
    process: Process,
    pairs: Arc<Vec<(String, String)>>,
    until: Instant,
    seed: u64,
) -> usize {
    let mut rng = SmallRng::seed_from_u64(seed ^ process.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    // What this client last saw of each path: the base its next commit names.
    let mut seen: HashMap<String, Option<u64>> = HashMap::new();
    let mut cursor = 0u64;
    let mut done = 0;
    while Instant::now() < until {
        let (a, b) = &pairs[rng.random_range(0..pairs.len())];
        let (path, other) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
        let client = user.get();
        let dice = rng.random_range(0..100);
        if dice < 35 {
            let op = Op::Read { path: path.clone() };
            if let Some(Outcome::Head { version }) = perform(&recorder, process, op, async {
                let listing = cairn_client::api::Listing::default();
                match client.stat(path, &listing).await {
                    Ok(view) => Ok(Outcome::Head {
                        version: view.file.filter(|f| f.status != "trashed").map(|f| f.version),
                    }),
                    Err(e) if e.is(ErrorCode::NotFound) => Ok(Outcome::Head { version: None }),
                    Err(e) => Err(e),
                }
            })
            .await
            {
                seen.insert(path.clone(), version);
            }
        } else if dice < 72 {
            // Mostly the head this client saw, sometimes a stale or made-up one: conflicts are
            // answers the checker verifies too.
            let base = match rng.random_range(0..10) {
                0 => None,
                1 => Some(rng.random_range(1..4)),
                _ => seen.get(path).copied().flatten(),
            };
            let size = rng.random_range(1..2048usize);
            let content: Vec<u8> = (0..size).map(|_| rng.random()).collect();
            let hash = blake3::hash(&content).to_hex().to_string();
            let op = Op::Commit { path: path.clone(), base, size: size as u64, hash };
            let options =
                PutOptions { base: base.map_or(CommitOn::New, CommitOn::Version), ..PutOptions::default() };
            match perform(&recorder, process, op, async {
                match client.upload_reader(Cursor::new(content), path, &options).await {
                    Ok(report) => Ok(Outcome::Committed {
                        file: report.committed.file,
                        version: report.committed.version,
                        seq: report.committed.seq,
                    }),
                    Err(e) => match conflict_head(&e) {
                        Some(head) => Ok(Outcome::Conflict { head }),
                        None => Err(e),
                    },
                }
            })
            .await
            {
                Some(Outcome::Committed { version, .. }) => _ = seen.insert(path.clone(), Some(version)),
                Some(Outcome::Conflict { head }) => _ = seen.insert(path.clone(), head),
                _ => {}
            }
        } else if dice < 82 {
            let op = Op::Delete { path: path.clone() };
            perform(&recorder, process, op, async { refusal(client.delete(path, None).await) }).await;
        } else if dice < 90 {
            let op = Op::Move { from: path.clone(), to: other.clone() };
            perform(&recorder, process, op, async { refusal(client.move_path(path, other, None).await) })
                .await;
        } else {
            let op = Op::Journal { cursor };
            let read = perform(&recorder, process, op, async {
                let page = client.changes(cursor, None, Some(JOURNAL_PAGE)).await?;
                Ok(changes_outcome(cursor, &page))
            })
            .await;
            if let Some(Outcome::Changes { latest, .. }) = read {
                cursor = latest;
            }
        }
        done += 1;
    }
    done
}

/// `Done`, or `Refused` for the answers that say nothing changed.
fn refusal<T>(result: Result<T, ClientError>) -> Result<Outcome, ClientError> {
    match result {
        Ok(_) => Ok(Outcome::Done),
        Err(e)
            if matches!(
                e.api_code(),
                Some(ErrorCode::NotFound | ErrorCode::Exists | ErrorCode::WrongKind)
            ) =>
        {
            Ok(Outcome::Refused { code: e.code().to_owned() })
        }
        Err(e) => Err(e),
    }
}

/// A journal page as the history records it; `latest` is where the page ends (the next cursor).
pub fn changes_outcome(cursor: u64, page: &cairn_client::api::ChangePage) -> Outcome {
    let changes = page
        .changes
        .iter()
        .map(|c| JournalEntry {
            seq: c.seq,
            path: c.path.clone(),
            file: c.file,
            kind: c.kind.clone(),
            version: c.version,
        })
        .collect();
    Outcome::Changes { changes, latest: page.cursor.max(cursor) }
}
