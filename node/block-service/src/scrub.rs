//! The scrubber: walks this node's shards at a set pace, re-verifies each one's checksum, and
//! reconciles the store with the metadata.
//!
//! A corrupt shard is deleted and reported, so repair rebuilds it from the others (and no read
//! meets it again). A shard that no block record places on this node — a copy repair moved
//! away while the node was down, the leftover of a write that failed or lost a race, a block
//! GC dropped — is deleted once it has been seen so for `orphan_grace_ms`: longer than a write
//! takes to register its block, so a shard whose block is about to be recorded is left alone.
//!
//! A store whose background compactions keep failing holds corrupt records the scrubber has not
//! reached yet; compaction cannot finish until they are deleted, so the next pass runs unpaced.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cairn_raft::model::blocks::BlockRecord;

use super::BlockService;
use super::messages::ShardCallError;
use super::shards::run_on_store;
use cairn_shard_store::{ShardEntry, ShardKey};

/// Shards listed per store call.
const PAGE: usize = 256;

/// Scrubs forever: a pass, then a pause of `scrub_every_ms` — none while the store's background
/// errors grow and unpaced passes still find corrupt shards.
pub async fn run(service: BlockService) {
    let mut orphans: HashMap<ShardKey, Instant> = HashMap::new();
    let pause = Duration::from_millis(service.config().scrub_every_ms);
    let mut errors_seen = 0;
    // An unpaced pass that found nothing: the failing compactions are not about shards this
    // scan can find, and scanning flat out again would only load the disk.
    let mut futile = false;
    loop {
        let errors = background_errors(&service).await;
        let hurry = errors > errors_seen && !futile;
        if hurry {
            tracing::warn!(
                errors,
                "the shard store's compactions are failing; scrubbing unpaced for corrupt shards"
            );
        }
        errors_seen = errors;
        let corrupt_before = service.counters().snapshot().scrub_corrupt;
        orphans = pass(&service, orphans, !hurry).await;
        service.counters().scrub_passes(1);
        let found = service.counters().snapshot().scrub_corrupt > corrupt_before;
        futile = if found { false } else { futile || hurry };
        if !hurry {
            tokio::time::sleep(pause).await;
        }
    }
}

async fn background_errors(service: &BlockService) -> u64 {
    let store = service.shards().store().clone();
    run_on_store(&store, |s| s.usage()).await.map_or(0, |u| u.background_errors)
}

/// One pass over every shard of this node, at `scrub_bytes_per_sec` if `paced`. `orphans` holds
/// when each stray shard was first seen; the map returned holds the strays still waiting out
/// their grace.
pub async fn pass(
    service: &BlockService,
    orphans: HashMap<ShardKey, Instant>,
    paced: bool,
) -> HashMap<ShardKey, Instant> {
    let store = service.shards().store().clone();
    let rate = if paced { service.config().scrub_bytes_per_sec.max(1) } else { u64::MAX };
    let mut still = HashMap::new();
    let mut after: Option<ShardKey> = None;
    loop {
        let page = match run_on_store(&store, move |s| s.list(after.as_ref(), PAGE)).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "scrub could not list shards; pass ended early");
                break;
            }
        };
        let Some(last) = page.last() else { break };
        after = Some(last.key);
        for ShardEntry { key, stored_len } in page {
            let started = Instant::now();
            if let Some(first_seen) = scrub_one(service, key, stored_len, orphans.get(&key).copied()).await {
                still.insert(key, first_seen);
            }
            // Pace the pass: this shard's bytes at the configured rate.
            let budget = Duration::from_secs_f64(stored_len as f64 / rate as f64);
            if let Some(rest) = budget.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
    }
    still
}

/// Verifies one shard and reconciles it with its block's record. Returns when the shard was
/// first seen stray if it is stray and still within its grace.
async fn scrub_one(
    service: &BlockService,
    key: ShardKey,
    stored_len: u64,
    stray_since: Option<Instant>,
) -> Option<Instant> {
    let store = service.shards().store().clone();
    let now = Instant::now();
    let verified = run_on_store(&store, move |s| s.get(&key).map(|found| found.is_some())).await;
    let counters = service.counters();
    counters.scrub_shards(1);
    counters.scrub_bytes(stored_len);
    // Unreadable metadata says nothing about the shard: keep it, and look again next pass.
    let record = match service.record(key.account, &key.block, false).await {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::debug!(%key, error = %e, "scrub could not read the block's record");
            None
        }
    };
    let ours = record.as_ref().map(|r| r.as_ref().is_some_and(|r| holds(r, &key, service.me())));
    match verified {
        Err(ShardCallError::Corrupt(why)) => {
            counters.scrub_corrupt(1);
            tracing::warn!(%key, %why, "scrub found a corrupt shard; deleting it for repair");
            // A store that cannot delete (a full disk, a failed write) must say so: the shard
            // would be found again on every pass and the rebuilt one could not be stored here.
            if let Err(e) = run_on_store(&store, move |s| s.delete(&key)).await {
                tracing::error!(%key, error = %e, "could not delete a corrupt shard");
            }
            if ours == Some(true) {
                service.report_damage(key.account, key.block, key.generation, vec![key.index]);
            }
            return None;
        }
        Err(e) => tracing::debug!(%key, error = %e, "scrub could not read a shard"),
        Ok(_) => {}
    }
    match ours {
        Some(true) => None,
        None => stray_since,
        Some(false) => {
            let first_seen = stray_since.unwrap_or(now);
            let grace = Duration::from_millis(service.config().orphan_grace_ms);
            if now.duration_since(first_seen) < grace {
                return Some(first_seen);
            }
            if let Ok(true) = run_on_store(&store, move |s| s.delete(&key)).await {
                counters.orphans_deleted(1);
                tracing::info!(%key, "deleted a shard no block places here");
            }
            None
        }
    }
}

/// Whether `record` places shard `key` on node `me`.
fn holds(record: &BlockRecord, key: &ShardKey, me: u64) -> bool {
    record.generation == key.generation && record.placement.get(usize::from(key.index)) == Some(&me)
}
