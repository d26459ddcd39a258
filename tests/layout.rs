//! Layout checks on `src/`: the library's top-level modules must not depend on each other in a
//! cycle, and no source file may grow past [`MAX_LINES`] lines.
//!
//! `cargo test --test layout -- --nocapture` also prints the module graph (`a -> b, c`).
//!
//! How the graph is built (std only, no parser crate):
//! - every `.rs` file under `src/` except `src/main.rs`, `src/lib.rs` and `src/cli/**` (the CLI
//!   binary uses the library through `plugbox::`) belongs to a top-level module:
//!   `src/foo.rs` and `src/foo/**` are `foo`;
//! - its references are the first segment of every `crate::NAME` path (also `$crate::NAME`),
//!   including each first segment at brace depth 1 of a grouped path
//!   (`use crate::{a::X, b, c::{d, e}}` refers to `a`, `b` and `c`), and of every `super::` chain
//!   that climbs to the crate root (`super::super::NAME` in `src/foo/bar.rs`), inline `mod x { .. }`
//!   blocks included;
//! - comments (`//`, `///`, `//!`, `/* */`, nested) are ignored, so doc links like
//!   ``[`X`](crate::foo::X)`` make no edge; so are string, byte-string, raw-string and char
//!   literals: `"crate::x"` is text, not a dependency;
//! - names that are not top-level modules (`crate::HostConfig`, a re-export at the root) and
//!   references to the file's own module make no edge.
//!
//! The parser's behaviour is pinned by the unit tests at the bottom of this file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a `.rs` file under `src/` may be.
const MAX_LINES: usize = 600;

type Graph = BTreeMap<String, BTreeSet<String>>;

// ---------------------------------------------------------------------------------------------
// The checks

#[test]
fn top_level_modules_have_no_cycles() {
    let src = src_dir();
    let files = rust_files(&src);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| top_level_module(&src, f))
        .collect();

    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let Some(module) = top_level_module(&src, file) else {
            continue;
        };
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let depth = module_depth(&src, file);
        for name in crate_references(&text, depth) {
            if name != module && modules.contains(&name) {
                graph.get_mut(&module).unwrap().insert(name);
            }
        }
    }

    println!(
        "module graph of src/ ({} modules; a -> b: a uses crate::b):",
        graph.len()
    );
    for (from, to) in &graph {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        if to.is_empty() {
            println!("  {from}");
        } else {
            println!("  {from} -> {}", to.join(", "));
        }
    }

    let sccs: Vec<Vec<String>> = strongly_connected(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    if !sccs.is_empty() {
        let mut report = String::new();
        for scc in &sccs {
            report += &format!("\n  modules in one cycle: {}\n", scc.join(", "));
            for cycle in cycles_in(&graph, scc) {
                report += &format!("    {}\n", cycle.join(" -> "));
            }
        }
        panic!(
            "the top-level modules of src/ depend on each other in cycles (each edge of a cycle \
             is listed in the shortest cycle through it; break one edge per cycle):{report}"
        );
    }
}

#[test]
fn source_files_are_short() {
    let src = src_dir();
    let mut too_long = Vec::new();
    for file in rust_files(&src) {
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let lines = text.lines().count();
        if lines > MAX_LINES {
            let shown = file.strip_prefix(src.parent().unwrap()).unwrap_or(&file);
            too_long.push(format!("  {}: {lines} lines", shown.display()));
        }
    }
    assert!(
        too_long.is_empty(),
        "source files over {MAX_LINES} lines (split them):\n{}",
        too_long.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Files and modules

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The path components of `file` below `src`, as strings.
fn components(src: &Path, file: &Path) -> Vec<String> {
    file.strip_prefix(src)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// `src/foo.rs` and `src/foo/**` → `foo`; `None` for the crate roots and the CLI.
fn top_level_module(src: &Path, file: &Path) -> Option<String> {
    let parts = components(src, file);
    let first = parts.first()?;
    if parts.len() == 1 && (first == "main.rs" || first == "lib.rs") {
        return None;
    }
    let name = first.strip_suffix(".rs").unwrap_or(first);
    if name == "cli" {
        return None;
    }
    Some(name.to_string())
}

/// How deep the file's module sits below the crate root: `src/foo.rs` and `src/foo/mod.rs` are
/// 1, `src/foo/bar.rs` is 2.
fn module_depth(src: &Path, file: &Path) -> usize {
    let parts = components(src, file);
    if parts.last().is_some_and(|p| p == "mod.rs") {
        parts.len() - 1
    } else {
        parts.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Graph algorithms

/// Tarjan's strongly connected components, each sorted, in a deterministic order.
fn strongly_connected(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            component.sort();
            s.out.push(component);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// For every edge `u -> v` inside the component, the shortest cycle through it
/// (`u -> v -> .. -> u`), rotated to start at its smallest module, deduplicated, shortest first.
fn cycles_in(graph: &Graph, scc: &[String]) -> Vec<Vec<String>> {
    let members: BTreeSet<&str> = scc.iter().map(String::as_str).collect();
    let mut cycles = BTreeSet::new();
    for u in scc {
        for v in graph[u].iter().filter(|v| members.contains(v.as_str())) {
            // Shortest path v -> u inside the component (it exists: same SCC).
            let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = VecDeque::from([v.as_str()]);
            let mut seen = BTreeSet::from([v.as_str()]);
            while let Some(x) = queue.pop_front() {
                if x == u {
                    break;
                }
                for y in graph[x]
                    .iter()
                    .map(String::as_str)
                    .filter(|y| members.contains(y))
                {
                    if seen.insert(y) {
                        previous.insert(y, x);
                        queue.push_back(y);
                    }
                }
            }
            let mut path = vec![u.as_str()];
            let mut x = u.as_str();
            while x != v {
                x = previous[x];
                path.push(x);
            }
            path.reverse(); // v .. u
            let mut cycle: Vec<String> = std::iter::once(u.as_str())
                .chain(path)
                .map(String::from)
                .collect();
            cycle.pop(); // u -> v -> .. (without the closing u)
            let start = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap();
            cycle.rotate_left(start);
            cycle.push(cycle[0].clone());
            cycles.insert((cycle.len(), cycle));
        }
    }
    cycles.into_iter().map(|(_, cycle)| cycle).collect()
}

// ---------------------------------------------------------------------------------------------
// The reference parser

/// `text` with every comment and the contents of every string, byte-string, raw-string and char
/// literal replaced by spaces (newlines kept, so line structure survives).
fn strip_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            // Line comment (also `///` and `//!`): up to the end of the line.
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            // Block comment; Rust's nest.
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if !prev_ident && raw_string_start(&c, i).is_some() {
            // r"..", r#".."#, br#".."#: no escapes, ends at `"` plus as many `#`.
            let (hashes, quote) = raw_string_start(&c, i).unwrap();
            out.extend(&c[i..=quote]);
            i = quote + 1;
            while i < c.len() {
                if c[i] == '"'
                    && c[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    out.push('"');
                    out.extend(std::iter::repeat_n('#', hashes));
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '"' {
            // "..", b"..", c"..": backslash escapes.
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' && i + 1 < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
            if i < c.len() {
                out.push('"');
                i += 1;
            }
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{..}', '"') or a lifetime ('a), which stays.
            let end = if c.get(i + 1) == Some(&'\\') {
                (i + 2..c.len()).find(|&j| c[j] == '\'' && j > i + 2)
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push('\'');
                    for &ch in &c[i + 1..end] {
                        blank(&mut out, ch);
                    }
                    out.push('\'');
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// At `i`, `r#*"` or `br#*"`: the number of `#` and the index of the opening quote.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if c.get(j) == Some(&'b') || c.get(j) == Some(&'c') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = c[j..].iter().take_while(|&&h| h == '#').count();
    j += hashes;
    (c.get(j) == Some(&'"')).then_some((hashes, j))
}

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and single punctuation characters of comment- and literal-free code
/// (numbers, whitespace and the blanked literals' quotes are dropped).
fn tokens(code: &str) -> Vec<Token> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(c[start..i].iter().collect()));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Token::PathSep);
            i += 2;
        } else {
            if !ch.is_whitespace() && ch != '"' && ch != '\'' {
                out.push(Token::Punct(ch));
            }
            i += 1;
        }
    }
    out
}

/// The top-level names a file refers to through `crate::` (and `super::` chains reaching the
/// crate root), sorted and deduplicated. `depth` is the file's module depth below the crate
/// root (1 for `src/foo.rs` and `src/foo/mod.rs`). Names that are not modules (items re-exported
/// at the root) are returned too; the caller keeps the module names.
fn crate_references(text: &str, depth: usize) -> BTreeSet<String> {
    let toks = tokens(&strip_comments_and_literals(text));
    let ident = |i: usize| match toks.get(i) {
        Some(Token::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    let mut names = BTreeSet::new();
    // Inline `mod x { .. }` blocks deepen `super::`: the brace depths at which they close.
    let mut braces = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Token::Punct('{') => braces += 1,
            Token::Punct('}') => {
                braces = braces.saturating_sub(1);
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
            }
            // `mod NAME {`: an inline module.
            Token::Ident(word)
                if word == "mod"
                    && ident(i + 1).is_some()
                    && toks.get(i + 2) == Some(&Token::Punct('{')) =>
            {
                inline_mods.push(braces);
                braces += 1;
                i += 3;
                continue;
            }
            // `crate::` or `super::` starting a path (not `x::crate`, not `pub(super)`).
            Token::Ident(word)
                if (word == "crate" || word == "super")
                    && (i == 0 || toks[i - 1] != Token::PathSep)
                    && toks.get(i + 1) == Some(&Token::PathSep) =>
            {
                let mut j = i + 2;
                let at_root = if word == "crate" {
                    true
                } else {
                    let mut climbs = 1;
                    while ident(j) == Some("super") && toks.get(j + 1) == Some(&Token::PathSep) {
                        climbs += 1;
                        j += 2;
                    }
                    climbs == depth + inline_mods.len()
                };
                if at_root {
                    first_segments(&toks, j, &mut names);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names.retain(|n| !matches!(n.as_str(), "self" | "super" | "crate"));
    names
}

/// The path's first segment(s) starting at token `i`, right after `crate::`: `NAME`, or every
/// first segment at brace depth 1 of a `{ .. }` group; `*` names nothing.
fn first_segments(toks: &[Token], i: usize, names: &mut BTreeSet<String>) {
    match toks.get(i) {
        Some(Token::Ident(name)) => {
            names.insert(name.clone());
        }
        Some(Token::Punct('{')) => {
            let mut depth = 0;
            let mut expect_name = true;
            for tok in &toks[i..] {
                match tok {
                    Token::Punct('{') => depth += 1,
                    Token::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Punct(',') if depth == 1 => expect_name = true,
                    Token::Ident(name) if depth == 1 && expect_name => {
                        names.insert(name.clone());
                        expect_name = false;
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The parser's behaviour

#[cfg(test)]
mod parser {
    use super::*;

    fn refs(text: &str) -> Vec<String> {
        crate_references(text, 1).into_iter().collect()
    }

    #[test]
    fn plain_paths_count_their_first_segment() {
        assert_eq!(
            refs("use crate::host::HostState;\nfn f() { crate::runtime::engine(); }"),
            ["host", "runtime"]
        );
        assert_eq!(
            refs("pub(crate) use crate::sandbox::budget::CallCost;"),
            ["sandbox"]
        );
        assert_eq!(refs("use crate :: files;"), ["files"]);
        assert_eq!(refs("use crate::error;"), ["error"]);
        assert_eq!(refs("pub(crate) fn f() {}"), Vec::<String>::new());
    }

    #[test]
    fn grouped_imports_count_each_first_segment_at_depth_one() {
        assert_eq!(refs("use crate::{a::X, b, c::{d, e}};"), ["a", "b", "c"]);
        assert_eq!(
            refs("use crate::{\n    a::{b::{c, d}, e},\n    f as g,\n    self,\n};"),
            ["a", "f"]
        );
        assert_eq!(refs("use crate::*;"), Vec::<String>::new());
        // A group outside `crate::`: the `crate::` inside it still counts.
        assert_eq!(refs("use {crate::a::X, std::fmt};"), ["a"]);
    }

    #[test]
    fn comments_are_ignored() {
        let text = "//! See [`x`](crate::aa::X).\n\
                    /// Uses [`Y`](crate::bb::Y).\n\
                    // crate::cc\n\
                    use crate::dd; // crate::ee\n\
                    /* crate::ff /* nested crate::gg */ crate::hh */\n\
                    fn f() -> u32 { 1 /* crate::ii */ }";
        assert_eq!(refs(text), ["dd"]);
    }

    #[test]
    fn string_and_char_literals_are_text_not_references() {
        // Documented choice: `crate::x` inside any literal is not a dependency, and a `//`
        // inside a string does not start a comment.
        let text = r###"
            const A: &str = "crate::aa // not a comment"; use crate::bb;
            const B: &str = "escaped \" crate::cc"; use crate::dd;
            const C: &str = r#"raw " crate::ee"#; use crate::ff;
            const D: &[u8] = br"crate::gg"; const E: char = '"'; use crate::hh;
            const F: char = '\''; fn g<'a>(x: &'a str) -> &'a str { crate::ii::f(x) }
        "###;
        assert_eq!(refs(text), ["bb", "dd", "ff", "hh", "ii"]);
    }

    #[test]
    fn super_chains_count_only_when_they_reach_the_root() {
        // In src/foo/bar.rs (depth 2): super::x is foo::x, super::super::x is crate::x.
        assert_eq!(
            crate_references("use super::x; use super::super::y;", 2)
                .into_iter()
                .collect::<Vec<_>>(),
            ["y"]
        );
        // An inline module adds a level.
        let text = "mod tests { use super::super::z; use super::*; }\nuse super::w;";
        assert_eq!(
            crate_references(text, 1).into_iter().collect::<Vec<_>>(),
            ["w", "z"]
        );
        assert!(crate_references("pub(super) fn f() {}", 1).is_empty());
    }

    #[test]
    fn macro_crate_paths_count() {
        assert_eq!(
            refs("macro_rules! m { () => { $crate::host::f() }; }"),
            ["host"]
        );
    }

    #[test]
    fn cycles_are_found_and_printed_from_their_smallest_module() {
        let mut graph = Graph::new();
        for (a, b) in [
            ("a", "b"),
            ("b", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "c"),
            ("c", "e"),
            ("f", "a"),
        ] {
            graph.entry(a.into()).or_default().insert(b.into());
            graph.entry(b.into()).or_default();
        }
        let sccs: Vec<_> = strongly_connected(&graph)
            .into_iter()
            .filter(|c| c.len() > 1)
            .collect();
        assert_eq!(sccs, [vec!["a", "b"], vec!["c", "d", "e"]]);
        let cycles: Vec<String> = cycles_in(&graph, &sccs[1])
            .iter()
            .map(|c| c.join(" -> "))
            .collect();
        assert_eq!(cycles, ["c -> e -> c", "c -> d -> e -> c"]);
    }
}
