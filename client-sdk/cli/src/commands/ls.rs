//! `cairn ls`: a folder's children, folders first, or one file; `-l` adds each file's head
//! version, size and state, `-a` the files in the trash.

use std::io::Write;

use cairn_client::api::FileView;
use cairn_client::drive::drive_path;

use crate::cli::LsArgs;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::size;
use crate::remote::list;

/// Lists `args.path`.
pub async fn ls(ctx: &Context, args: &LsArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let listed = list(&client, &drive_path(&args.path)?, ctx.ns(), args.all).await?;
    ctx.out.answer(&listed, |w| {
        if let Some(file) = &listed.file {
            return line(w, true, "file", Some(file), false, &listed.path);
        }
        for child in &listed.children {
            // Names come from whoever shares the folder: printed with control characters escaped.
            let name = cairn_proto::printable(&child.name);
            let name = if child.kind == "folder" { format!("{name}/") } else { name.into_owned() };
            let uploading = child.uploading.is_some();
            line(w, args.long, &child.kind, child.file.as_ref(), uploading, &name)?;
        }
        Ok(())
    });
    Ok(())
}

/// One line: the name, or with `long` the kind, head version, size and state before it.
fn line(
    w: &mut dyn Write,
    long: bool,
    kind: &str,
    file: Option<&FileView>,
    uploading: bool,
    name: &str,
) -> std::io::Result<()> {
    if !long {
        return writeln!(w, "{name}");
    }
    let state = |status: &str| if uploading { "uploading".to_owned() } else { status.to_owned() };
    match file {
        Some(f) => {
            writeln!(w, "{kind:<6} v{:<5} {:>11}  {:<9} {name}", f.version, size(f.size), state(&f.status))
        }
        None => writeln!(w, "{kind:<6} {:<6} {:>11}  {:<9} {name}", "-", "-", state("")),
    }
}
