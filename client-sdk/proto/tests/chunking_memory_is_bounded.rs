//! A multi-GiB stream is chunked with a few MiB of memory: the chunker never holds the file.
//!
//! A counting global allocator records the peak of live heap bytes while a 4 GiB stream, made up
//! on the fly, is chunked and hashed. 4 GiB also crosses the 32-bit offset boundary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failure report.
#![allow(unsafe_code)] // A global allocator cannot be written without `unsafe`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use cairn_proto::StreamChunker;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are only
// bookkeeping next to it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// An endless-looking file of pseudo-random bytes that exists only as a blake3 XOF stream.
struct Generated {
    xof: blake3::OutputReader,
    remaining: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.remaining) as usize;
        self.xof.fill(&mut buf[..n]);
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[test]
fn four_gib_stream_is_chunked_in_a_few_mib() {
    const SIZE: u64 = 4 << 30;
    let source =
        Generated { xof: blake3::Hasher::new().update(b"bounded memory").finalize_xof(), remaining: SIZE };
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);

    let mut total = 0u64;
    let mut chunks = 0u64;
    for chunk in StreamChunker::new(source) {
        let chunk = chunk.unwrap();
        assert_eq!(chunk.offset, total);
        total += chunk.data.len() as u64;
        chunks += 1;
    }

    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    println!("{chunks} chunks, {total} bytes, peak heap {:.1} MiB", peak as f64 / (1 << 20) as f64);
    assert_eq!(total, SIZE);
    // Buffer (2 × 4 MiB) plus the chunk being handed out (≤ 4 MiB) plus small change.
    assert!(peak < 14 << 20, "peak heap {peak} bytes while chunking {SIZE} bytes");
}
