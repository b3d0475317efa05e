//! Transfer progress on stderr: an indicatif bar (bytes, rate, ETA) when stderr is a terminal,
//! or one plain line per percent for logs and scripts (`--progress lines`), driven by the SDK's
//! progress callbacks, which report content bytes as blocks are sent, found present or fetched.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_client::upload::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ProgressMode;

/// The bar's layout: what, how far, how fast, how long still.
const TEMPLATE: &str =
    "{msg:20!} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}";

/// The progress of one transfer (a file, or every file of a folder).
pub struct Meter {
    bar: Option<ProgressBar>,
    lines: Option<Arc<Lines>>,
}

/// The plain-line reporter: a line each time the done share crosses another percent.
struct Lines {
    label: String,
    total: u64,
    done: AtomicU64,
    percent: AtomicU64,
}

impl Lines {
    fn add(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let percent = (done.min(self.total) * 100).checked_div(self.total).unwrap_or(100);
        // Only the caller that moves the percent on prints, so lines are never repeated.
        if self.percent.fetch_max(percent, Ordering::Relaxed) < percent {
            eprintln!(
                "cairn: progress {}: {percent}% ({} of {} bytes)",
                self.label,
                done.min(self.total),
                self.total
            );
        }
    }
}

impl Meter {
    /// A meter for `total` bytes labelled `label`, shown as `mode` says (never when `quiet`).
    pub fn start(mode: ProgressMode, quiet: bool, label: &str, total: u64) -> Self {
        let none = Self { bar: None, lines: None };
        if quiet {
            return none;
        }
        match mode {
            ProgressMode::None => none,
            ProgressMode::Auto if !std::io::stderr().is_terminal() => none,
            ProgressMode::Auto => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(label.to_owned());
                Self { bar: Some(bar), lines: None }
            }
            ProgressMode::Lines => {
                let lines = Lines {
                    label: label.to_owned(),
                    total,
                    done: AtomicU64::new(0),
                    percent: AtomicU64::new(0),
                };
                Self { bar: None, lines: Some(Arc::new(lines)) }
            }
        }
    }

    /// The callback to hand the SDK, if anything is shown.
    pub fn callback(&self) -> Option<Progress> {
        if let Some(bar) = &self.bar {
            let bar = bar.clone();
            return Some(Arc::new(move |bytes| bar.inc(bytes)));
        }
        let lines = self.lines.clone()?;
        Some(Arc::new(move |bytes| lines.add(bytes)))
    }

    /// Names what is moving now (the file of a folder transfer).
    pub fn set_message(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        }
    }

    /// Takes the bar off the screen, leaving the terminal to the summary.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        // A failed transfer must not leave a half-drawn bar above its error message.
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_template_is_valid() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }

    #[test]
    fn lines_report_each_percent_once_and_never_past_the_total() {
        let lines =
            Lines { label: "x".into(), total: 200, done: AtomicU64::new(0), percent: AtomicU64::new(0) };
        lines.add(1);
        assert_eq!(lines.percent.load(Ordering::Relaxed), 0);
        lines.add(3);
        assert_eq!(lines.percent.load(Ordering::Relaxed), 2);
        // A retried block is reported twice by the SDK; the meter stops at 100%.
        lines.add(400);
        assert_eq!(lines.percent.load(Ordering::Relaxed), 100);
    }
}
