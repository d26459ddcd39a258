//! The glob patterns of `--exclude`: `*` (any run of characters but `/`), `?` (one character
//! but `/`), `**` (any run of characters, `/` included; `**/` also matches nothing, so `**/x`
//! matches `x`), `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]` (one character of a set, never `/`),
//! and `\` to take the next character as it is.
//!
//! Matching is linear in the pattern times the text (a table, no backtracking), so no
//! pattern can make it slow.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This character.
    Char(char),
    /// `?`: one character but `/`.
    One,
    /// `*`: any run of characters but `/`.
    Star,
    /// `**` not followed by `/`: any run of characters.
    Any,
    /// `**/`: nothing, or any run of characters that ends with `/`.
    AnyDirs,
    /// `[...]`: one character (never `/`) in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled `--exclude` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles `pattern`, or says what is wrong with it.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("the pattern is empty".into());
        }
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    let mut end = i + 2;
                    while chars.get(end) == Some(&'*') {
                        end += 1;
                    }
                    if chars.get(end) == Some(&'/') {
                        tokens.push(Token::AnyDirs);
                        end += 1;
                    } else {
                        tokens.push(Token::Any);
                    }
                    i = end;
                }
                '*' => {
                    tokens.push(Token::Star);
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                '[' => {
                    let (class, end) = class(&chars, i)?;
                    tokens.push(class);
                    i = end;
                }
                '\\' => match chars.get(i + 1) {
                    Some(&c) => {
                        tokens.push(Token::Char(c));
                        i += 2;
                    }
                    None => return Err("it ends with a lone '\\'".into()),
                },
                c => {
                    tokens.push(Token::Char(c));
                    i += 1;
                }
            }
        }
        Ok(Glob {
            text: pattern.to_owned(),
            tokens,
        })
    }

    /// The pattern as given.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (n, m) = (self.tokens.len(), text.len());
        // row[j]: tokens[i..] match text[j..], computed from the last token back.
        let mut next = vec![false; m + 1];
        next[m] = true;
        let mut row = vec![false; m + 1];
        for i in (0..n).rev() {
            let token = &self.tokens[i];
            // For `**/`: a non-empty run ending with `/` starts at j (then the rest matches).
            let mut dirs = false;
            for j in (0..=m).rev() {
                let here = text.get(j).copied();
                row[j] = match token {
                    Token::Char(c) => here == Some(*c) && next[j + 1],
                    Token::One => here.is_some_and(|c| c != '/') && next[j + 1],
                    Token::Class { negated, ranges } => {
                        here.is_some_and(|c| {
                            c != '/'
                                && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                        }) && next[j + 1]
                    }
                    // Empty here, or one more character and the same token again.
                    Token::Star => next[j] || (here.is_some_and(|c| c != '/') && row[j + 1]),
                    Token::Any => next[j] || (here.is_some() && row[j + 1]),
                    Token::AnyDirs => {
                        dirs = here.is_some() && ((here == Some('/') && next[j + 1]) || dirs);
                        next[j] || dirs
                    }
                };
            }
            std::mem::swap(&mut row, &mut next);
        }
        next[0]
    }
}

/// The class starting at `chars[start]` (`[`), and the index after its `]`.
fn class(chars: &[char], start: usize) -> Result<(Token, usize), String> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = match chars.get(i) {
            None => return Err(format!("the '[' at character {} is not closed", start + 1)),
            Some(']') if !first => return Ok((Token::Class { negated, ranges }, i + 1)),
            Some('\\') => {
                i += 1;
                *chars
                    .get(i)
                    .ok_or_else(|| "it ends with a lone '\\'".to_owned())?
            }
            Some(&c) => c,
        };
        first = false;
        i += 1;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let mut hi = chars[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *chars
                    .get(i)
                    .ok_or_else(|| "it ends with a lone '\\'".to_owned())?;
                i += 1;
            }
            if hi < c {
                return Err(format!("the range '{c}-{hi}' is reversed"));
            }
            ranges.push((c, hi));
        } else {
            ranges.push((c, c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).unwrap().matches(text)
    }

    #[test]
    fn literals_and_question_marks() {
        assert!(m("a.txt", "a.txt"));
        assert!(!m("a.txt", "a.txt2"));
        assert!(!m("a.txt", "b/a.txt"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
        assert!(!m("a?c", "ac"));
        assert!(m("é?", "éx"));
    }

    #[test]
    fn a_star_stays_within_one_component() {
        assert!(m("*.log", "x.log"));
        assert!(m("*.log", ".log"));
        assert!(!m("*.log", "dir/x.log"));
        assert!(m("dir/*.log", "dir/x.log"));
        assert!(!m("dir/*", "dir/a/b"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
    }

    #[test]
    fn a_double_star_crosses_directories() {
        assert!(m("**/node_modules", "node_modules"));
        assert!(m("**/node_modules", "a/b/node_modules"));
        assert!(!m("**/node_modules", "a/b/node_modules2"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "a/xb"));
        assert!(m("a/**", "a/x/y"));
        assert!(!m("a/**", "a"));
        assert!(m("**.bin", "x/y/z.bin"));
        assert!(m("**", "anything/at/all"));
        assert!(m("/tmp/**/*.o", "/tmp/build/x/y.o"));
        assert!(!m("/tmp/**/*.o", "/var/tmp/y.o"));
    }

    #[test]
    fn classes() {
        assert!(m("[abc].txt", "b.txt"));
        assert!(!m("[abc].txt", "d.txt"));
        assert!(m("[a-c0-9]", "7"));
        assert!(m("[!a-c]", "d"));
        assert!(m("[^a-c]", "d"));
        assert!(!m("[!a-c]", "b"));
        assert!(!m("[!a]", "/"), "a class never matches /");
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("[\\]x]", "]"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?", "a?"));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for (pattern, reason) in [
            ("", "empty"),
            ("[abc", "not closed"),
            ("x[", "not closed"),
            ("a\\", "lone"),
            ("[z-a]", "reversed"),
        ] {
            let error = Glob::new(pattern).unwrap_err();
            assert!(error.contains(reason), "{pattern:?}: {error}");
        }
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        let pattern = "*a".repeat(50) + "b";
        let text = "a".repeat(5000);
        let start = std::time::Instant::now();
        assert!(!m(&pattern, &text));
        assert!(!m(&"**a".repeat(50), &"b".repeat(5000)));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
