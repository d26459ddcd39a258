//! `plugbox scan` arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use log::LevelFilter;
use plugbox::limits::{MAX_EXEC_MS_RANGE, MAX_MEMORY_MB_RANGE};

use super::args::{Command, number, text};
use super::glob::Glob;

/// Most `--jobs` accepted.
pub const MAX_JOBS: usize = 1024;

/// `plugbox scan` arguments.
#[derive(Debug)]
pub struct ScanArgs {
    pub plugins: Option<PathBuf>,
    pub json: bool,
    pub fail_score: u32,
    pub log_level: Option<LevelFilter>,
    /// The PATH arguments, scanned first.
    pub paths: Vec<PathBuf>,
    /// `--files-from`: a file of paths, `-` for stdin.
    pub files_from: Option<PathBuf>,
    /// `-0`: the paths in `--files-from` end with NUL, not a newline.
    pub null: bool,
    /// `--jobs`, or the available cores.
    pub jobs: usize,
    pub quiet: bool,
    pub max_exec_ms: Option<u32>,
    pub max_memory_mb: Option<u32>,
    /// `--max-file-size`, in bytes.
    pub max_file_size: Option<u64>,
    pub excludes: Vec<Glob>,
    pub alert_exceeds_max: bool,
}

impl ScanArgs {
    fn new() -> Self {
        Self {
            plugins: None,
            json: false,
            fail_score: 60,
            log_level: None,
            paths: Vec::new(),
            files_from: None,
            null: false,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_JOBS)),
            quiet: false,
            max_exec_ms: None,
            max_memory_mb: None,
            max_file_size: None,
            excludes: Vec::new(),
            alert_exceeds_max: false,
        }
    }
}

/// Parses what follows `scan`.
pub fn parse_scan(mut parser: lexopt::Parser) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut scan = ScanArgs::new();
    while let Some(arg) = parser.next().map_err(text)? {
        match arg {
            Long("plugins") => scan.plugins = Some(parser.value().map_err(text)?.into()),
            Long("json") => scan.json = true,
            Long("fail-score") => {
                scan.fail_score = number("--fail-score", parser.value().map_err(text)?, 0, 100)?
            }
            Long("log-level") => {
                let value = parser.value().map_err(text)?;
                scan.log_level = Some(value.to_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    format!(
                        "--log-level: expected off, error, warn, info, debug or trace, found '{}'",
                        value.to_string_lossy()
                    )
                })?);
            }
            Long("files-from") => {
                if scan.files_from.is_some() {
                    return Err("--files-from: may be given once".into());
                }
                let value = parser.value().map_err(text)?;
                if value.is_empty() {
                    return Err("--files-from: expected a file name or `-` for stdin".into());
                }
                scan.files_from = Some(value.into());
            }
            Short('0') | Long("null") => scan.null = true,
            Short('j') | Long("jobs") => {
                scan.jobs = number("--jobs", parser.value().map_err(text)?, 1, MAX_JOBS)?
            }
            Short('q') | Long("quiet") => scan.quiet = true,
            Long("max-exec-ms") => {
                let (low, high) = MAX_EXEC_MS_RANGE;
                let value = parser.value().map_err(text)?;
                scan.max_exec_ms = Some(number("--max-exec-ms", value, low, high)?);
            }
            Long("max-memory-mb") => {
                let (low, high) = MAX_MEMORY_MB_RANGE;
                let value = parser.value().map_err(text)?;
                scan.max_memory_mb = Some(number("--max-memory-mb", value, low, high)?);
            }
            Long("max-file-size") => {
                scan.max_file_size = Some(size("--max-file-size", parser.value().map_err(text)?)?)
            }
            Long("exclude") => {
                let value = parser.value().map_err(text)?;
                let pattern = value.to_str().ok_or_else(|| {
                    format!(
                        "--exclude: '{}' is not valid UTF-8",
                        value.to_string_lossy()
                    )
                })?;
                let glob = Glob::new(pattern)
                    .map_err(|reason| format!("--exclude: bad pattern '{pattern}': {reason}"))?;
                scan.excludes.push(glob);
            }
            Long("alert-exceeds-max") => scan.alert_exceeds_max = true,
            Short('h') | Long("help") => return Ok(Command::Help),
            Value(path) => scan.paths.push(path.into()),
            other => return Err(format!("{} (see --help)", other.unexpected())),
        }
    }
    if scan.null && scan.files_from.is_none() {
        return Err("--null (-0): only with --files-from, whose paths it separates".into());
    }
    if scan.paths.is_empty() && scan.files_from.is_none() {
        return Err(
            "scan: no PATH given; name the files or directories to scan, or give --files-from"
                .into(),
        );
    }
    Ok(Command::Scan(scan))
}

/// A size in bytes with an optional `K`, `M` or `G` suffix (KiB, MiB, GiB; either case).
pub fn size(flag: &str, value: OsString) -> Result<u64, String> {
    let bad = |why: &str| {
        format!(
            "{flag}: expected a size in bytes with an optional K, M or G suffix (e.g. 512K), {why}, found '{}'",
            value.to_string_lossy()
        )
    };
    let text = value.to_str().ok_or_else(|| bad("in ASCII"))?;
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    if text.ends_with(|c: char| c.is_ascii_alphabetic()) && shift == 0 {
        return Err(bad("the only suffixes are K, M and G"));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("a whole number"));
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| bad("at most 2^64 - 1 bytes"))
}

#[cfg(test)]
mod tests {
    use super::super::args::parse;
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    fn scan(args: &[&str]) -> ScanArgs {
        match parse_str(args) {
            Ok(Command::Scan(scan)) => scan,
            other => panic!("expected scan: {other:?}"),
        }
    }

    #[test]
    fn parses_scan_options() {
        let scan = scan(&[
            "scan",
            "--plugins",
            "p",
            "--json",
            "--fail-score",
            "30",
            "--log-level",
            "debug",
            "a",
            "b",
        ]);
        assert_eq!(scan.plugins, Some(PathBuf::from("p")));
        assert!(scan.json);
        assert_eq!(scan.fail_score, 30);
        assert_eq!(scan.log_level, Some(LevelFilter::Debug));
        assert_eq!(scan.paths, [PathBuf::from("a"), PathBuf::from("b")]);
        assert!(scan.jobs >= 1);
        assert!(!scan.quiet && !scan.alert_exceeds_max && scan.files_from.is_none());
    }

    #[test]
    fn parses_streaming_parallel_and_limit_options() {
        let scan = scan(&[
            "scan",
            "--files-from",
            "-",
            "-0",
            "-j",
            "3",
            "-q",
            "--max-exec-ms",
            "100",
            "--max-memory-mb=8",
            "--max-file-size",
            "2M",
            "--exclude",
            "*.log",
            "--exclude",
            "**/.git",
            "--alert-exceeds-max",
        ]);
        assert_eq!(scan.files_from, Some(PathBuf::from("-")));
        assert!(scan.null && scan.quiet && scan.alert_exceeds_max);
        assert_eq!(scan.jobs, 3);
        assert_eq!((scan.max_exec_ms, scan.max_memory_mb), (Some(100), Some(8)));
        assert_eq!(scan.max_file_size, Some(2 << 20));
        let excludes: Vec<&str> = scan.excludes.iter().map(Glob::as_str).collect();
        assert_eq!(excludes, ["*.log", "**/.git"]);
        assert!(scan.paths.is_empty(), "--files-from alone needs no PATH");
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        let s = |v: &str| size("--max-file-size", v.into());
        assert_eq!(s("0"), Ok(0));
        assert_eq!(s("4096"), Ok(4096));
        assert_eq!(s("4k"), Ok(4096));
        assert_eq!(s("3M"), Ok(3 << 20));
        assert_eq!(s("1G"), Ok(1 << 30));
        for bad in [
            "",
            "K",
            "-1",
            "1.5M",
            "1T",
            "1 M",
            "99999999999999999999",
            "17179869184G",
        ] {
            let e = s(bad).unwrap_err();
            assert!(
                e.starts_with("--max-file-size: expected a size") && e.contains(bad),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn bad_flags_get_clear_errors() {
        for (args, expected) in [
            (&["scan", "--fail-score", "101", "x"][..], "--fail-score"),
            (&["scan", "--log-level", "loud", "x"], "'loud'"),
            (&["scan", "--frobnicate", "x"], "--frobnicate"),
            (&["scan"], "no PATH"),
            (&["scna"], "unknown command 'scna'"),
            (
                &["scan", "--jobs", "0", "x"],
                "--jobs: expected an integer from 1",
            ),
            (&["scan", "-j", "many", "x"], "--jobs"),
            (&["scan", "--max-exec-ms", "0", "x"], "--max-exec-ms"),
            (&["scan", "--max-memory-mb", "4097", "x"], "--max-memory-mb"),
            (&["scan", "--max-file-size", "big", "x"], "--max-file-size"),
            (
                &["scan", "--exclude", "[a", "x"],
                "--exclude: bad pattern '[a'",
            ),
            (&["scan", "-0", "x"], "--null (-0): only with --files-from"),
            (&["scan", "--files-from", "", "x"], "--files-from"),
            (
                &["scan", "--files-from", "a", "--files-from", "b"],
                "--files-from: may be given once",
            ),
        ] {
            let e = parse_str(args).unwrap_err();
            assert!(e.contains(expected), "{args:?}: {e}");
        }
    }
}
