//! `plugbox scan`: loads the plugin directory under the operator's limits, scans what the
//! command line names (see [`pool`](super::pool)), and turns the counts into an exit code.

use std::io::IsTerminal;

use plugbox::{HostConfig, Registry};

use super::file::FileLimits;
use super::output::{Output, Style};
use super::scan_args::ScanArgs;
use super::source::{self, FilesFrom};
use super::{CLEAN, DETECTED, INCOMPLETE, init_logging, plugin_dir, pool};

/// The host configuration: the defaults, with `--max-exec-ms` and `--max-memory-mb` as
/// ceilings, which lower what a manifest asks for and never raise it.
fn host_config(args: &ScanArgs) -> HostConfig {
    let mut config = HostConfig::default();
    if let Some(ms) = args.max_exec_ms {
        config = config.with_max_exec_ms(ms);
    }
    if let Some(mb) = args.max_memory_mb {
        config = config.with_max_memory_mb(mb);
    }
    config
}

/// Runs the scan and returns the process's exit code.
pub fn scan(args: ScanArgs) -> u8 {
    let level = args
        .log_level
        .or((args.quiet && std::env::var_os("RUST_LOG").is_none())
            .then_some(log::LevelFilter::Error));
    init_logging(level);
    let dir = match plugin_dir(args.plugins.clone()) {
        Ok(dir) => dir,
        Err(message) => {
            super::say_error(&message);
            return INCOMPLETE;
        }
    };
    let files_from = match args.files_from.as_deref().map(FilesFrom::open).transpose() {
        Ok(files_from) => files_from,
        Err(message) => {
            super::say_error(&message);
            return INCOMPLETE;
        }
    };
    let registry = Registry::new(host_config(&args));
    if let Err(error) = registry.load_dir(&dir) {
        eprintln!(
            "plugbox: error: plugin directory {}: {error}",
            dir.display()
        );
        return INCOMPLETE;
    }
    let mut out = Output::new(Style {
        json: args.json,
        quiet: args.quiet,
        fail_score: args.fail_score,
        progress: !args.json && !args.quiet && std::io::stderr().is_terminal(),
    });
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
    let streaming = files_from.is_some();
    let settings = pool::Settings {
        jobs: args.jobs,
        limits: FileLimits {
            max_file_size: args.max_file_size,
            alert: args.alert_exceeds_max,
        },
        reload_dir: streaming.then_some(dir.as_path()),
    };
    let separator = if args.null { 0 } else { b'\n' };
    let (paths, excludes) = (&args.paths, &args.excludes);
    pool::run(
        &registry,
        settings,
        move |send| source::produce(paths, files_from, separator, excludes, send),
        &mut out,
    );
    let summary = out.finish(registry.plugins().len());
    if summary.errors > 0 {
        INCOMPLETE
    } else if summary.detections > 0 {
        DETECTED
    } else {
        CLEAN
    }
}
