//! The data workload: uploads of files of mixed sizes — from a kilobyte to tens of megabytes,
//! the large ones in upload sessions that survive a node's death and resume elsewhere — and
//! downloads of what was acknowledged, hashed and compared by the checkers.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use cairn_client::api::DownloadOptions;
use cairn_client::upload::{CommitOn, PutOptions};
use cairn_proto::sample_data::random;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{UserClient, perform};
use crate::history::{Op, Outcome, Process, Recorder};

/// File sizes, by how often they come up: mostly small, sometimes large enough for a session.
const SIZES: [(usize, u32); 5] = [(4 << 10, 45), (64 << 10, 25), (1 << 20, 22), (4 << 20, 6), (17 << 20, 2)];

fn size(rng: &mut SmallRng) -> usize {
    let total: u32 = SIZES.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (size, weight) in SIZES {
        if pick < weight {
            // Not a round number, so block boundaries differ from file to file.
            return size + rng.random_range(0..size / 4);
        }
        pick -= weight;
    }
    SIZES[0].0
}

/// One uploader and downloader: operations until `until`.
pub async fn run(
    user: Arc<UserClient>,
    recorder: Arc<Recorder>,
    process: Process,
    until: Instant,
    seed: u64,
) -> usize {
    let mut rng = SmallRng::seed_from_u64(seed ^ process.wrapping_mul(0xa076_1d64_78bd_642f));
    // (path, version) of this process's acknowledged uploads.
    let mut acknowledged: Vec<(String, u64)> = Vec::new();
    let mut done = 0;
    while Instant::now() < until {
        // A pause between transfers, as people's uploads come: a long run's disk stays bounded.
        tokio::time::sleep(std::time::Duration::from_millis(rng.random_range(50..250))).await;
        let client = user.get();
        if acknowledged.is_empty() || rng.random_bool(0.6) {
            // A new file, or a new version of one of ours.
            let (path, base) = match acknowledged.last() {
                Some((path, version)) if rng.random_bool(0.3) => (path.clone(), Some(*version)),
                _ => (format!("data/p{process}-{done}"), None),
            };
            let content = random(size(&mut rng), rng.random());
            let hash = blake3::hash(&content).to_hex().to_string();
            let op = Op::Commit { path: path.clone(), base, size: content.len() as u64, hash };
            let options =
                PutOptions { base: base.map_or(CommitOn::New, CommitOn::Version), ..PutOptions::default() };
            let len = content.len() as u64;
            let committed = perform(&recorder, process, op, async {
                let report = client.upload_reader_sized(Cursor::new(content), len, &path, &options).await?;
                let c = report.committed;
                Ok(Outcome::Committed { file: c.file, version: c.version, seq: c.seq })
            })
            .await;
            if let Some(Outcome::Committed { version, .. }) = committed {
                acknowledged.push((path, version));
            }
        } else {
            let (path, version) = acknowledged[rng.random_range(0..acknowledged.len())].clone();
            let op = Op::Download { path: path.clone(), version };
            perform(&recorder, process, op, async {
                let options = DownloadOptions { ns: None, version: Some(version) };
                let manifest = client.manifest(&path, &options).await?;
                let mut content = Vec::with_capacity(manifest.size as usize);
                client.download_into(&manifest, None, &mut content, None).await?;
                Ok(Outcome::Content {
                    hash: blake3::hash(&content).to_hex().to_string(),
                    size: content.len() as u64,
                })
            })
            .await;
        }
        done += 1;
    }
    done
}
