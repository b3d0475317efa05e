//! The panic checker: no node's log shows a Rust panic.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use super::verdict::{Verdict, Violation};

/// The checker's name in verdicts.
const NAME: &str = "panics";
/// What the standard panic hook prints.
const MARKER: &str = "panicked at";
/// Lines of context kept before the panic line.
const BEFORE: usize = 2;
/// Lines of context kept after the panic line.
const AFTER: usize = 4;
/// Context lines are cut to this many characters (log lines can be huge).
const LINE_CHARS: usize = 300;

/// Scans the logs of nodes (`(node id, log file)`) for Rust panics and reports the first one
/// found (the first log in order that has one) with a few lines of context. A log that cannot
/// be read makes the verdict unknown, unless another shows a panic; so does an empty list.
/// The violation's history indices are 0: logs are not part of the history.
pub fn check(logs: &[(u64, PathBuf)]) -> Verdict {
    let mut unreadable: Vec<String> = Vec::new();
    let mut panicked: Vec<u64> = Vec::new();
    let mut first: Option<String> = None;
    let mut lines_read = 0usize;
    for (node, path) in logs {
        match scan(path) {
            Ok(scan) => {
                lines_read += scan.lines;
                if let Some(found) = scan.panic {
                    panicked.push(*node);
                    if first.is_none() {
                        first = Some(format!(
                            "Node {node} panicked ({}, line {}):\n{}",
                            path.display(),
                            found.line,
                            found.context.join("\n")
                        ));
                    }
                }
            }
            Err(err) => unreadable.push(format!("node {node} ({}): {err}", path.display())),
        }
    }
    let mut detail = format!("{} node logs, {lines_read} lines scanned", logs.len() - unreadable.len());
    if !panicked.is_empty() {
        let nodes: Vec<String> = panicked.iter().map(u64::to_string).collect();
        detail.push_str(&format!("; panics on nodes {}", nodes.join(", ")));
    }
    if !unreadable.is_empty() {
        detail.push_str(&format!("; could not read {}", unreadable.join("; ")));
    }
    match first {
        Some(description) => Verdict::invalid(NAME, logs.len(), detail, Violation::new(0, 0, description)),
        None if logs.is_empty() => Verdict::unknown(NAME, 0, "no node logs given"),
        None if !unreadable.is_empty() => Verdict::unknown(NAME, logs.len(), detail),
        None => Verdict::valid(NAME, logs.len(), detail),
    }
}

/// The first panic in a log.
struct Found {
    /// Its line number, from 1.
    line: usize,
    /// The lines around it.
    context: Vec<String>,
    /// How many of them come after it.
    after: usize,
}

/// What scanning one log found.
struct Scan {
    lines: usize,
    panic: Option<Found>,
}

/// Reads a log line by line (bytes, since a log may hold invalid UTF-8) up to the first panic
/// and a few lines after it.
fn scan(path: &PathBuf) -> std::io::Result<Scan> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut before: VecDeque<String> = VecDeque::with_capacity(BEFORE + 1);
    let mut found: Option<Found> = None;
    let mut buf = Vec::new();
    let mut lines = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        lines += 1;
        let text = String::from_utf8_lossy(&buf);
        let text: String = text.trim_end_matches(['\n', '\r']).chars().take(LINE_CHARS).collect();
        match &mut found {
            Some(f) => {
                f.context.push(text);
                f.after += 1;
                if f.after == AFTER {
                    break;
                }
            }
            None if text.contains(MARKER) => {
                let mut context: Vec<String> = before.drain(..).collect();
                context.push(text);
                found = Some(Found { line: lines, context, after: 0 });
            }
            None => {
                before.push_back(text);
                if before.len() > BEFORE {
                    before.pop_front();
                }
            }
        }
    }
    Ok(Scan { lines, panic: found })
}
