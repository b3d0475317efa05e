//! Backups and disasters: `backup`, `restore`, `recover`.

use std::path::Path;

use cairn_node::backup;
use cairn_proto::Clock;

use crate::load::{Result, load};

/// `backup`: a consistent metadata snapshot of the running cluster.
pub async fn take_backup(config: &Path, out: &Path, force: bool) -> Result {
    let header = backup::take::take(&load(config)?, out, force, Clock::system().now_ms()).await?;
    println!(
        "metadata backup at index {} (term {}), taken by node {}: {} ({} bytes)",
        header.index,
        header.term,
        header.node,
        out.display(),
        header.body_len
    );
    Ok(())
}

/// `restore`: seeds a new cluster from a backup.
pub fn restore(config: &Path, file: &Path) -> Result {
    let config = load(config)?;
    let restored = backup::restore::restore(&config, file, Clock::system().now_ms())?;
    let h = &restored.header;
    println!("restored the backup at index {} (term {}) taken {}", h.index, h.term, h.taken);
    print!("{}", backup::render_seeded(config.id, &restored.seeded));
    Ok(())
}

/// `recover --force-new-cluster`: a one-member cluster from a survivor of a lost majority.
pub async fn recover(config: &Path, force_new_cluster: bool, yes: bool) -> Result {
    let config = load(config)?;
    if !force_new_cluster {
        return Err("recover starts a new cluster from this node alone: give --force-new-cluster \
                    if a majority of the voters is lost for good (README: disaster recovery)"
            .into());
    }
    eprintln!("{}", backup::recover::warning(&config));
    if !yes && !backup::recover::confirm(&config)? {
        return Err("not confirmed: nothing changed".into());
    }
    let recovered = backup::recover::recover(&config, Clock::system().now_ms()).await?;
    println!(
        "kept everything node {} had applied{}; its old Raft state is in {}",
        config.id,
        match (recovered.replayed, recovered.dropped) {
            (0, 0) => String::new(),
            (r, 0) => format!(", and applied {r} entries it knew committed"),
            (r, d) =>
                format!(", and applied {r} entries it knew committed; dropped {d} it never knew committed"),
        },
        recovered.aside.display()
    );
    print!("{}", backup::render_seeded(config.id, &recovered.seeded));
    Ok(())
}
