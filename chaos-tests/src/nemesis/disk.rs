//! Rotting a stopped node's shards on disk: bytes flipped inside the shard store's blob files
//! (where RocksDB's BlobDB keeps shard values), past their headers and before their footers,
//! so the store opens and only the shards themselves are wrong.

use std::path::{Path, PathBuf};

/// Flips one byte in every `STRIDE` of some of the blob files under `data_dir/shards`: about half
/// of them, chosen by `draw`. Says what it did.
pub fn rot_shards(data_dir: &Path, draw: u64) -> String {
    const STRIDE: usize = 40_000;
    let shards = data_dir.join("shards");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&shards) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "blob"))
            .collect(),
        Err(e) => return format!("no shard store to rot ({}: {e})", shards.display()),
    };
    files.sort();
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
    format!("{flipped} bytes flipped in {rotted} of {} blob files", files.len())
}
