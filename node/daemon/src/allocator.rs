//! Allocator tuning for a process that moves multi-MiB buffers all day.
//!
//! glibc's malloc serves allocations above a (dynamic) threshold with fresh `mmap`s and returns
//! freed memory at the top of the heap to the kernel once it exceeds a trim threshold. Block and
//! shard buffers (0.25–4 MiB) sit right at those thresholds, so every block page-faulted its
//! buffers back in: `make bench` measured the in-process pipeline on random data at 195 MB/s
//! with the defaults and 303 MB/s with the thresholds raised (mimalloc with its purging disabled
//! did the same, 296 MB/s; with its defaults, 266 MB/s). The memory kept is bounded by the peak
//! of buffers in flight, which back-pressure bounds anyway.

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
