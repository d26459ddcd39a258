//! `plugbox plugins check|list|test`: the plugin author's commands. `check` loads plugin
//! directories one by one and prints what they are or every problem with its fix, `list`
//! loads a plugin directory as a scan does, `test` runs a plugin's golden tests.

mod check;
mod list;
mod problems;
mod test;

use std::path::PathBuf;

use super::args::{Command, text};

/// Exit code: every plugin loaded (`check`, `list`), every golden test passed (`test`).
const OK: u8 = 0;
/// Exit code of `test`: some expectation failed.
const FAILED: u8 = 1;
/// Exit code: a plugin did not load, or a test could not run (bad usage included).
const BROKEN: u8 = 2;

/// `plugbox plugins` arguments.
#[derive(Debug)]
pub enum PluginsCommand {
    /// `plugins check DIR... [--json]`
    Check { dirs: Vec<PathBuf>, json: bool },
    /// `plugins list [--plugins DIR] [--json]`
    List {
        plugins: Option<PathBuf>,
        json: bool,
    },
    /// `plugins test DIR... [--json]`
    Test { dirs: Vec<PathBuf>, json: bool },
}

/// Parses what follows `plugbox plugins`.
pub fn parse_plugins(mut parser: lexopt::Parser) -> Result<Command, String> {
    use lexopt::prelude::*;
    let sub = match parser.next().map_err(text)? {
        Some(Value(word)) => word,
        Some(Short('h') | Long("help")) => return Ok(Command::Help),
        Some(other) => {
            return Err(format!(
                "plugins: {}; expected `check`, `list` or `test` (see --help)",
                other.unexpected()
            ));
        }
        None => {
            return Err(
                "plugins: no subcommand given; expected `check`, `list` or `test` (see --help)"
                    .into(),
            );
        }
    };
    let sub = sub.to_string_lossy().into_owned();
    if !matches!(sub.as_str(), "check" | "list" | "test") {
        return Err(format!(
            "plugins: unknown subcommand '{sub}'; expected `check`, `list` or `test` (see --help)"
        ));
    }
    let (mut dirs, mut json, mut plugins) = (Vec::new(), false, None::<PathBuf>);
    while let Some(arg) = parser.next().map_err(text)? {
        match arg {
            Long("json") => json = true,
            Long("plugins") if sub == "list" => {
                plugins = Some(parser.value().map_err(text)?.into());
            }
            Short('h') | Long("help") => return Ok(Command::Help),
            Value(dir) if sub != "list" => dirs.push(PathBuf::from(dir)),
            other => {
                return Err(format!(
                    "plugins {sub}: {} (see --help)",
                    other.unexpected()
                ));
            }
        }
    }
    if sub != "list" && dirs.is_empty() {
        return Err(format!(
            "plugins {sub}: no plugin directory given; try `plugbox plugins {sub} DIR...`"
        ));
    }
    Ok(Command::Plugins(match sub.as_str() {
        "check" => PluginsCommand::Check { dirs, json },
        "list" => PluginsCommand::List { plugins, json },
        _ => PluginsCommand::Test { dirs, json },
    }))
}

/// Runs the command and returns the process's exit code.
pub fn plugins(command: PluginsCommand) -> u8 {
    super::init_logging(None);
    match command {
        PluginsCommand::Check { dirs, json } => check::check(&dirs, json),
        PluginsCommand::List { plugins, json } => list::list(plugins, json),
        PluginsCommand::Test { dirs, json } => test::test(&dirs, json),
    }
}

/// Prints a line on stdout; a closed stdout is ignored rather than a panic.
fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// `path` for people, control characters escaped.
fn shown(path: &std::path::Path) -> String {
    plugbox::printable(&path.display().to_string()).into_owned()
}
