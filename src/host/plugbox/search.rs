//! Substring search at native speed, in safe Rust without dependencies: a first-and-last-byte
//! filter over fixed-size blocks, written without an early exit inside a block so that LLVM
//! turns it into vector compares (SSE2 on any x86-64, NEON on aarch64), then a plain
//! comparison of each candidate. The work is counted, needle comparisons included, and a
//! callback runs after every `step_bytes` of it: the caller checks its deadline there.

/// Positions one pass of the filter looks at.
const BLOCK: usize = 64;

/// The first occurrence of `needle` in `hay` that starts at or after `from`, or `None`. An
/// empty needle is found at `from`, clamped to the end of `hay`. `step` runs after about
/// every `step_bytes` of work (input bytes examined plus needle bytes compared); an error from
/// it ends the search.
pub(crate) fn find<E>(
    hay: &[u8],
    needle: &[u8],
    from: usize,
    step_bytes: usize,
    mut step: impl FnMut() -> Result<(), E>,
) -> Result<Option<usize>, E> {
    let m = needle.len();
    if m == 0 {
        return Ok(Some(from.min(hay.len())));
    }
    // Where a match may start: 0..starts. `hay.len() + 1` cannot overflow (a slice is at
    // most isize::MAX bytes).
    let Some(starts) = (hay.len() + 1).checked_sub(m) else {
        return Ok(None);
    };
    let (first, last) = (needle[0], needle[m - 1]);
    let mut pos = from;
    let mut work = 0usize;
    while pos < starts {
        let count = (starts - pos).min(BLOCK);
        let candidates = count < BLOCK
            || any_candidate(block(&hay[pos..]), block(&hay[pos + m - 1..]), first, last);
        if candidates {
            for at in pos..pos + count {
                if hay[at] == first && hay[at + m - 1] == last {
                    work = work.saturating_add(m);
                    if hay[at..at + m] == *needle {
                        return Ok(Some(at));
                    }
                }
            }
        }
        work = work.saturating_add(BLOCK);
        pos += count;
        if work >= step_bytes {
            work = 0;
            step()?;
        }
    }
    Ok(None)
}

/// The first [`BLOCK`] bytes of `bytes`, which has at least that many.
#[inline(always)]
fn block(bytes: &[u8]) -> &[u8; BLOCK] {
    bytes[..BLOCK].try_into().expect("a whole block")
}

/// Whether any position of the block may start a match: its byte is the needle's first and the
/// byte `needle.len() - 1` further is the needle's last. No early exit, so that it vectorises.
#[inline(always)]
fn any_candidate(starts: &[u8; BLOCK], ends: &[u8; BLOCK], first: u8, last: u8) -> bool {
    let mut hits = 0u8;
    for (&a, &b) in starts.iter().zip(ends) {
        hits |= u8::from(a == first) & u8::from(b == last);
    }
    hits != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn naive(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        if needle.is_empty() {
            return Some(from.min(hay.len()));
        }
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    }

    fn fast(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        find::<Infallible>(hay, needle, from, 1 << 20, || Ok(())).unwrap()
    }

    #[test]
    fn agrees_with_the_naive_search() {
        // A small alphabet makes many candidates and near misses; lengths around the block
        // size exercise the tail.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 300) as usize;
            let hay: Vec<u8> = (0..len).map(|_| b"ab"[(next() % 2) as usize]).collect();
            let m = (next() % 9) as usize;
            let needle: Vec<u8> = match next() % 3 {
                0 if len >= m => {
                    let at = (next() % (len - m + 1) as u64) as usize;
                    hay[at..at + m].to_vec()
                }
                _ => (0..m).map(|_| b"ab"[(next() % 2) as usize]).collect(),
            };
            let from = (next() % (len as u64 + 3)) as usize;
            assert_eq!(
                fast(&hay, &needle, from),
                naive(&hay, &needle, from),
                "{hay:?} {needle:?} {from}"
            );
        }
    }

    #[test]
    fn edges() {
        assert_eq!(fast(b"abc", b"", 1), Some(1));
        assert_eq!(fast(b"abc", b"", 9), Some(3));
        assert_eq!(fast(b"abc", b"abcd", 0), None);
        assert_eq!(fast(b"", b"a", 0), None);
        assert_eq!(fast(b"abc", b"c", 3), None);
        assert_eq!(fast(b"abc", b"c", usize::MAX), None);
        let mut hay = vec![0u8; 1000];
        hay[999] = 7;
        assert_eq!(fast(&hay, &[0, 7], 0), Some(998));
        assert_eq!(fast(&hay, &[7], 999), Some(999));
    }

    #[test]
    fn steps_count_needle_comparisons() {
        // Every position is a candidate whose check fails half-way along the needle.
        let hay = vec![b'a'; 100_000];
        let mut needle = vec![b'a'; 4096];
        needle[2048] = b'b';
        let mut steps = 0;
        let found = find::<()>(&hay, &needle, 0, 1 << 20, || {
            steps += 1;
            Ok(())
        });
        assert_eq!(found, Ok(None));
        // About 96,000 candidates of 4096 bytes each: hundreds of steps, not the handful the
        // input size alone would give.
        assert!(steps > 300, "{steps}");
        let stopped = find(&hay, &needle, 0, 1 << 20, || Err("deadline"));
        assert_eq!(stopped, Err("deadline"));
    }

    /// Throughput against the naive `windows().position()`:
    /// `cargo test --release --lib find_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run it in release mode"]
    fn find_speed() {
        use std::hint::black_box;
        use std::time::Instant;
        let mut hay: Vec<u8> = (0..256u32 * 1024 * 1024)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80)
            .collect();
        let needle = b"MALICIOUS_MARKER";
        let len = hay.len();
        hay[len - 16..].copy_from_slice(needle);
        let gbps = |secs: f64| len as f64 / secs / 1e9;
        // What `Snapshot::scan` pays for an `Input::new` when a plugin reads through the
        // helpers: one copy into a shared buffer.
        let t = Instant::now();
        let copy = std::sync::Arc::new(black_box(&hay).to_vec());
        let copy_s = t.elapsed().as_secs_f64();
        drop(black_box(copy));
        println!(
            "copying 256 MiB into a SharedBytes (Input::new): {:.1} ms, {:.2} ms per MiB",
            copy_s * 1e3,
            copy_s * 1e3 / 256.0
        );
        // Text-like data: the needle's first and last bytes are common letters.
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog; MALICIOUS_MARKE "
            .iter()
            .copied()
            .cycle()
            .take(64 << 20)
            .collect();
        let t = Instant::now();
        let a = fast(black_box(&text), black_box(b"MALICIOUS_MARKER"), 0);
        let fast_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = naive(black_box(&text), black_box(b"MALICIOUS_MARKER"), 0);
        let naive_s = t.elapsed().as_secs_f64();
        assert_eq!((a, b), (None, None));
        println!(
            "64 MiB of text holding the needle's first byte every 62 bytes: find {:.1} GB/s, naive {:.2} GB/s",
            text.len() as f64 / fast_s / 1e9,
            text.len() as f64 / naive_s / 1e9
        );
        for round in 0..3 {
            let t = Instant::now();
            let a = fast(black_box(&hay), black_box(needle), 0);
            let fast_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let b = naive(black_box(&hay), black_box(needle), 0);
            let naive_s = t.elapsed().as_secs_f64();
            assert_eq!(a, b);
            println!(
                "round {round}: 256 MiB, needle at the end: find {:.1} GB/s ({:.1} ms), naive windows().position() {:.2} GB/s ({:.1} ms), {:.0}x",
                gbps(fast_s),
                fast_s * 1e3,
                gbps(naive_s),
                naive_s * 1e3,
                naive_s / fast_s
            );
        }
    }
}
