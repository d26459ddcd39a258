//! The public API as an embedder uses it: every public entry point, with its signature pinned
//! by a typed function pointer, so that an unintended change fails to compile here. The list of
//! public items itself is checked by `bash .ci/public-api` against `tests/public-api.txt`.

use std::io;
use std::path::Path;
use std::sync::Arc;

use plugbox::abi::{HostImport, ValueType};
use plugbox::{
    CallCost, CancelHandle, CommandConfig, CommandOutput, CommandPlugin, Dropped, Failure,
    FailureKind, Finding, Grants, HostConfig, Input, InputMode, LoadError, LoadFailure, Manifest,
    ManifestError, Permissions, Plugin, PluginRun, Registry, ReloadReport, RunStatus, ScanReport,
    SharedBytes, Snapshot, Stage,
};

type Loaded = Result<Arc<Plugin>, LoadFailure>;

#[test]
fn signatures_an_embedder_relies_on() {
    // Configuring a host.
    let _: fn() -> HostConfig = HostConfig::default;
    let _: fn(HostConfig, Vec<String>) -> HostConfig = HostConfig::with_file_types;
    let _: fn(HostConfig, String) -> HostConfig = HostConfig::with_log_target;
    let _: fn(HostConfig, String) -> HostConfig = HostConfig::with_platform;
    let _: fn(HostConfig, semver::Version) -> HostConfig = HostConfig::with_engine_version;
    let _: fn(HostConfig, u32) -> HostConfig = HostConfig::with_max_memory_mb;
    let _: fn(HostConfig, u32) -> HostConfig = HostConfig::with_max_exec_ms;
    let _: fn(HostConfig, bool) -> HostConfig = HostConfig::with_filesystem;
    let _: fn(&HostConfig) -> &[String] = HostConfig::file_types;
    let _: fn(&HostConfig) -> &str = HostConfig::platform;
    let _: fn(&HostConfig) -> &semver::Version = HostConfig::engine_version;
    let _: fn(&HostConfig) -> &str = HostConfig::log_target;
    let _: fn(&HostConfig) -> u32 = HostConfig::max_memory_mb;
    let _: fn(&HostConfig) -> u32 = HostConfig::max_exec_ms;
    let _: fn(&HostConfig) -> bool = HostConfig::filesystem_allowed;
    let _: fn() -> semver::Version = plugbox::engine_version;
    let _: &str = plugbox::PLUGIN_LOG_TARGET;

    // Loading.
    let _: fn(HostConfig) -> Registry = Registry::new;
    let _: fn(&Registry) -> &HostConfig = Registry::config;
    // Every method takes `&self`: a registry shared between threads loads and reloads.
    let _: fn(&Registry, &Path) -> io::Result<()> = Registry::load_dir;
    let _: fn(&Registry, &Path) -> Loaded = Registry::load_plugin;
    let _: fn(&Registry, &[u8], &[u8]) -> Loaded = Registry::add_plugin;
    let _: fn(&Registry) -> Vec<Arc<Plugin>> = Registry::plugins;
    let _: fn(&Registry, &str) -> Option<Arc<Plugin>> = Registry::plugin;
    let _: fn(&Registry) -> Vec<LoadFailure> = Registry::failures;
    let _: fn(&Registry) -> Vec<LoadFailure> = Registry::skipped;
    let _: fn(&Registry) -> io::Result<ReloadReport> = Registry::reload;
    let _: fn(&ReloadReport) -> bool = ReloadReport::is_empty;
    let _: fn(&Registry) -> Arc<Snapshot> = Registry::snapshot;
    let _: fn(&Snapshot) -> &[Arc<Plugin>] = Snapshot::plugins;
    let _: fn(&Snapshot) -> u64 = Snapshot::max_input_bytes;
    let _: fn(&Path, &HostConfig) -> Result<Manifest, ManifestError> = Manifest::load;
    let _: fn(&[u8], &Path, &HostConfig) -> Result<Manifest, ManifestError> = Manifest::parse;
    let _: fn(&LoadError) -> bool = LoadError::is_skip;
    let _: fn(&LoadFailure) -> bool = LoadFailure::is_skip;
    let _: fn(&Registry) -> u64 = Registry::max_input_bytes;

    // What loaded.
    let _: fn(&Plugin) -> &Manifest = Plugin::manifest;
    let _: fn(&Plugin) -> &str = Plugin::name;
    let _: fn(&Plugin) -> Option<&Path> = Plugin::dir;
    let _: fn(&Plugin) -> Grants = Plugin::grants;
    let _: fn(&Plugin) -> Option<&str> = Plugin::guest_name;
    let _: fn(&Plugin) -> Option<&str> = Plugin::guest_version;
    let _: fn(&Plugin) -> CallCost = Plugin::load_cost;
    let _: fn(&Plugin) -> &[Finding] = Plugin::load_findings;
    let _: fn(&Plugin) -> Dropped = Plugin::load_dropped;
    let _: fn(&Plugin, &str) -> bool = Plugin::accepts;
    let _: fn(&Manifest) -> &str = Manifest::name;
    let _: fn(&Manifest) -> &semver::Version = Manifest::version;
    let _: fn(&Manifest) -> &str = Manifest::author;
    let _: fn(&Manifest) -> &str = Manifest::description;
    let _: fn(&Manifest) -> &Path = Manifest::wasm_file;
    let _: fn(&Manifest) -> &[String] = Manifest::platforms;
    let _: fn(&Manifest) -> &[String] = Manifest::file_types;
    let _: fn(&Manifest) -> &semver::Version = Manifest::min_engine_version;
    let _: fn(&Manifest) -> u32 = Manifest::protocol_version;
    let _: fn(&Manifest) -> InputMode = Manifest::input;
    let _: fn(InputMode) -> &'static str = InputMode::name;
    let _: fn(&Plugin) -> InputMode = Plugin::input_mode;
    let _: fn(&Plugin) -> u64 = Plugin::max_input_bytes;
    let _: [InputMode; 2] = [InputMode::Copy, InputMode::Host];
    let _: fn(&Manifest) -> Permissions = Manifest::permissions;
    let _: fn(&Manifest) -> &[String] = Manifest::unknown_keys;
    let _: fn(&Permissions) -> usize = Permissions::max_memory_bytes;
    let _: fn(&Grants) -> usize = Grants::max_memory_bytes;

    // Scanning.
    input_signatures(b"");
    let _: fn(&Registry, Input<'_>) -> ScanReport = Registry::scan;
    let _: fn(&Registry, Input<'_>, &CancelHandle) -> ScanReport = Registry::scan_cancellable;
    let _: fn(&[u8]) -> &'static str = plugbox::file_type::detect;
    let _: &[&str] = plugbox::file_type::KNOWN;
    let _: fn(&Path, u64) -> io::Result<Vec<u8>> = plugbox::read_input;

    // Command plugins.
    let _: fn() -> CommandConfig = CommandConfig::default;
    let _: fn(CommandConfig, u32) -> CommandConfig = CommandConfig::with_max_memory_mb;
    let _: fn(CommandConfig, u32) -> CommandConfig = CommandConfig::with_max_exec_ms;
    let _: fn(CommandConfig, usize) -> CommandConfig = CommandConfig::with_max_stdout_bytes;
    let _: fn(CommandConfig, std::path::PathBuf) -> CommandConfig = CommandConfig::with_dir;
    let _: fn(CommandConfig, Vec<String>) -> CommandConfig = CommandConfig::with_args;
    let _: fn(CommandConfig, String, String) -> CommandConfig = CommandConfig::with_env;
    let _: fn(CommandConfig, String) -> CommandConfig = CommandConfig::with_log_target;
    let _: fn(&CommandConfig) -> u32 = CommandConfig::max_memory_mb;
    let _: fn(&CommandConfig) -> u32 = CommandConfig::max_exec_ms;
    let _: fn(&CommandConfig) -> usize = CommandConfig::max_stdout_bytes;
    let _: fn(&Path, CommandConfig) -> Result<CommandPlugin, LoadError> = CommandPlugin::load;
    let _: fn(&str, &[u8], CommandConfig) -> Result<CommandPlugin, LoadError> =
        CommandPlugin::from_bytes;
    let _: fn(&CommandPlugin) -> &str = CommandPlugin::name;
    let _: fn(&CommandPlugin, &[u8]) -> CommandOutput = CommandPlugin::run;
    let _: fn(&CommandPlugin, &[u8], &CancelHandle) -> CommandOutput =
        CommandPlugin::run_cancellable;
    let _: fn(&CommandOutput) -> bool = CommandOutput::succeeded;

    // Cancelling.
    let _: fn() -> CancelHandle = CancelHandle::new;
    let _: fn(&CancelHandle) = CancelHandle::cancel;
    let _: fn(&CancelHandle) -> bool = CancelHandle::is_cancelled;

    // Reading outcomes.
    let _: fn(&ScanReport) -> u32 = ScanReport::max_score;
    let _: fn(&ScanReport) -> bool = ScanReport::is_complete;
    let _: fn(&PluginRun) -> Option<&Failure> = PluginRun::failure;
    let _: fn(&PluginRun) -> Option<u32> = PluginRun::score;
    let _: fn(&PluginRun) -> Option<&str> = PluginRun::skip_reason;
    let _: fn(&Dropped) -> bool = Dropped::any;
    let _: fn(String, String, u32, String) -> Finding = Finding::new;
    let _: fn(&str) -> std::borrow::Cow<'_, str> = plugbox::printable;

    // The imports plugins may use.
    let _: fn() -> &'static [HostImport] = plugbox::abi::host_imports;
    let _: fn(&HostImport) -> &'static str = HostImport::module;
    let _: fn(&HostImport) -> &'static str = HostImport::name;
    let _: fn(&HostImport) -> &[ValueType] = HostImport::params;
    let _: fn(&HostImport) -> &[ValueType] = HostImport::results;
    let _: fn(&HostImport) -> String = HostImport::wat;
}

/// `Input`'s methods, for inputs borrowed for `'a`.
fn input_signatures<'a>(_: &'a [u8]) {
    let _: fn(&'a [u8]) -> Input<'a> = Input::new;
    let _: fn(&'a SharedBytes) -> Input<'a> = Input::shared;
    let _: fn(Input<'a>, &'a str) -> Input<'a> = Input::path;
    let _: fn(Input<'a>, &'a str) -> Input<'a> = Input::file_type;
    let _: fn(&Input<'a>) -> &'a [u8] = Input::data;
    let _: fn(&Input<'a>) -> &'a str = Input::path_name;
    let _: fn(&Input<'a>) -> &'a str = Input::file_type_name;
}

/// The public fields and variants a host reads, by name.
#[allow(dead_code)]
fn fields_an_embedder_reads(report: &ScanReport, failure: &LoadFailure, output: &CommandOutput) {
    let _: (
        Option<i32>,
        &Option<Failure>,
        &Vec<u8>,
        CallCost,
        usize,
        Dropped,
    ) = (
        output.exit_code,
        &output.failure,
        &output.stdout,
        output.cost,
        output.peak_memory_bytes,
        output.dropped,
    );
    let _: (&Vec<Finding>, &Vec<PluginRun>) = (&report.findings, &report.runs);
    for f in &report.findings {
        let _: (&String, &String, u32, &String) = (&f.plugin, &f.threat, f.score, &f.detail);
    }
    for run in &report.runs {
        let _: (&String, &RunStatus, CallCost, usize, Dropped) = (
            &run.plugin,
            &run.status,
            run.cost,
            run.peak_memory_bytes,
            run.dropped,
        );
        let _: (u64, u64) = (run.cost.fuel, run.cost.micros);
        let d = run.dropped;
        let _: [u64; 5] = [
            d.findings,
            d.threat_name_bytes,
            d.detail_bytes,
            d.log_messages,
            d.log_bytes,
        ];
        match &run.status {
            RunStatus::Ok { score } => {
                let _: u32 = *score;
            }
            RunStatus::Failed(failure) => {
                let _: (FailureKind, Stage, &String, Option<i32>) = (
                    failure.kind,
                    failure.stage,
                    &failure.reason,
                    failure.exit_code,
                );
            }
            RunStatus::Skipped { reason } => {
                let _: &String = reason;
            }
            _ => {}
        }
    }
    let _: (&Path, Option<&str>, &LoadError) = (failure.dir(), failure.plugin(), failure.error());
    let p = Permissions::default();
    let _: (bool, bool, u32, u32) = (p.network, p.filesystem, p.max_memory_mb, p.max_exec_ms);
}

#[test]
fn public_types_are_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Registry>();
    send_sync::<Arc<Plugin>>();
    send_sync::<CancelHandle>();
    send_sync::<ScanReport>();
    send_sync::<LoadFailure>();
    send_sync::<HostConfig>();
    send_sync::<CommandPlugin>();
    fn debug<T: std::fmt::Debug>() {}
    debug::<Registry>();
    debug::<Plugin>();
}
