//! Where answers go: one JSON document on stdout with `--json`, lines for people otherwise;
//! errors always to stderr as `cairn: <message>`, and with `--json` also as the one document
//! on stdout, so a script reading stdout sees every outcome.
//!
//! Writes to a closed stdout (`cairn ls | head -1`) are ignored rather than turned into a
//! panic: the reader went away, and the exit code still tells what happened.

use std::io::Write;

use serde::Serialize;

use crate::exit::Failure;

/// How this run prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    quiet: bool,
}

/// The `{"error": …}` document of a failed command.
#[derive(Serialize)]
struct ErrorDoc<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    exit: u8,
}

impl Output {
    /// JSON when `json`; notes on stderr unless `quiet`.
    pub fn new(json: bool, quiet: bool) -> Self {
        Self { json, quiet }
    }

    /// Whether answers are JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a command's answer: `value` as JSON, or what `human` writes.
    pub fn answer<T: Serialize>(&self, value: &T, human: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = if self.json {
            serde_json::to_writer(&mut out, value).map_err(std::io::Error::from).and_then(|()| writeln!(out))
        } else {
            human(&mut out)
        };
        let _ = out.flush();
    }

    /// A line for people on stderr (what was skipped, where a file went), unless `--quiet`.
    pub fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("cairn: {line}");
        }
    }

    /// Reports a failure: on stderr, and with `--json` as the document on stdout.
    pub fn error(&self, failure: &Failure) {
        eprintln!("cairn: {}", failure.message);
        if self.json && !failure.answered {
            let doc = ErrorDoc {
                error: ErrorBody { code: &failure.code, message: &failure.message, exit: failure.exit as u8 },
            };
            self.answer(&doc, |_| Ok(()));
        }
    }
}
