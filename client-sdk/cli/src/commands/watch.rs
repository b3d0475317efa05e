//! `cairn watch`: prints the drive's changes as they happen, following the change journal with
//! long polls (any node serves them, and a poll whose node dies goes on at another with the
//! same cursor, so nothing is missed). With `--json`, one JSON object per line — the one
//! command whose output is a stream rather than one document, since it never ends by itself.

use cairn_client::ClientError;
use cairn_client::api::ErrorCode;
use std::io::Write;
use std::time::Duration;

use cairn_client::api::ChangeView;

use crate::cli::WatchArgs;
use crate::context::Context;
use crate::exit::Failure;
use crate::format;

/// How long one long poll waits.
const POLL: Duration = Duration::from_secs(30);

/// Runs `cairn watch` until interrupted (or until stdout is closed).
pub async fn watch(ctx: &Context, args: &WatchArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let mut cursor = match args.from {
        Some(cursor) => cursor,
        None => client.latest_cursor().await?,
    };
    ctx.out.note(&format!("watching for changes after {cursor}; Ctrl-C stops"));
    loop {
        match client.changes(cursor, Some(POLL), None).await {
            Ok(page) => {
                for change in &page.changes {
                    if print(ctx.out.is_json(), change).is_err() {
                        // The reader went away.
                        return Ok(());
                    }
                }
                cursor = page.cursor;
            }
            Err(e) if e.is(ErrorCode::CursorExpired) => {
                ctx.out.note("the journal no longer holds some of those changes; going on from the newest");
                cursor = client.latest_cursor().await?;
            }
            Err(e @ ClientError::Unreachable(_)) => {
                ctx.out.note(&format!("{e}; trying again"));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn print(json: bool, change: &ChangeView) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        serde_json::to_writer(&mut out, change).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", line(change))?;
    }
    out.flush()
}

/// A change for people: `seq  time  kind  /path  details`.
fn line(c: &ChangeView) -> String {
    let mut details = String::new();
    if let Some(version) = c.version {
        details.push_str(&format!(" v{version}"));
    }
    if let Some(status) = &c.status {
        details.push_str(&format!(" {status}"));
    }
    if let Some(from) = &c.from {
        details.push_str(&format!(" from /{}", from.trim_start_matches('/')));
    }
    if let Some(size) = c.size {
        details.push_str(&format!(" {}", format::size(size)));
    }
    if let Some(files) = c.files {
        details.push_str(&format!(" ({})", format::count(files as usize, "file")));
    }
    let path = c.path.trim_start_matches('/');
    // What the journal says comes from other people too: printed with control characters
    // escaped, so a name cannot drive the terminal.
    let line = format!("{:>6}  {}  {:<17}  /{path}{details}", c.seq, format::time(c.time_ms), c.kind);
    cairn_proto::printable(&line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_as_one_line() {
        let change = ChangeView {
            seq: 12,
            time_ms: 784_887_151_000,
            ns: 1,
            path: "docs/a.txt".into(),
            file: Some(3),
            kind: "moved".into(),
            version: None,
            status: None,
            from: Some("a.txt".into()),
            size: None,
            files: None,
        };
        assert_eq!(
            line(&change),
            "    12  Tue, 15 Nov 1994 08:12:31 GMT  moved              /docs/a.txt from /a.txt"
        );
    }
}
