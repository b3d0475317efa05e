//! What Linux says about a node's process (`/proc/PID/status` and `/proc/PID/stat`): its
//! memory, and whether it has gone quiet after a load.

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/PID/stat`'s CPU times: `USER_HZ`, which Linux fixes at 100
/// for user space on every architecture we run on (asking `sysconf` would take `unsafe`).
const TICKS_PER_S: u64 = 100;
/// How often the processes are looked at while waiting for quiet.
const SAMPLE: Duration = Duration::from_millis(250);
/// How long a process must have been quiet.
const QUIET_FOR: Duration = Duration::from_secs(2);
/// Quiet: under this share of one core over [`QUIET_FOR`]. A node that only heartbeats and runs
/// its periodic scans uses well under it; one still flushing, compacting or serving does not.
const QUIET_CPU: f64 = 0.03;
/// How long to wait for quiet before measuring anyway.
const QUIET_PATIENCE: Duration = Duration::from_secs(60);

/// A process's memory, in KiB.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The most it was ever resident (`VmHWM`).
    pub peak_kib: u64,
}

/// Process `pid`'s memory; `None` if it is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    Some(Memory { rss_kib: field("VmRSS")?, peak_kib: field("VmHWM")? })
}

/// Process `pid`'s CPU time so far (user + system), in clock ticks; `None` if it is gone.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counting from 0 after the name.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Waits until every process of `pids` has used under [`QUIET_CPU`] of a core for
/// [`QUIET_FOR`], for up to [`QUIET_PATIENCE`]. Returns how long that took, or `None` if they
/// never went quiet.
pub async fn wait_quiet(pids: &[u32]) -> Option<Duration> {
    let started = Instant::now();
    let window = (QUIET_FOR.as_millis() / SAMPLE.as_millis()) as usize;
    let budget = (QUIET_CPU * QUIET_FOR.as_secs_f64() * TICKS_PER_S as f64) as u64;
    let mut history: Vec<Vec<u64>> = Vec::new();
    loop {
        history.push(pids.iter().map(|&pid| cpu_ticks(pid).unwrap_or(0)).collect());
        if history.len() > window {
            let (then, now) = (&history[history.len() - 1 - window], &history[history.len() - 1]);
            if then.iter().zip(now).all(|(a, b)| b.saturating_sub(*a) <= budget) {
                return Some(started.elapsed());
            }
        }
        if started.elapsed() >= QUIET_PATIENCE {
            return None;
        }
        tokio::time::sleep(SAMPLE).await;
    }
}
