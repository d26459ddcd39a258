//! The `plugbox` command line: `plugbox scan`, `plugbox run`, `plugbox new` and
//! `plugbox plugins`.

mod args;
mod file;
mod glob;
mod new;
mod output;
mod plugins;
mod pool;
mod progress;
mod reload;
mod run;
mod scan;
mod scan_args;
mod source;
mod summary;
mod usage;
mod walk;

use std::path::PathBuf;
use std::process::ExitCode;

use args::Command;

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
            say_error(&message);
            return ExitCode::from(INCOMPLETE);
        }
    };
    match command {
        Command::Help => {
            print!("{}", usage::USAGE);
            ExitCode::from(CLEAN)
        }
        Command::Version => {
            println!("plugbox {}", env!("CARGO_PKG_VERSION"));
            ExitCode::from(CLEAN)
        }
        Command::Scan(scan_args) => ExitCode::from(scan::scan(scan_args)),
        Command::Run(run_args) => ExitCode::from(run::run(run_args)),
        Command::New(new_args) => ExitCode::from(new::new(new_args)),
        Command::Plugins(command) => ExitCode::from(plugins::plugins(command)),
    }
}

/// Logs to stderr at `level`, else as `RUST_LOG` says, else warnings and errors.
fn init_logging(level: Option<log::LevelFilter>) {
    let mut builder = env_logger::Builder::new();
    match (level, std::env::var_os("RUST_LOG")) {
        (Some(level), _) => builder.filter_level(level),
        (None, Some(_)) => builder.parse_env("RUST_LOG"),
        (None, None) => builder.filter_level(log::LevelFilter::Warn),
    };
    builder.format_timestamp(None).init();
}

/// The plugin directory: `--plugins`, else `$PLUGBOX_PLUGINS`, else `~/.plugbox/plugins`.
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

/// `plugbox: error: MESSAGE` on stderr; a closed stderr is ignored rather than a panic.
fn say_error(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "plugbox: error: {message}");
}
