//! Command-line parsing.

use std::ffi::OsString;
use std::path::PathBuf;

use super::new::{NewArgs, parse_new};
use super::plugins::{PluginsCommand, parse_plugins};
use super::scan_args::{ScanArgs, parse_scan};

/// Largest value `--max-stdout-bytes` accepts: the captured stdout is held in memory.
pub const MAX_STDOUT_FLAG: usize = 1 << 30;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Scan(ScanArgs),
    Run(RunArgs),
    New(NewArgs),
    Plugins(PluginsCommand),
    Help,
    Version,
}

/// `plugbox run` arguments.
#[derive(Debug, Default)]
pub struct RunArgs {
    /// Host directory and guest path of each `--dir`, in order.
    pub dirs: Vec<(PathBuf, String)>,
    /// Each `--env`, in order.
    pub env: Vec<(String, String)>,
    pub max_memory_mb: Option<u32>,
    pub max_exec_ms: Option<u32>,
    pub max_stdout_bytes: Option<usize>,
    pub module: PathBuf,
    /// `argv[1..]`.
    pub args: Vec<String>,
}

/// A parse error as text.
pub fn text(error: lexopt::Error) -> String {
    error.to_string()
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    match parser.next().map_err(text)? {
        Some(Short('h') | Long("help")) => Ok(Command::Help),
        Some(Short('V') | Long("version")) => Ok(Command::Version),
        Some(Value(word)) if word == "scan" => parse_scan(parser),
        Some(Value(word)) if word == "run" => parse_run(parser),
        Some(Value(word)) if word == "new" => parse_new(parser),
        Some(Value(word)) if word == "plugins" => parse_plugins(parser),
        Some(Value(word)) => Err(format!(
            "unknown command '{}'; the commands are `scan`, `run`, `new` and `plugins` (see --help)",
            word.to_string_lossy()
        )),
        Some(other) => Err(format!(
            "{} before the command `scan` or `run` (see --help)",
            other.unexpected()
        )),
        None => Err(
            "no command given; try `plugbox scan PATH...` or `plugbox run MODULE.wasm` (see --help)"
                .into(),
        ),
    }
}

fn parse_run(mut parser: lexopt::Parser) -> Result<Command, String> {
    use lexopt::prelude::*;
    use plugbox::limits::{MAX_EXEC_MS_RANGE, MAX_MEMORY_MB_RANGE, MAX_PREOPENS};
    let mut run = RunArgs::default();
    loop {
        match parser.next().map_err(text)? {
            Some(Long("dir")) => {
                if run.dirs.len() == MAX_PREOPENS {
                    return Err(format!(
                        "--dir: at most {MAX_PREOPENS} directories may be given"
                    ));
                }
                run.dirs.push(dir(parser.value().map_err(text)?)?);
            }
            Some(Long("env")) => run.env.push(env(parser.value().map_err(text)?)?),
            Some(Long("max-memory-mb")) => {
                let (low, high) = MAX_MEMORY_MB_RANGE;
                run.max_memory_mb = Some(number(
                    "--max-memory-mb",
                    parser.value().map_err(text)?,
                    low,
                    high,
                )?);
            }
            Some(Long("max-exec-ms")) => {
                let (low, high) = MAX_EXEC_MS_RANGE;
                run.max_exec_ms = Some(number(
                    "--max-exec-ms",
                    parser.value().map_err(text)?,
                    low,
                    high,
                )?);
            }
            Some(Long("max-stdout-bytes")) => {
                run.max_stdout_bytes = Some(number(
                    "--max-stdout-bytes",
                    parser.value().map_err(text)?,
                    0,
                    MAX_STDOUT_FLAG,
                )?);
            }
            Some(Short('h') | Long("help")) => return Ok(Command::Help),
            Some(Value(module)) => {
                run.module = module.into();
                break;
            }
            Some(other) => return Err(format!("run: {} (see --help)", other.unexpected())),
            None => return Err("run: no MODULE given; try `plugbox run MODULE.wasm`".into()),
        }
    }
    for (i, arg) in parser.raw_args().map_err(text)?.enumerate() {
        run.args.push(arg.into_string().map_err(|arg| {
            format!(
                "run: argument {} ('{}') is not valid UTF-8, which WASI arguments must be",
                i + 1,
                arg.to_string_lossy()
            )
        })?);
    }
    Ok(Command::Run(run))
}

/// `value` as an integer from `low` to `high`, or a message naming `flag`.
pub fn number<T>(flag: &str, value: OsString, low: T, high: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    value
        .to_str()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= low && *n <= high)
        .ok_or_else(|| {
            format!(
                "{flag}: expected an integer from {low} to {high}, found '{}'",
                value.to_string_lossy()
            )
        })
}

/// `--dir HOST[::GUEST]`: the guest path is HOST as written when not given.
fn dir(value: OsString) -> Result<(PathBuf, String), String> {
    let value = value.into_string().map_err(|value| {
        format!(
            "--dir: '{}' is not valid UTF-8; give a UTF-8 path",
            value.to_string_lossy()
        )
    })?;
    let (host, guest) = match value.split_once("::") {
        Some((host, guest)) => (host, guest),
        None => (value.as_str(), value.as_str()),
    };
    if host.is_empty() || guest.is_empty() {
        return Err(format!(
            "--dir: expected HOST or HOST::GUEST with neither empty, found '{value}'"
        ));
    }
    Ok((PathBuf::from(host), guest.to_owned()))
}

/// `--env KEY=VALUE`.
fn env(value: OsString) -> Result<(String, String), String> {
    let value = value
        .into_string()
        .map_err(|value| format!("--env: '{}' is not valid UTF-8", value.to_string_lossy()))?;
    match value.split_once('=') {
        Some((key, val)) if !key.is_empty() && !key.contains('\0') => {
            Ok((key.to_owned(), val.to_owned()))
        }
        _ => Err(format!(
            "--env: expected KEY=VALUE with a non-empty KEY, found '{value}' (nothing is inherited from this environment)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    fn run(args: &[&str]) -> RunArgs {
        match parse_str(args) {
            Ok(Command::Run(run)) => run,
            other => panic!("expected run: {other:?}"),
        }
    }

    #[test]
    fn parses_run_options_then_passes_everything_after_the_module() {
        let parsed = run(&[
            "run",
            "--dir",
            "data",
            "--dir=/srv/rules::/rules",
            "--env",
            "LANG=C",
            "--env",
            "EMPTY=",
            "--env",
            "EQ=a=b",
            "--max-memory-mb",
            "32",
            "--max-exec-ms",
            "600000",
            "--max-stdout-bytes",
            "0",
            "m.wasm",
            "--dir",
            "x",
            "--",
            "-h",
        ]);
        assert_eq!(
            parsed.dirs,
            [
                (PathBuf::from("data"), "data".to_owned()),
                (PathBuf::from("/srv/rules"), "/rules".to_owned())
            ]
        );
        let env: Vec<(&str, &str)> = parsed
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(env, [("LANG", "C"), ("EMPTY", ""), ("EQ", "a=b")]);
        assert_eq!(
            (
                parsed.max_memory_mb,
                parsed.max_exec_ms,
                parsed.max_stdout_bytes
            ),
            (Some(32), Some(600_000), Some(0))
        );
        assert_eq!(parsed.module, PathBuf::from("m.wasm"));
        assert_eq!(parsed.args, ["--dir", "x", "--", "-h"]);

        let dashed = run(&["run", "--", "-m.wasm", "a"]);
        assert_eq!(
            (dashed.module, dashed.args),
            ("-m.wasm".into(), vec!["a".to_owned()])
        );
        assert!(matches!(parse_str(&["run", "-h"]), Ok(Command::Help)));
    }

    #[test]
    fn bad_run_flags_get_clear_errors() {
        let error = |args: &[&str]| parse_str(args).unwrap_err();
        for (args, expected) in [
            (&["run"][..], "no MODULE"),
            (
                &["run", "--max-exec-ms", "600001", "m"],
                "from 1 to 600000, found '600001'",
            ),
            (&["run", "--max-exec-ms", "0", "m"], "--max-exec-ms"),
            (&["run", "--max-memory-mb", "4097", "m"], "from 1 to 4096"),
            (
                &["run", "--max-stdout-bytes", "-1", "m"],
                "--max-stdout-bytes",
            ),
            (
                &["run", "--max-stdout-bytes", "1073741825", "m"],
                "to 1073741824",
            ),
            (&["run", "--env", "HOME", "m"], "KEY=VALUE"),
            (&["run", "--env", "=x", "m"], "non-empty KEY"),
            (&["run", "--dir", "::/g", "m"], "neither empty"),
            (&["run", "--dir", "h::", "m"], "neither empty"),
            (&["run", "--dir"], "--dir"),
            (&["run", "--frobnicate", "m"], "--frobnicate"),
        ] {
            let e = error(args);
            assert!(e.contains(expected), "{args:?}: {e}");
        }
        let many: Vec<String> = std::iter::once("run".to_owned())
            .chain((0..17).flat_map(|i| ["--dir".to_owned(), format!("d{i}")]))
            .chain(["m".to_owned()])
            .collect();
        let e = parse(many.into_iter().map(OsString::from)).unwrap_err();
        assert!(e.contains("at most 16"), "{e}");
    }
}
