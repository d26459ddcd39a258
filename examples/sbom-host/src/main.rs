//! sbom-host: an SBOM differ in the manner of bomdrift. It diffs two CycloneDX SBOMs and runs
//! plugins on the components added and the versions changed, speaking bomdrift's plugin
//! protocol v1 (TOML manifest, one JSON request on stdin, `{"findings": [...]}` on stdout).
//! Plugins are external processes, or, built with `--features wasm-plugins`, WebAssembly
//! programs run in plugbox's sandbox; users pick per plugin.
//!
//! ```text
//! sbom-host [--plugin PATH/plugin.toml]... [--format text|json] [--strict-plugins] OLD.json NEW.json
//! ```
//! Exit 0; 1 when a plugin finding has severity `error`; 2 on errors, and with
//! `--strict-plugins` also when any plugin invocation failed.

#[cfg(feature = "wasm-plugins")]
mod env_abi;
mod manifest;
mod plugins;
mod process;
mod protocol;
mod render;
mod sbom;
#[cfg(feature = "wasm-plugins")]
mod wasm;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use plugins::Plugin;
use protocol::Severity;

const USAGE: &str = "\
usage: sbom-host [--plugin PATH/plugin.toml]... [--format text|json] [--strict-plugins] OLD.json NEW.json

  --plugin PATH      a plugin manifest (TOML; repeatable, run in the order given)
  --format FORMAT    text (default) or json
  --strict-plugins   exit 2 when any plugin invocation failed
  --plugins DIR      PRX-SD-style detection plugins (plugin.json; --features wasm-plugins)

exit: 0 no error finding; 1 a plugin finding with severity error; 2 an error
";

/// Exit code: a plugin finding with severity `error`.
const FOUND_ERROR: u8 = 1;
/// Exit code: bad usage, bad input, a bad manifest, or (`--strict-plugins`) a failed invocation.
const FAILED: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

struct Args {
    manifests: Vec<PathBuf>,
    detection_dir: Option<PathBuf>,
    format: Format,
    strict_plugins: bool,
    old: String,
    new: String,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut manifests = Vec::new();
    let mut detection_dir = None;
    let mut format = Format::Text;
    let mut strict_plugins = false;
    let mut files = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--plugin" => manifests.push(PathBuf::from(value("--plugin")?)),
            "--plugins" => detection_dir = Some(PathBuf::from(value("--plugins")?)),
            "--format" => {
                format = match value("--format")?.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    other => return Err(format!("--format {other}: expected text or json")),
                }
            }
            "--strict-plugins" => strict_plugins = true,
            "--" => files.extend(args.by_ref()),
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown flag {flag}"));
            }
            _ => files.push(arg),
        }
    }
    let [old, new] = <[String; 2]>::try_from(files).map_err(|files| {
        format!(
            "expected two SBOMs, OLD.json and NEW.json, got {}",
            files.len()
        )
    })?;
    Ok(Parsed::Run(Args {
        manifests,
        detection_dir,
        format,
        strict_plugins,
        old,
        new,
    }))
}

fn run(args: Args) -> Result<u8, String> {
    // Every manifest is loaded and every plugin prepared before any diff work: a bad one
    // stops the run.
    let plugins = args
        .manifests
        .iter()
        .map(|path| manifest::load(path).and_then(Plugin::new))
        .collect::<Result<Vec<_>, _>>()?;
    #[cfg(feature = "wasm-plugins")]
    let detection = args
        .detection_dir
        .as_deref()
        .map(env_abi::load)
        .transpose()?;
    #[cfg(not(feature = "wasm-plugins"))]
    if let Some(dir) = &args.detection_dir {
        return Err(format!(
            "--plugins {}: this build has no WebAssembly support; rebuild with --features wasm-plugins",
            dir.display()
        ));
    }
    let changes = sbom::diff(sbom::load(&args.old)?, sbom::load(&args.new)?);
    #[allow(unused_mut)]
    let mut outcome = plugins::run(&plugins, &changes);
    #[cfg(feature = "wasm-plugins")]
    if let Some(registry) = &detection {
        let components = changes
            .added
            .iter()
            .chain(changes.changed.iter().map(|c| &c.after));
        env_abi::run(registry, components, &mut outcome);
    }
    for error in &outcome.errors {
        eprintln!(
            "sbom-host: warning: plugin '{}' on {}: {}",
            error.plugin_name, error.component_purl, error.reason
        );
    }
    let report = match args.format {
        Format::Text => render::text(&changes, &outcome),
        Format::Json => render::json(&changes, &outcome),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(format!("writing the report: {e}"));
        }
        _ => {}
    }
    Ok(if args.strict_plugins && !outcome.errors.is_empty() {
        FAILED
    } else if outcome
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        FOUND_ERROR
    } else {
        0
    })
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(args)) => match run(args) {
            Ok(code) => ExitCode::from(code),
            Err(message) => {
                eprintln!("sbom-host: error: {message}");
                ExitCode::from(FAILED)
            }
        },
        Err(message) => {
            eprintln!("sbom-host: error: {message}\n{USAGE}");
            ExitCode::from(FAILED)
        }
    }
}
