//! The `Range` request header of a download, parsed without I/O (RFC 9110, section 14): one
//! `bytes=` range of a representation of known size, into the half-open byte interval to send.
//!
//! Every number comes from an untrusted client, so the arithmetic is checked: a number of
//! 2^64 − 1 or more overflows the one-past-the-end arithmetic of a 64-bit size and cannot name
//! a byte of any file, so the range is refused as unsatisfiable (416), never a panic or a
//! wrapped length (`bytes=5-18446744073709551615` used to crash a debug node). Otherwise, as
//! RFC 9110 says, a last position at or past the end means "to the end", a suffix longer than
//! the file means the whole file, and a first position at or past the end, or a suffix of zero
//! bytes, cannot be satisfied. Several ranges in one header are refused as
//! malformed: the server sends one part only.

/// The bytes `[start, end)` of the file to send; never empty, `end` at most the file's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte sent.
    pub start: u64,
    /// One past the last byte sent.
    pub end: u64,
}

impl ByteRange {
    /// How many bytes the range holds.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Never true: a parsed range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Why a `Range` header was not honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not one `bytes=first-last`, `bytes=first-` or `bytes=-suffix`: answered 400.
    #[error("Range must be one `bytes=a-b`, `a-` or `-n`")]
    Malformed,
    /// Well formed, but no byte of the file is in it (or a position overflows 64 bits):
    /// answered 416 with `Content-Range: bytes */SIZE`.
    #[error("the range holds no byte of the file")]
    Unsatisfiable,
}

/// A decimal position of the header, or [`RangeError::Unsatisfiable`] for one whose successor
/// overflows 64 bits.
fn position(digits: &str) -> Result<u64, RangeError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RangeError::Malformed);
    }
    // Only overflow is left to fail: the text is all digits.
    digits.parse::<u64>().ok().filter(|n| *n < u64::MAX).ok_or(RangeError::Unsatisfiable)
}

/// Parses the `Range` header value `header` for a file of `size` bytes.
pub fn parse_range(header: &str, size: u64) -> Result<ByteRange, RangeError> {
    let header = header.trim();
    // The range unit is case-insensitive (RFC 9110, 14.1).
    let spec = match header.split_at_checked(6) {
        Some((unit, spec)) if unit.eq_ignore_ascii_case("bytes=") => spec.trim(),
        _ => return Err(RangeError::Malformed),
    };
    if spec.contains(',') {
        return Err(RangeError::Malformed);
    }
    let (first, last) = spec.split_once('-').ok_or(RangeError::Malformed)?;
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.is_empty(), last.is_empty()) {
        (true, true) => return Err(RangeError::Malformed),
        // The last n bytes; a suffix longer than the file is all of it.
        (true, false) => match position(last)? {
            0 => return Err(RangeError::Unsatisfiable),
            n => (size.saturating_sub(n), size),
        },
        (false, true) => (position(first)?, size),
        (false, false) => {
            // Both are checked before either is compared, so an overflow is always a 416.
            let (start, last) = (position(first), position(last));
            let (start, last) = (start?, last?);
            if last < start {
                return Err(RangeError::Malformed);
            }
            // `last` is inclusive and below u64::MAX; at or past the end it means the end.
            (start, (last + 1).min(size))
        }
    };
    if start >= size {
        return Err(RangeError::Unsatisfiable);
    }
    Ok(ByteRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(start: u64, end: u64) -> Result<ByteRange, RangeError> {
        Ok(ByteRange { start, end })
    }

    #[test]
    fn ranges_parse_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-9", 100), ok(0, 10));
        assert_eq!(parse_range("bytes=90-", 100), ok(90, 100));
        assert_eq!(parse_range("bytes=-10", 100), ok(90, 100));
        assert_eq!(parse_range("bytes=99-99", 100), ok(99, 100));
        assert_eq!(parse_range("BYTES= 3 - 4 ", 100), ok(3, 5));
        // Past the end: clamped to it.
        assert_eq!(parse_range("bytes=-500", 100), ok(0, 100));
        assert_eq!(parse_range("bytes=50-500", 100), ok(50, 100));
        // Nothing of the file in it.
        assert_eq!(parse_range("bytes=100-", 100), Err(RangeError::Unsatisfiable));
        assert_eq!(parse_range("bytes=100-200", 100), Err(RangeError::Unsatisfiable));
        assert_eq!(parse_range("bytes=-0", 100), Err(RangeError::Unsatisfiable));
        // An empty file has no byte to send.
        assert_eq!(parse_range("bytes=0-", 0), Err(RangeError::Unsatisfiable));
        assert_eq!(parse_range("bytes=-5", 0), Err(RangeError::Unsatisfiable));
        for bad in
            ["0-9", "bytes=", "bytes=-", "bytes=a-b", "bytes=9-3", "bytes=0-1,5-6", "items=0-1", "bytes=+1-2"]
        {
            assert_eq!(parse_range(bad, 100), Err(RangeError::Malformed), "{bad}");
        }
        assert_eq!(parse_range("bytes=1-2", 100).unwrap().len(), 2);
    }

    #[test]
    fn positions_at_the_edge_of_64_bits_neither_panic_nor_wrap() {
        let max = u64::MAX;
        // The range of the report overflows: 416, on a small file and on the largest.
        let unsatisfiable = Err(RangeError::Unsatisfiable);
        assert_eq!(parse_range(&format!("bytes=5-{max}"), 100), unsatisfiable);
        assert_eq!(parse_range(&format!("bytes=5-{max}"), max), unsatisfiable);
        assert_eq!(parse_range(&format!("bytes={max}-{max}"), 100), unsatisfiable);
        assert_eq!(parse_range(&format!("bytes={max}-"), max), unsatisfiable);
        assert_eq!(parse_range(&format!("bytes=-{max}"), 100), unsatisfiable);
        // Just below: the end of the largest file, or "to the end" of a small one.
        assert_eq!(parse_range(&format!("bytes=0-{}", max - 1), max), ok(0, max));
        assert_eq!(parse_range(&format!("bytes=5-{}", max - 1), 100), ok(5, 100));
        assert_eq!(parse_range(&format!("bytes=-{}", max - 1), 100), ok(0, 100));
        // Past 64 bits, anywhere: 416.
        let huge = "18446744073709551616";
        for header in [
            format!("bytes={huge}-"),
            format!("bytes={huge}-{huge}9"),
            format!("bytes=5-{huge}"),
            format!("bytes=-{huge}"),
            format!("bytes=5-{}", "9".repeat(400)),
            format!("bytes={huge}-4"),
        ] {
            assert_eq!(parse_range(&header, 100), unsatisfiable, "{header}");
        }
    }

    #[test]
    fn any_parsed_range_lies_inside_the_file() {
        let sizes = [0, 1, 2, 99, 100, u64::MAX - 1, u64::MAX];
        let numbers = [
            "0",
            "1",
            "2",
            "98",
            "99",
            "100",
            "18446744073709551614",
            "18446744073709551615",
            "18446744073709551616",
        ];
        for size in sizes {
            for a in numbers.iter().chain([&""]) {
                for b in numbers.iter().chain([&""]) {
                    let header = format!("bytes={a}-{b}");
                    if let Ok(r) = parse_range(&header, size) {
                        assert!(r.start < r.end && r.end <= size, "{header} of {size}: {r:?}");
                    }
                }
            }
        }
    }
}
