//! Allocator tuning for a process that moves multi-MiB buffers all day.
//!
//! glibc's malloc serves allocations above a (dynamic) threshold with fresh `mmap`s and returns
//! freed memory at the top of the heap to the kernel once it exceeds a trim threshold. Block and
//! shard buffers (0.25–4 MiB) sit right at those thresholds, so every block page-faulted its
//! buffers back in: `make bench` measured the in-process pipeline on random data at 195 MB/s
//! with the defaults and 303 MB/s with the thresholds raised (mimalloc with its purging disabled
//! did the same, 296 MB/s; with its defaults, 266 MB/s). The memory kept is bounded by the peak
//! of buffers in flight, which back-pressure bounds anyway.
//!
//! Kept for the next block, that heap is also what an idle node showed as resident (259 MiB
//! after the fast-paths load). So once the node has gone quiet, [`trim_when_quiet`] hands the
//! freed heap back, once per busy spell: a busy node keeps its buffers, an idle one its memory.

use std::time::Duration;

/// How often the node's CPU time is looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Quiet: under this share of one core since the last look (heartbeats and periodic scans
/// stay well under it; serving blocks does not).
const QUIET_CPU: f64 = 0.05;

/// Serve buffers up to 64 MiB from the heap and keep up to 256 MiB of freed heap, instead of
/// handing it back to the kernel after every block. Call once, at start-up.
#[allow(unsafe_code)]
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters; it is safe to call at any time,
    // from any thread, and these values are within the documented ranges.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        // Each thread that allocates may otherwise get its own arena, and memory freed in one
        // arena cannot serve another: with dozens of blocking-pool threads coding blocks, the
        // kept buffers would multiply by the thread count.
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hands the heap malloc keeps back to the kernel each time the process goes quiet after being
/// busy (a second under [`QUIET_CPU`]; a lull inside a load costs one refill). Runs until the
/// runtime stops.
pub async fn trim_when_quiet() {
    let mut last = cpu_time();
    let mut trimmed = false;
    let mut ticker = tokio::time::interval(LOOK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = cpu_time();
        let busy = now.saturating_sub(last).as_secs_f64() / LOOK_EVERY.as_secs_f64();
        last = now;
        if busy >= QUIET_CPU {
            trimmed = false;
        } else if !trimmed {
            trim();
            trimmed = true;
        }
    }
}

/// This process's CPU time so far, user and system.
#[allow(unsafe_code)]
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given, which points at
    // one; RUSAGE_SELF is always valid.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return Duration::ZERO;
        }
        usage.assume_init()
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Returns free heap to the kernel: the top of each arena and whole free pages inside them.
#[allow(unsafe_code)]
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory malloc holds free; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
    tracing::debug!("heap trimmed after a quiet spell");
}
