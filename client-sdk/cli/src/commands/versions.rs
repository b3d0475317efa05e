//! `cairn history`, `cairn restore`, `cairn pin`: a file's versions.

use cairn_client::api::HistoryOptions;

use crate::context::Context;
use crate::exit::Failure;
use crate::format::shown;
use crate::format::{size, time};

/// Lists `path`'s versions, newest first.
pub async fn history(ctx: &Context, path: &str, limit: Option<usize>) -> Result<(), Failure> {
    let options = HistoryOptions { ns: ctx.ns(), limit, before: None };
    let view = ctx.client()?.history(path, &options).await?;
    ctx.out.answer(&view, |w| {
        for v in &view.versions {
            let head = if v.version == view.head { "*" } else { " " };
            let pinned = if v.pinned { "  pinned" } else { "" };
            writeln!(w, "v{:<5}{head} {:>11}  {}{pinned}", v.version, size(v.size), time(v.committed_ms))?;
        }
        Ok(())
    });
    Ok(())
}

/// Makes `version`'s content the new head of `path` (only if the head is `base`, if given).
pub async fn restore(ctx: &Context, path: &str, version: u64, base: Option<u64>) -> Result<(), Failure> {
    let restored = ctx.client()?.restore_version(path, version, base, ctx.ns()).await?;
    ctx.out.answer(&restored, |w| {
        writeln!(
            w,
            "restored {} version {} as version {}",
            shown(path),
            restored.restored_from,
            restored.version
        )
    });
    Ok(())
}

/// Pins (or unpins) `version` of `path`.
pub async fn pin(ctx: &Context, path: &str, version: u64, pinned: bool) -> Result<(), Failure> {
    let pin = ctx.client()?.pin(path, version, pinned, ctx.ns()).await?;
    ctx.out.answer(&pin, |w| {
        let what = if pin.pinned { "pinned" } else { "unpinned" };
        writeln!(w, "{what} {} version {}", shown(path), pin.version)
    });
    Ok(())
}
