//! The `plugbox` command line: `plugbox scan` and `plugbox run`.

mod args;
mod output;
mod run;
mod walk;

use std::path::PathBuf;
use std::process::ExitCode;

use plugbox::{HostConfig, Input, Registry, file_type};

use args::{Command, ScanArgs};
use output::{Output, Tally};

/// Exit code: nothing at or above `--fail-score`.
const CLEAN: u8 = 0;
/// Exit code: a finding at or above `--fail-score`.
const DETECTED: u8 = 1;
/// Exit code: an error kept the scan from being complete (bad usage included).
const INCOMPLETE: u8 = 2;

pub fn main() -> ExitCode {
    let command = match args::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("plugbox: error: {message}");
            return ExitCode::from(INCOMPLETE);
        }
    };
    match command {
        Command::Help => {
            print!("{}", args::USAGE);
            ExitCode::from(CLEAN)
        }
        Command::Version => {
            println!("plugbox {}", env!("CARGO_PKG_VERSION"));
            ExitCode::from(CLEAN)
        }
        Command::Scan(scan_args) => ExitCode::from(scan(scan_args)),
        Command::Run(run_args) => ExitCode::from(run::run(run_args)),
    }
}

fn init_logging(level: Option<log::LevelFilter>) {
    let mut builder = env_logger::Builder::new();
    match (level, std::env::var_os("RUST_LOG")) {
        (Some(level), _) => builder.filter_level(level),
        (None, Some(_)) => builder.parse_env("RUST_LOG"),
        (None, None) => builder.filter_level(log::LevelFilter::Warn),
    };
    builder.format_timestamp(None).init();
}

fn plugin_dir(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    let (dir, source) = match (flag, std::env::var_os("PLUGBOX_PLUGINS")) {
        (Some(dir), _) => (dir, "--plugins"),
        (None, Some(dir)) => (PathBuf::from(dir), "$PLUGBOX_PLUGINS"),
        (None, None) => {
            let home = std::env::var_os("HOME")
                .ok_or("no plugin directory: give --plugins DIR or set PLUGBOX_PLUGINS (HOME is not set either)")?;
            (PathBuf::from(home).join(".plugbox/plugins"), "the default")
        }
    };
    if !dir.is_dir() {
        return Err(format!(
            "plugin directory {} ({source}) does not exist or is not a directory; give --plugins DIR or set PLUGBOX_PLUGINS",
            dir.display()
        ));
    }
    Ok(dir)
}

fn scan(args: ScanArgs) -> u8 {
    init_logging(args.log_level);
    let dir = match plugin_dir(args.plugins) {
        Ok(dir) => dir,
        Err(message) => {
            eprintln!("plugbox: error: {message}");
            return INCOMPLETE;
        }
    };
    let registry = Registry::new(HostConfig::default());
    if let Err(error) = registry.load_dir(&dir) {
        eprintln!(
            "plugbox: error: plugin directory {}: {error}",
            dir.display()
        );
        return INCOMPLETE;
    }
    let mut out = Output::new(args.json, args.fail_score);
    for failure in &registry.failures() {
        out.load_failure(failure);
    }
    for skip in &registry.skipped() {
        out.load_skip(skip);
    }
    for plugin in &registry.plugins() {
        out.load_report(plugin);
    }
    if registry.plugins().is_empty() {
        out.error(&format!(
            "no plugins loaded from {}: nothing can be detected",
            dir.display()
        ));
    }
    // A file larger than every plugin's memory cap fits none of them: it is not read.
    let largest_cap = registry.max_input_bytes();
    walk::walk(&args.paths, |entry| match entry {
        walk::Entry::File(path) => match plugbox::read_input(&path, largest_cap) {
            Ok(data) => {
                let shown = path.to_string_lossy();
                let kind = file_type::detect(&data);
                let report = registry.scan(Input::new(&data).path(&shown).file_type(kind));
                out.file(&shown, kind, &report);
            }
            Err(error) if error.kind() == std::io::ErrorKind::FileTooLarge => {
                out.file_skipped(&path, &format!("{error}, the largest plugin memory cap"))
            }
            Err(error) => out.file_error(&path, &error),
        },
        walk::Entry::Error(path, error) => out.file_error(&path, &error),
    });
    let tally: Tally = out.finish(registry.plugins().len());
    if tally.errors > 0 {
        INCOMPLETE
    } else if tally.detections > 0 {
        DETECTED
    } else {
        CLEAN
    }
}
