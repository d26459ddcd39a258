//! Showing text a plugin or a file name chose: control and invisible formatting characters
//! are escaped, so that nobody's terminal is moved, recoloured or cleared by what it reads.

use std::borrow::Cow;

/// `text` with control and invisible formatting characters escaped (`\u{1b}`, `\u{202e}`), for
/// showing plugin-chosen text (threat names, details, failure messages) on a terminal: a
/// plugin must not be able to move the cursor, recolour or clear the screen of whoever reads
/// its findings. Use it on every string a plugin chose before printing it for people.
///
/// ```
/// assert_eq!(plugbox::printable("Trojan\x1b[2J"), "Trojan\\u{1b}[2J");
/// assert_eq!(plugbox::printable("Good\u{200b}"), "Good\\u{200b}");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unprintable(c) {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Control characters, and the invisible formatting characters that can make text read other
/// than it is (bidirectional overrides, zero-width characters).
pub(crate) fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_characters_and_keeps_text() {
        assert_eq!(printable("Trojan.X détail"), "Trojan.X détail");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b[2Jb\nc\u{7}"), "a\\u{1b}[2Jb\\u{a}c\\u{7}");
        assert_eq!(printable("exe.\u{202e}txt"), "exe.\\u{202e}txt");
        assert!(!printable("\u{9b}31m").chars().any(char::is_control));
    }
}
