//! The rows of issue 20's table, the samples each row collected (one per rep, or per kill), and
//! the Markdown table printed at the end: min, median and max of each row's samples.

use std::collections::BTreeMap;

/// A row of the table, in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Row {
    Put,
    Get,
    PutDir,
    GetDir,
    Disk,
    MetaRate,
    MetaP50,
    MetaP99,
    RssIdle,
    RssPeak,
    KillGap,
    SyncP50,
    SyncP99,
}

impl Row {
    /// What the row says it measured, with the sizes of this run, and its unit.
    fn label(self, sizes: &Sizes) -> (String, &'static str) {
        let Sizes { big_mib, small_files, small_bytes, clients, writers } = *sizes;
        match self {
            Row::Put => (format!("`cairn put` one {big_mib} MiB file of random data"), "MiB/s"),
            Row::Get => ("`cairn get` it back".into(), "MiB/s"),
            Row::PutDir => {
                (format!("`cairn put DIR` of {small_files} × {} files", kib(small_bytes)), "files/s")
            }
            Row::GetDir => ("`cairn get DIR` of those files".into(), "files/s"),
            Row::Disk => ("disk used per byte stored (allocated blocks, all nodes)".into(), "B/B"),
            Row::MetaRate => (format!("metadata writes (make folder), {clients} HTTPS clients"), "ops/s"),
            Row::MetaP50 => ("… latency p50".into(), "ms"),
            Row::MetaP99 => ("… latency p99".into(), "ms"),
            Row::RssIdle => ("node RSS idle after the load (VmRSS, max over nodes)".into(), "MiB"),
            Row::RssPeak => ("node RSS peak (VmHWM, max over nodes)".into(), "MiB"),
            Row::KillGap => {
                (format!("leader kill -9 under {writers} writers: longest gap between acked writes"), "ms")
            }
            Row::SyncP50 => ("sync A→B of one 4 KiB file, p50".into(), "ms"),
            Row::SyncP99 => ("sync A→B of one 4 KiB file, p99".into(), "ms"),
        }
    }

    /// Decimals worth printing for values of this row.
    fn decimals(self, value: f64) -> usize {
        match self {
            Row::Disk => 3,
            _ if value >= 100.0 => 0,
            _ if value >= 10.0 => 1,
            _ => 2,
        }
    }
}

/// The sizes a run was made with, as the labels name them.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub big_mib: usize,
    pub small_files: usize,
    pub small_bytes: usize,
    pub clients: usize,
    pub writers: usize,
}

/// `bytes` as the labels show a size: whole KiB when it is one.
fn kib(bytes: usize) -> String {
    if bytes.is_multiple_of(1024) { format!("{} KiB", bytes / 1024) } else { format!("{bytes} B") }
}

/// Every row's samples.
#[derive(Default)]
pub struct Table {
    samples: BTreeMap<Row, Vec<f64>>,
}

impl Table {
    /// Adds one sample to `row`.
    pub fn add(&mut self, row: Row, value: f64) {
        self.samples.entry(row).or_default().push(value);
    }

    /// The table in Markdown, rows with no samples left out.
    pub fn markdown(&self, sizes: &Sizes) -> String {
        let mut out =
            String::from("| row | unit | min | median | max | n |\n|---|---|---:|---:|---:|---:|\n");
        for (&row, samples) in &self.samples {
            let (label, unit) = row.label(sizes);
            let (min, median, max) = summary(samples);
            let shown = |v: f64| format!("{v:.prec$}", prec = row.decimals(median));
            out.push_str(&format!(
                "| {label} | {unit} | {} | {} | {} | {} |\n",
                shown(min),
                shown(median),
                shown(max),
                samples.len()
            ));
        }
        out
    }
}

/// Min, median (the mean of the middle two for an even count) and max of `samples`.
pub fn summary(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    (sorted[0], median, sorted[n - 1])
}
