//! Rotting a stopped node's shards on disk: bytes flipped inside the files that hold shard
//! bodies — the segment files (`shards/segments/*.seg`) and, for shards an earlier release
//! stored, RocksDB's blob files (`shards/*.blob`) — past their 64-byte headers and before the
//! last 64 bytes, so the store opens and only the shards themselves are wrong.

use std::path::Path;

/// Flips one byte in every `STRIDE` of some of the shard files under `data_dir/shards`: about
/// half of them, chosen by `draw`. Says what it did.
pub fn rot_shards(data_dir: &Path, draw: u64) -> String {
    const STRIDE: usize = 40_000;
    let shards = data_dir.join("shards");
    if let Err(e) = std::fs::metadata(&shards) {
        return format!("no shard store to rot ({}: {e})", shards.display());
    }
    let files = cairn_shard_store::body_files(&shards);
    let mut flipped = 0;
    let mut rotted = 0;
    for (i, file) in files.iter().enumerate() {
        if (i as u64 + draw) % 2 == 1 {
            continue;
        }
        let Ok(mut bytes) = std::fs::read(file) else { continue };
        let end = bytes.len().saturating_sub(64);
        let mut at = 64 + (draw as usize % STRIDE);
        while at < end {
            bytes[at] ^= 0x5a;
            flipped += 1;
            at += STRIDE;
        }
        if std::fs::write(file, bytes).is_ok() {
            rotted += 1;
        }
    }
    format!("{flipped} bytes flipped in {rotted} of {} shard files", files.len())
}
