//! `cairn export --archive FILE`: what an export holds, packed into one tar file once the
//! folder export is done. The folder stays the export's working copy, so the archive inherits
//! its resumability: a re-run fetches only what the folder lacks, then packs again.
//!
//! Only what the manifest lists goes in — its folders, every version held and the manifest
//! itself — never another file a person left in the folder. Each path is checked by the wall
//! as it is read, so nothing is packed through a link. The tar is written to a temporary file
//! beside FILE and renamed over it when complete.

use std::path::Path;

use cairn_client::disk::Root;

use super::layout::{ExportManifest, MANIFEST};
use crate::exit::{Exit, Failure};

/// Packs what `manifest` lists of the export in `root` into the tar file `to`; returns how many
/// entries it holds. Blocking: run it on a blocking thread.
pub fn write_archive(root: &Root, manifest: &ExportManifest, to: &Path) -> Result<usize, Failure> {
    let folder = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".cairn-")
        .suffix(".part")
        .tempfile_in(folder)
        .map_err(|e| Failure::io("write into", folder, e))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(temp));
    tar.follow_symlinks(false);
    let mut entries = 0;
    let mut add = |tar: &mut tar::Builder<_>, rel: &str| -> Result<(), Failure> {
        let path = root.check(rel)?;
        tar.append_path_with_name(&path, rel).map_err(|e| Failure::io("pack", &path, e))?;
        entries += 1;
        Ok(())
    };
    for folder in manifest.folders.iter().filter(|f| !f.is_empty()) {
        add(&mut tar, folder)?;
    }
    for file in &manifest.files {
        for version in &file.versions {
            add(&mut tar, &version.local)?;
        }
    }
    add(&mut tar, MANIFEST)?;
    let temp = tar
        .into_inner()
        .map_err(|e| Failure::io("write", to, e))?
        .into_inner()
        .map_err(|e| Failure::io("write", to, e.into_error()))?;
    temp.as_file().sync_all().map_err(|e| Failure::io("write", to, e))?;
    temp.persist(to).map_err(|e| Failure::io("write", to, e.error))?;
    Ok(entries)
}

/// A blocking task that did not finish (it panicked or was cancelled).
pub fn lost(what: &str, error: &tokio::task::JoinError) -> Failure {
    Failure::new(Exit::Internal, "internal", format!("{what}: {error}"))
}
