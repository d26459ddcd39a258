//! Command-line parsing.

use std::ffi::OsString;
use std::path::PathBuf;

use log::LevelFilter;

pub const USAGE: &str = "\
plugbox: scan files with sandboxed WebAssembly detection plugins

Usage:
  plugbox scan [OPTIONS] PATH...

Options:
  --plugins DIR        plugin directory (default: $PLUGBOX_PLUGINS, else ~/.plugbox/plugins)
  --json               one JSON object per line (type: load_error, file, file_error, summary)
  --fail-score N       exit 1 when a finding scores N or more (0-100, default 60)
  --log-level LEVEL    off, error, warn, info, debug or trace (default: RUST_LOG, else warn)
  -h, --help           print this help
  -V, --version        print the version

Exit codes: 0 nothing at or above --fail-score; 1 something at or above it;
2 an error kept the scan from being complete (it takes precedence over 1).
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Scan(ScanArgs),
    Help,
    Version,
}

/// `plugbox scan` arguments.
#[derive(Debug)]
pub struct ScanArgs {
    pub plugins: Option<PathBuf>,
    pub json: bool,
    pub fail_score: u32,
    pub log_level: Option<LevelFilter>,
    pub paths: Vec<PathBuf>,
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let command = match parser.next().map_err(|e| e.to_string())? {
        Some(Short('h') | Long("help")) => return Ok(Command::Help),
        Some(Short('V') | Long("version")) => return Ok(Command::Version),
        Some(Value(word)) if word == "scan" => word,
        Some(Value(word)) => {
            return Err(format!(
                "unknown command '{}'; the command is `scan` (see --help)",
                word.to_string_lossy()
            ));
        }
        Some(other) => {
            return Err(format!(
                "{} before the command `scan` (see --help)",
                other.unexpected()
            ));
        }
        None => return Err("no command given; try `plugbox scan PATH...` (see --help)".into()),
    };
    debug_assert_eq!(command, "scan");
    let mut scan = ScanArgs {
        plugins: None,
        json: false,
        fail_score: 60,
        log_level: None,
        paths: Vec::new(),
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("plugins") => {
                scan.plugins = Some(parser.value().map_err(|e| e.to_string())?.into())
            }
            Long("json") => scan.json = true,
            Long("fail-score") => {
                let value = parser.value().map_err(|e| e.to_string())?;
                scan.fail_score = value
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| {
                        format!(
                            "--fail-score: expected an integer from 0 to 100, found '{}'",
                            value.to_string_lossy()
                        )
                    })?;
            }
            Long("log-level") => {
                let value = parser.value().map_err(|e| e.to_string())?;
                scan.log_level = Some(value.to_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    format!(
                        "--log-level: expected off, error, warn, info, debug or trace, found '{}'",
                        value.to_string_lossy()
                    )
                })?);
            }
            Short('h') | Long("help") => return Ok(Command::Help),
            Value(path) => scan.paths.push(path.into()),
            other => return Err(format!("{} (see --help)", other.unexpected())),
        }
    }
    if scan.paths.is_empty() {
        return Err("scan: no PATH given; name the files or directories to scan".into());
    }
    Ok(Command::Scan(scan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_scan_options() {
        let Command::Scan(scan) = parse_str(&[
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
        ])
        .unwrap() else {
            panic!("expected scan");
        };
        assert_eq!(scan.plugins, Some(PathBuf::from("p")));
        assert!(scan.json);
        assert_eq!(scan.fail_score, 30);
        assert_eq!(scan.log_level, Some(LevelFilter::Debug));
        assert_eq!(scan.paths, [PathBuf::from("a"), PathBuf::from("b")]);
    }

    #[test]
    fn bad_flags_get_clear_errors() {
        let e = parse_str(&["scan", "--fail-score", "101", "x"]).unwrap_err();
        assert!(e.contains("--fail-score") && e.contains("101"), "{e}");
        let e = parse_str(&["scan", "--log-level", "loud", "x"]).unwrap_err();
        assert!(e.contains("--log-level") && e.contains("loud"), "{e}");
        let e = parse_str(&["scan", "--frobnicate", "x"]).unwrap_err();
        assert!(e.contains("--frobnicate"), "{e}");
        let e = parse_str(&["scan"]).unwrap_err();
        assert!(e.contains("no PATH"), "{e}");
        let e = parse_str(&["scna"]).unwrap_err();
        assert!(e.contains("unknown command 'scna'"), "{e}");
    }
}
