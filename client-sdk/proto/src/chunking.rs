//! Content-defined chunking: FastCDC cut points over a bounded streaming buffer.
//!
//! A file is cut where its content says so, not at fixed offsets, so an insertion early in a file
//! moves only the chunk it lands in and every later chunk keeps its id. Memory stays bounded by
//! the buffer (twice the maximum chunk size), whatever the size of the file.

use std::io::Read;

use fastcdc::v2020::{Normalization, cut, select_masks};

use crate::{BlockId, ProtoError};

/// FastCDC size parameters. Clients and nodes must agree on them, or dedup across devices stops
/// working; that is why they are part of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkParams {
    /// No chunk is shorter, except the last one of a file.
    pub min_size: usize,
    /// The size chunks tend towards.
    pub avg_size: usize,
    /// No chunk is longer.
    pub max_size: usize,
}

impl ChunkParams {
    /// cairn's parameters: 256 KiB / 1 MiB / 4 MiB. Large enough that per-block metadata stays
    /// small next to the data, small enough that an edit resends about a megabyte.
    pub const DEFAULT: Self = Self { min_size: 256 * 1024, avg_size: 1024 * 1024, max_size: 4 * 1024 * 1024 };

    /// Checks the parameters against FastCDC's limits.
    pub fn validate(&self) -> Result<(), ProtoError> {
        use fastcdc::v2020::{AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN};
        let Self { min_size, avg_size, max_size } = *self;
        let bad = |why: &str| Err(ProtoError::InvalidChunkParams(format!("{why} ({self:?})")));
        if !(MINIMUM_MIN..=MINIMUM_MAX).contains(&min_size) {
            return bad("min_size out of range");
        }
        if !(AVERAGE_MIN..=AVERAGE_MAX).contains(&avg_size) {
            return bad("avg_size out of range");
        }
        if !(MAXIMUM_MIN..=MAXIMUM_MAX).contains(&max_size) {
            return bad("max_size out of range");
        }
        if !(min_size <= avg_size && avg_size <= max_size) {
            return bad("sizes must satisfy min <= avg <= max");
        }
        if min_size % 2 != 0 || avg_size % 2 != 0 || max_size % 2 != 0 {
            return bad("sizes must be even");
        }
        Ok(())
    }
}

impl Default for ChunkParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One chunk of a stream: its id, where it starts, and its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Chunk {
    /// blake3 of `data`.
    pub id: BlockId,
    /// Byte offset of the chunk in the stream.
    pub offset: u64,
    /// The chunk's bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("id", &self.id)
            .field("offset", &self.offset)
            .field("len", &self.data.len())
            .finish()
    }
}

/// The pure part of chunking: where is the next cut in this buffer?
#[derive(Clone, Copy, Debug)]
struct Cutter {
    params: ChunkParams,
    mask_s: u64,
    mask_l: u64,
}

impl Cutter {
    fn new(params: ChunkParams) -> Result<Self, ProtoError> {
        params.validate()?;
        let (mask_s, mask_l) = select_masks(params.avg_size, Normalization::Level1);
        Ok(Self { params, mask_s, mask_l })
    }

    /// Length of the first chunk of `buf`. Only meaningful when `buf` holds at least `max_size`
    /// bytes or is the end of the stream, because a cut never looks further than `max_size`.
    fn first_cut(&self, buf: &[u8]) -> usize {
        let p = &self.params;
        let (_, len) = cut(
            buf,
            p.min_size,
            p.avg_size,
            p.max_size,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
        );
        len
    }
}

/// Cuts a byte slice that is already in memory into `(offset, len)` pieces.
pub fn cut_points(data: &[u8], params: ChunkParams) -> Result<Vec<(usize, usize)>, ProtoError> {
    let cutter = Cutter::new(params)?;
    let mut out = Vec::with_capacity(data.len() / params.avg_size + 1);
    let mut offset = 0;
    while offset < data.len() {
        let len = cutter.first_cut(&data[offset..]);
        out.push((offset, len));
        offset += len;
    }
    Ok(out)
}

/// The buffer both streaming chunkers share. It holds at most `2 * max_size` bytes, so it is
/// compacted (a `memmove` of less than `max_size` bytes) about once per `max_size` consumed.
/// It grows as the stream needs, from [`FIRST_READ`]: a small file's chunker zeroes a small
/// buffer, not `2 * max_size` (8 MiB by default), which had been most of the cost of sealing
/// a small file.
/// The chunk buffer's first size.
const FIRST_READ: usize = 64 * 1024;

struct ChunkBuffer {
    cutter: Cutter,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    offset: u64,
}

impl ChunkBuffer {
    fn new(params: ChunkParams) -> Result<Self, ProtoError> {
        let cutter = Cutter::new(params)?;
        Ok(Self { cutter, buf: Vec::new(), start: 0, end: 0, eof: false, offset: 0 })
    }

    /// True while a cut cannot be decided yet: less than a maximum chunk is buffered and the
    /// stream has more.
    fn wants_more(&self) -> bool {
        !self.eof && self.end - self.start < self.cutter.params.max_size
    }

    /// Space to read into, after moving the unconsumed bytes to the front, or growing the
    /// buffer, if needed. Called only while `wants_more()`, so less than `max_size` is pending
    /// and a full buffer either has consumed bytes to drop or is below its `2 * max_size` cap.
    fn spare(&mut self) -> &mut [u8] {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let cap = 2 * self.cutter.params.max_size;
                self.buf.resize((self.buf.len() * 2).clamp(FIRST_READ.min(cap), cap), 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Records the result of a read into `spare()`.
    fn filled(&mut self, n: usize) {
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
    }

    /// Cuts the next chunk. Call only when `wants_more()` is false.
    fn take(&mut self) -> Option<Chunk> {
        let pending = &self.buf[self.start..self.end];
        if pending.is_empty() {
            return None;
        }
        let len = self.cutter.first_cut(pending);
        let data = pending[..len].to_vec();
        let chunk = Chunk { id: BlockId::of(&data), offset: self.offset, data };
        self.start += len;
        self.offset += len as u64;
        Some(chunk)
    }
}

/// Cuts any [`Read`] into chunks, with memory bounded by `2 * max_size` plus the chunk handed out.
pub struct StreamChunker<R> {
    source: R,
    state: ChunkBuffer,
}

impl<R: Read> StreamChunker<R> {
    /// A chunker over `source` with cairn's default parameters.
    pub fn new(source: R) -> Self {
        // The default parameters are valid by construction; a unit test checks it.
        Self::with_params(source, ChunkParams::DEFAULT).unwrap_or_else(|_| unreachable!())
    }

    /// A chunker over `source` with other parameters (tests, benchmarks).
    pub fn with_params(source: R, params: ChunkParams) -> Result<Self, ProtoError> {
        Ok(Self { source, state: ChunkBuffer::new(params)? })
    }

    /// The next chunk, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ProtoError> {
        while self.state.wants_more() {
            let n = match self.source.read(self.state.spare()) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ProtoError::Read(e)),
            };
            self.state.filled(n);
        }
        Ok(self.state.take())
    }
}

impl<R: Read> Iterator for StreamChunker<R> {
    type Item = Result<Chunk, ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

/// Cuts any tokio [`AsyncRead`](tokio::io::AsyncRead) into chunks, with the same bounded memory
/// and the same cut points as [`StreamChunker`].
#[cfg(feature = "tokio")]
pub struct AsyncStreamChunker<R> {
    source: R,
    state: ChunkBuffer,
}

#[cfg(feature = "tokio")]
impl<R: tokio::io::AsyncRead + Unpin> AsyncStreamChunker<R> {
    /// A chunker over `source` with cairn's default parameters.
    pub fn new(source: R) -> Self {
        Self::with_params(source, ChunkParams::DEFAULT).unwrap_or_else(|_| unreachable!())
    }

    /// A chunker over `source` with other parameters.
    pub fn with_params(source: R, params: ChunkParams) -> Result<Self, ProtoError> {
        Ok(Self { source, state: ChunkBuffer::new(params)? })
    }

    /// The next chunk, or `None` at the end of the stream.
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, ProtoError> {
        use tokio::io::AsyncReadExt;
        while self.state.wants_more() {
            let n = self.source.read(self.state.spare()).await?;
            self.state.filled(n);
        }
        Ok(self.state.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_data::random;

    fn stream_ids(data: &[u8], params: ChunkParams) -> Vec<(u64, usize, BlockId)> {
        StreamChunker::with_params(data, params)
            .unwrap()
            .map(|c| {
                let c = c.unwrap();
                (c.offset, c.data.len(), c.id)
            })
            .collect()
    }

    #[test]
    fn default_params_are_valid() {
        ChunkParams::DEFAULT.validate().unwrap();
    }

    #[test]
    fn bad_params_are_refused() {
        let p = ChunkParams { min_size: 32, avg_size: 1024, max_size: 65536 };
        assert!(p.validate().unwrap_err().to_string().contains("out of range"));
        let p = ChunkParams { min_size: 8192, avg_size: 4096, max_size: 65536 };
        assert!(p.validate().unwrap_err().to_string().contains("min <= avg <= max"));
        assert!(StreamChunker::with_params(&b""[..], p).is_err());
    }

    #[test]
    fn empty_stream_has_no_chunks() {
        assert!(stream_ids(&[], ChunkParams::DEFAULT).is_empty());
    }

    #[test]
    fn chunk_sizes_respect_the_bounds() {
        let data = random(24 << 20, 1);
        let chunks = stream_ids(&data, ChunkParams::DEFAULT);
        let (last, rest) = chunks.split_last().unwrap();
        for (_, len, _) in rest {
            assert!((256 << 10..=4 << 20).contains(len), "chunk of {len} bytes");
        }
        assert!(last.1 <= 4 << 20);
        let mean = data.len() / chunks.len();
        assert!((512 << 10..=2 << 20).contains(&mean), "mean chunk {mean}");
    }

    #[test]
    fn streaming_matches_in_memory_cut_points() {
        let data = random(13 << 20, 2);
        let streamed: Vec<_> =
            stream_ids(&data, ChunkParams::DEFAULT).into_iter().map(|(o, l, _)| (o as usize, l)).collect();
        assert_eq!(streamed, cut_points(&data, ChunkParams::DEFAULT).unwrap());
    }

    /// A reader that hands out at most 7 bytes per call, like a slow pipe.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_give_the_same_chunks() {
        let params = ChunkParams { min_size: 1024, avg_size: 4096, max_size: 16384 };
        let data = random(300_000, 3);
        let trickled: Vec<_> =
            StreamChunker::with_params(Trickle(&data), params).unwrap().map(|c| c.unwrap().id).collect();
        let whole: Vec<_> = stream_ids(&data, params).into_iter().map(|c| c.2).collect();
        assert_eq!(trickled, whole);
    }

    #[test]
    fn a_small_stream_keeps_a_small_buffer() {
        let data = random(4096, 5);
        let mut chunker = StreamChunker::new(&data[..]);
        assert_eq!(chunker.next_chunk().unwrap().unwrap().data, data);
        assert!(chunker.next_chunk().unwrap().is_none());
        assert_eq!(chunker.state.buf.len(), FIRST_READ, "a 4 KiB file zeroed a large buffer");
    }

    #[test]
    fn read_errors_surface() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk went away"))
            }
        }
        let err = StreamChunker::new(Broken).next().unwrap().unwrap_err();
        assert!(err.to_string().contains("disk went away"), "{err}");
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn async_chunker_matches_sync() {
        let data = random(9 << 20, 4);
        let mut chunker = AsyncStreamChunker::new(&data[..]);
        let mut ids = Vec::new();
        while let Some(c) = chunker.next_chunk().await.unwrap() {
            ids.push(c.id);
        }
        let sync: Vec<_> = stream_ids(&data, ChunkParams::DEFAULT).into_iter().map(|c| c.2).collect();
        assert_eq!(ids, sync);
    }
}
