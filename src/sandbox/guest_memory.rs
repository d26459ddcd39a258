//! Bounds-checked access to guest linear memory (CONTRACT §4): every pointer and length a
//! plugin hands the host goes through here, and an out-of-range one becomes a trap of that
//! plugin's call, never a host panic.

use std::ops::Range;

/// Checks that `len` bytes at `ptr` lie inside a memory of `size` bytes. Guest pointers and
/// lengths are unsigned 32-bit values that arrive as `i32`; `what` names the argument pair in
/// the trap message (e.g. `report_finding name`).
pub(crate) fn range(
    size: usize,
    ptr: i32,
    len: i32,
    what: &str,
) -> Result<Range<usize>, wasmi::Error> {
    let (start, count) = (ptr as u32 as usize, len as u32 as usize);
    match start.checked_add(count) {
        Some(end) if end <= size => Ok(start..end),
        _ => Err(wasmi::Error::new(format!(
            "{what}: {count} bytes at address {start} lie outside guest memory ({size} bytes)"
        ))),
    }
}

/// Reads a guest string whose whole range must be in bounds, keeping at most `keep` bytes of
/// text. Returns the text (lossy UTF-8) and how many guest bytes were cut.
pub(crate) fn read_str(
    memory: &[u8],
    ptr: i32,
    len: i32,
    keep: usize,
    what: &str,
) -> Result<(String, u64), wasmi::Error> {
    let bytes = &memory[range(memory.len(), ptr, len, what)?];
    let (text, used) = lossy_prefix(bytes, keep);
    Ok((text, (bytes.len() - used) as u64))
}

/// The longest lossy UTF-8 decoding of a prefix of `bytes` that fits in `keep` bytes, and the
/// length of that prefix. An invalid sequence becomes U+FFFD, three bytes for one or more, so
/// the text is bounded in bytes, not only the input; and only about `keep` input bytes are
/// ever looked at.
fn lossy_prefix(bytes: &[u8], keep: usize) -> (String, usize) {
    // A character starting before `keep` ends at most 3 bytes after it.
    let window = &bytes[..bytes.len().min(keep.saturating_add(4))];
    let mut text = String::with_capacity(window.len().min(keep));
    let mut used = 0;
    for chunk in window.utf8_chunks() {
        let valid = chunk.valid();
        let room = keep - text.len();
        if valid.len() > room {
            let end = (0..=room)
                .rev()
                .find(|&i| valid.is_char_boundary(i))
                .unwrap_or(0);
            text.push_str(&valid[..end]);
            return (text, used + end);
        }
        text.push_str(valid);
        used += valid.len();
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            if keep - text.len() < char::REPLACEMENT_CHARACTER.len_utf8() {
                return (text, used);
            }
            text.push(char::REPLACEMENT_CHARACTER);
            used += invalid.len();
        }
    }
    (text, used)
}

/// Copies as much of `value` as fits in the guest buffer `[ptr, ptr+len)`, which must lie in
/// bounds as a whole, and returns the full length of `value` (the caller may retry larger).
pub(crate) fn write_truncated(
    memory: &mut [u8],
    ptr: i32,
    len: i32,
    value: &[u8],
    what: &str,
) -> Result<i32, wasmi::Error> {
    let buf = range(memory.len(), ptr, len, what)?;
    let n = buf.len().min(value.len());
    memory[buf.start..buf.start + n].copy_from_slice(&value[..n]);
    Ok(i32::try_from(value.len()).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ranges_inside_and_up_to_the_end() {
        assert_eq!(range(10, 0, 10, "x").unwrap(), 0..10);
        assert_eq!(range(10, 10, 0, "x").unwrap(), 10..10);
    }

    #[test]
    fn refuses_out_of_range_wrapping_and_negative_values() {
        for (ptr, len) in [
            (0, 11),
            (11, 0),
            (-1, 1),
            (1, -1),
            (i32::MAX, i32::MAX),
            (-1, -1),
        ] {
            let e = range(10, ptr, len, "report_finding name").unwrap_err();
            assert!(e.to_string().starts_with("report_finding name:"), "{e}");
        }
    }

    #[test]
    fn read_str_cuts_and_counts() {
        let (s, cut) = read_str(b"hello world", 0, 11, 5, "x").unwrap();
        assert_eq!((s.as_str(), cut), ("hello", 6));
        let (s, _) = read_str(b"\xffok", 0, 3, 10, "x").unwrap();
        assert_eq!(s, "\u{fffd}ok");
    }

    #[test]
    fn invalid_utf8_cannot_grow_a_string_past_its_cap() {
        // Each invalid byte decodes to three: the cap holds for the text, not only the input.
        let (s, cut) = read_str(&[0xff; 100], 0, 100, 10, "x").unwrap();
        assert!(s.len() <= 10, "{} bytes", s.len());
        assert_eq!(s, "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(cut, 97);
        // A character is never split.
        let (s, cut) = read_str("aé€".as_bytes(), 0, 6, 4, "x").unwrap();
        assert_eq!((s.as_str(), cut), ("aé", 3));
        for keep in 0..12 {
            let (s, cut) = read_str(b"ab\xffcd\xe2\x82ef", 0, 9, keep, "x").unwrap();
            assert!(s.len() <= keep);
            assert!(cut <= 9);
        }
    }

    #[test]
    fn write_truncated_returns_full_length() {
        let mut mem = [0u8; 8];
        assert_eq!(write_truncated(&mut mem, 2, 3, b"abcdef", "x").unwrap(), 6);
        assert_eq!(&mem, b"\0\0abc\0\0\0");
        assert!(write_truncated(&mut mem, 6, 3, b"ab", "x").is_err());
    }
}
