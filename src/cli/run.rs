//! `plugbox run`: one WASI command module run like a program, in the sandbox of a command
//! plugin ([`CommandPlugin`]). Stdin is read whole first (at most [`MAX_STDIN_BYTES`]), the
//! captured stdout is written when the module ends, and the module's stderr lines go to
//! stderr as they come.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use plugbox::limits::MAX_MODULE_BYTES;
use plugbox::{CommandConfig, CommandOutput, CommandPlugin, LoadError, printable};

use super::args::RunArgs;

/// Most bytes of stdin passed to the module; more is refused before the module runs.
pub const MAX_STDIN_BYTES: u64 = 64 * 1024 * 1024;
/// Exit code when the module did not run to its exit, or the command line is wrong.
const FAILED: u8 = 2;
/// The `log` target of the module's stderr lines, printed as they are.
const GUEST_STDERR: &str = "plugbox::run::stderr";

/// Runs the module and returns the process's exit code.
pub fn run(args: RunArgs) -> u8 {
    let name = args.module.file_name().map_or_else(
        || args.module.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    init_logging(&name);
    match run_module(&args, &name) {
        Ok(code) => code,
        Err(message) => {
            super::say_error(&message);
            FAILED
        }
    }
}

fn run_module(args: &RunArgs, name: &str) -> Result<u8, String> {
    let wasm = plugbox::read_input(&args.module, MAX_MODULE_BYTES)
        .map_err(|error| format!("cannot read module {}: {error}", args.module.display()))?;
    let plugin = CommandPlugin::from_bytes(name, &wasm, config(args))
        .map_err(|error| load_message(&args.module, name, &error))?;
    drop(wasm);
    let stdin = read_stdin()?;
    let output = plugin.run(&stdin);
    drop(stdin);
    let written = write_stdout(&output.stdout);
    report_cut_stderr(&output);
    match written {
        // A reader that stopped early (`| head`) is not the module's failure.
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(format!("cannot write the module's stdout: {error}"));
        }
        _ => {}
    }
    match (&output.failure, output.exit_code) {
        (Some(failure), _) => Err(format!("{}: {}", name, printable(&failure.to_string()))),
        (None, Some(code)) => Ok(exit_code(code)),
        (None, None) => Err(format!("{name}: ended without an exit code")),
    }
}

fn config(args: &RunArgs) -> CommandConfig {
    let mut config = CommandConfig::default()
        .with_args(args.args.iter().cloned())
        .with_log_target(GUEST_STDERR);
    for (host, guest) in &args.dirs {
        config = config.with_preopen(host, guest);
    }
    for (key, value) in &args.env {
        config = config.with_env(key, value);
    }
    if let Some(mb) = args.max_memory_mb {
        config = config.with_max_memory_mb(mb);
    }
    if let Some(ms) = args.max_exec_ms {
        config = config.with_max_exec_ms(ms);
    }
    if let Some(bytes) = args.max_stdout_bytes {
        config = config.with_max_stdout_bytes(bytes);
    }
    config
}

/// A load error naming the module by the path given (the library names it by `name`, its
/// file name, which is also `argv[0]`).
fn load_message(module: &Path, name: &str, error: &LoadError) -> String {
    let text = error.to_string();
    match error {
        LoadError::Preopen { .. } => text,
        _ => {
            let reason = text.strip_prefix(&format!("{name}: ")).unwrap_or(&text);
            format!("{}: {reason}", module.display())
        }
    }
}

/// All of stdin, refused past [`MAX_STDIN_BYTES`]; nothing when stdin is a terminal, so that a
/// module that reads nothing does not wait for the end of typed input.
fn read_stdin() -> Result<Vec<u8>, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Vec::new());
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read stdin: {error}"))?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(format!(
            "stdin is larger than {} MiB, the most `plugbox run` passes to a module",
            MAX_STDIN_BYTES >> 20
        ));
    }
    Ok(bytes)
}

fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// Says when the log caps cut the module's stderr, so that a short stderr is not mistaken for
/// all of it.
fn report_cut_stderr(output: &CommandOutput) {
    let dropped = &output.dropped;
    if dropped.log_bytes > 0 || dropped.log_messages > 0 {
        eprintln!(
            "plugbox: warning: the module's stderr was cut by the per-run log caps ({} KiB, {} lines): {} bytes not shown",
            plugbox::limits::MAX_LOG_BYTES_PER_SCAN / 1024,
            plugbox::limits::MAX_LOG_MESSAGES_PER_SCAN,
            dropped.log_bytes
        );
    }
}

/// The module's exit code as a process exit code: 0-255 as they are; anything else, which
/// the OS would cut to its low byte (256 would read as success), is 255.
fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
}

/// The module's stderr lines exactly as logged, without the `[name] ` tag every plugin log
/// line has; plugbox's own messages as `plugbox: LEVEL: message`. `RUST_LOG` may add
/// plugbox's debug output but never hides the module's stderr.
fn init_logging(name: &str) {
    let tag = format!("[{name}] ");
    let mut builder = env_logger::Builder::new();
    match std::env::var_os("RUST_LOG") {
        Some(_) => builder.parse_env("RUST_LOG"),
        None => builder.filter_level(log::LevelFilter::Warn),
    };
    builder
        .filter_module(GUEST_STDERR, log::LevelFilter::Trace)
        .format(move |out, record| {
            if record.target() == GUEST_STDERR {
                let line = record.args().to_string();
                writeln!(out, "{}", line.strip_prefix(&tag).unwrap_or(&line))
            } else {
                let level = match record.level() {
                    log::Level::Warn => "warning".to_owned(),
                    other => other.as_str().to_ascii_lowercase(),
                };
                writeln!(out, "plugbox: {level}: {}", record.args())
            }
        })
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_keep_failure_as_failure() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(255), 255);
        assert_eq!(exit_code(256), 255);
        assert_eq!(exit_code(-1), 255);
        assert_eq!(exit_code(i32::MIN), 255);
    }
}
