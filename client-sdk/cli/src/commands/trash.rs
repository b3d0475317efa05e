//! `cairn trash`: list the trash (every page), restore from it, purge it for good.

use cairn_client::api::{TrashChanged, TrashItem, TrashListing};
use serde::Serialize;

use crate::cli::TrashAction;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::shown;
use crate::format::{count, size, time};

/// What `trash ls` answers.
#[derive(Serialize)]
struct Trash {
    files: Vec<TrashItem>,
}

/// Runs `action` (default: list).
pub async fn trash(ctx: &Context, action: Option<TrashAction>) -> Result<(), Failure> {
    let client = ctx.client()?;
    let ns = ctx.ns();
    match action.unwrap_or(TrashAction::Ls) {
        TrashAction::Ls => {
            let mut listing = TrashListing { ns, ..TrashListing::default() };
            let mut files = Vec::new();
            loop {
                let page = client.trash(&listing).await?;
                files.extend(page.files);
                match page.next {
                    Some(next) => listing.after = Some(next),
                    None => break,
                }
            }
            let trash = Trash { files };
            ctx.out.answer(&trash, |w| {
                for f in &trash.files {
                    writeln!(w, "{:>11}  {}  {}", size(f.size), time(f.trashed_ms), shown(&f.path))?;
                }
                Ok(())
            });
        }
        TrashAction::Restore { path } => {
            let changed = client.restore_from_trash(&path, ns).await?;
            report(ctx, &changed, "restored", &path);
        }
        TrashAction::Purge { path } => {
            let changed = client.purge(&path, ns).await?;
            report(ctx, &changed, "purged", &path);
        }
    }
    Ok(())
}

fn report(ctx: &Context, changed: &TrashChanged, verb: &str, path: &str) {
    ctx.out
        .answer(changed, |w| writeln!(w, "{verb} {} at {}", count(changed.files.len(), "file"), shown(path)));
}
