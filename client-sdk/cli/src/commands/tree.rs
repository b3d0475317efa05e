//! `cairn mkdir`, `cairn mv`, `cairn rm`: the changes to the folder tree.

use serde::Serialize;

use crate::context::Context;
use crate::exit::Failure;
use crate::format::shown;

/// What a change answers: what changed, and the journal position after it.
#[derive(Serialize)]
struct Changed {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    seq: Option<u64>,
}

/// Makes folder `path` and any missing folders above it.
pub async fn mkdir(ctx: &Context, path: &str) -> Result<(), Failure> {
    let changed = ctx.client()?.make_folder(path, ctx.ns()).await?;
    let answer = Changed { path: shown(path), to: None, seq: changed.seq };
    ctx.out.answer(&answer, |w| writeln!(w, "made folder {}", answer.path));
    Ok(())
}

/// Moves or renames `from` to `to`.
pub async fn mv(ctx: &Context, from: &str, to: &str) -> Result<(), Failure> {
    let moved = ctx.client()?.move_path(from, to, ctx.ns()).await?;
    let answer = Changed { path: shown(from), to: Some(shown(to)), seq: Some(moved.seq) };
    ctx.out.answer(&answer, |w| writeln!(w, "moved {} to {}", answer.path, shown(to)));
    Ok(())
}

/// Moves `path` to the trash.
pub async fn rm(ctx: &Context, path: &str) -> Result<(), Failure> {
    let changed = ctx.client()?.delete(path, ctx.ns()).await?;
    let answer = Changed { path: shown(path), to: None, seq: changed.seq };
    ctx.out.answer(&answer, |w| writeln!(w, "moved {} to the trash", answer.path));
    ctx.out.note(&format!("`cairn trash restore {}` brings it back", answer.path));
    Ok(())
}
