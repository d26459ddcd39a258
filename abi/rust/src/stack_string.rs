//! A string formatted on the stack.

use core::fmt;

/// A string of at most `N` bytes that lives on the stack, filled with [`write!`]: for
/// building a finding's detail or a log message without an allocator.
///
/// Text that does not fit is cut at the last char boundary that does, so the contents are
/// always valid UTF-8; [`is_truncated`](Self::is_truncated) tells whether that happened. The
/// write that cut returns [`fmt::Error`], which stops the formatting, and later writes add
/// nothing.
///
/// ```
/// use core::fmt::Write;
/// use plugbox_guest::StackString;
///
/// let mut detail = StackString::<32>::new();
/// write!(detail, "Found MALICIOUS_MARKER at offset {}", 46).unwrap_or_default();
/// assert_eq!(detail.as_str(), "Found MALICIOUS_MARKER at offset");
/// assert!(detail.is_truncated());
/// // plugbox_guest::report("Custom.MaliciousMarker", 85, &detail);
/// ```
pub struct StackString<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> StackString<N> {
    /// An empty string.
    pub const fn new() -> Self {
        StackString {
            buf: [0; N],
            len: 0,
            truncated: false,
        }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // SAFETY: `buf[..len]` only ever receives whole `&str` prefixes cut at char
        // boundaries (`write_str`), appended one after the other, so it is valid UTF-8.
        unsafe { core::str::from_utf8_unchecked(&self.buf[..self.len]) }
    }

    /// Whether some text was cut because it did not fit.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Empties the string, to write it again.
    pub fn clear(&mut self) {
        self.len = 0;
        self.truncated = false;
    }
}

impl<const N: usize> Default for StackString<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for StackString<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.truncated {
            return Err(fmt::Error);
        }
        let room = N - self.len;
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        if take < text.len() {
            self.truncated = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

impl<const N: usize> core::ops::Deref for StackString<N> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for StackString<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Display for StackString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for StackString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::StackString;
    use core::fmt::Write;

    #[test]
    fn fits() {
        let mut s = StackString::<16>::new();
        let c = 'a';
        write!(s, "{c}-{}", 12).unwrap();
        assert_eq!(s.as_str(), "a-12");
        write!(s, "{:>3}", 7).unwrap();
        assert_eq!(s.as_str(), "a-12  7");
        assert!(!s.is_truncated());
    }

    #[test]
    fn exactly_full_is_not_truncated() {
        let mut s = StackString::<4>::new();
        write!(s, "abcd").unwrap();
        assert_eq!(&*s, "abcd");
        assert!(!s.is_truncated());
        assert!(write!(s, "e").is_err());
        assert_eq!(&*s, "abcd");
        assert!(s.is_truncated());
    }

    #[test]
    fn cuts_at_a_char_boundary_and_stops() {
        // "é" is 2 bytes, "€" 3: 5 bytes of room hold "aé" (3) but not "aé€" (6).
        let mut s = StackString::<5>::new();
        assert!(write!(s, "aé€b").is_err());
        assert_eq!(s.as_str(), "aé");
        assert!(s.is_truncated());
        // Later writes add nothing, even ones that would fit.
        assert!(s.write_str("c").is_err());
        assert_eq!(s.as_str(), "aé");
        s.clear();
        s.write_str("€").unwrap();
        assert_eq!(s.as_str(), "€");
    }

    #[test]
    fn zero_capacity() {
        let mut s = StackString::<0>::new();
        assert!(s.write_str("").is_ok());
        assert!(s.write_str("x").is_err());
        assert_eq!(s.as_str(), "");
    }
}
