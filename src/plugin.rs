//! One plugin: its manifest, its compiled module, and the two things done with it, loading
//! (CONTRACT §1-§3: confinement, checks, `_initialize`, `on_load`, identification) and
//! running it on one input (§3-§5).

use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use wasmi::Module;
use wasmi::errors::ErrorKind;

use crate::error::LoadError;
use crate::exports::Exports;
use crate::files::{self, ConfineError, ReadError, Want};
use crate::findings::{
    CallCost, Dropped, Failure, FailureKind, Finding, PluginRun, RunStatus, Stage, clamp_score,
    printable,
};
use crate::host::{self, HostState};
use crate::manifest::{Manifest, ManifestRules, SUPPORTED_PROTOCOLS};
use crate::registry::HostConfig;
use crate::runtime::Runtime;
use crate::sandbox::Sandbox;
use crate::sandbox::{load_limits, start};

/// How a plugin loaded from memory is named where a path would be.
pub const IN_MEMORY: &str = "<memory>";
/// Largest module file read. Real plugins are kilobytes to a few megabytes; a bigger file is
/// refused before it is read into host memory.
pub const MAX_MODULE_BYTES: u64 = 128 * 1024 * 1024;

/// Bytes offered to `plugin_name` / `plugin_version`; longer names are cut and a warning logged.
const IDENTITY_BUFFER: usize = 256;
const WASM_MAGIC: &[u8] = b"\0asm";

/// A loaded plugin, ready to scan.
#[derive(Debug)]
pub struct Plugin {
    manifest: Manifest,
    dir: Option<PathBuf>,
    module: Module,
    exports: Exports,
    /// The export the start function was moved to at load, if the module has one.
    start_export: Option<String>,
    /// The canonical plugin directory, when `permissions.filesystem` grants the preopen.
    preopen: Option<PathBuf>,
    guest_name: Option<String>,
    guest_version: Option<String>,
    load_cost: CallCost,
    load_findings: Vec<Finding>,
    load_dropped: Dropped,
}

/// One input to scan: any bytes, with a path and a type name the host chose.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The bytes plugins see.
    pub data: &'a [u8],
    /// What `get_file_path` returns.
    pub path: &'a str,
    /// What `get_file_type` returns, and what `file_types` are matched against.
    pub file_type: &'a str,
}

impl Plugin {
    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest name: the plugin's identity in findings.
    pub fn name(&self) -> &str {
        self.manifest.name()
    }

    /// The plugin directory; `None` for a plugin loaded from memory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// What the module's `plugin_name` export returned at load, if it has one.
    pub fn guest_name(&self) -> Option<&str> {
        self.guest_name.as_deref()
    }

    /// What the module's `plugin_version` export returned at load, if it has one.
    pub fn guest_version(&self) -> Option<&str> {
        self.guest_version.as_deref()
    }

    /// What loading cost: instantiation, `_initialize`, `on_load` and identification.
    pub fn load_cost(&self) -> CallCost {
        self.load_cost
    }

    /// Findings the plugin reported while loading (from its start function, `_initialize`
    /// or `on_load`), when no file is being scanned. Usually none; a host shows them so that
    /// nothing a plugin reports is lost.
    pub fn load_findings(&self) -> &[Finding] {
        &self.load_findings
    }

    /// What the per-scan caps cut while loading (the load counts as one scan).
    pub fn load_dropped(&self) -> Dropped {
        self.load_dropped
    }

    /// Whether this plugin wants to see inputs of `file_type`.
    pub fn accepts(&self, file_type: &str) -> bool {
        self.manifest
            .file_types()
            .iter()
            .any(|t| t == "all" || t == file_type)
    }

    fn budget(&self) -> Duration {
        Duration::from_millis(self.manifest.permissions().max_exec_ms.into())
    }

    fn memory_cap(&self) -> usize {
        self.manifest.permissions().max_memory_bytes()
    }

    fn host_state(&self, runtime: &Runtime, path: &str, file_type: &str) -> HostState {
        HostState::new(
            self.name(),
            runtime.log_target.clone(),
            self.memory_cap(),
            path,
            file_type,
            self.preopen.clone(),
        )
    }

    /// Loads the plugin in `dir`. The manifest's name is returned with the error when known.
    pub(crate) fn load(
        runtime: &Runtime,
        config: &HostConfig,
        dir: &Path,
    ) -> Result<Self, (Option<String>, LoadError)> {
        let rules = ManifestRules {
            file_types: &config
                .file_types
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        };
        let manifest = Manifest::load(&dir.join("plugin.json"), rules)
            .map_err(|e| (None, LoadError::Manifest(e)))?;
        let name = manifest.name().to_owned();
        Self::load_with(runtime, config, dir, manifest).map_err(|e| (Some(name), e))
    }

    fn load_with(
        runtime: &Runtime,
        config: &HostConfig,
        dir: &Path,
        manifest: Manifest,
    ) -> Result<Self, LoadError> {
        check_compatibility(&manifest, config)?;
        warn_about(&manifest, &dir.join("plugin.json").display().to_string());
        let (file, wasm_path) = confine(dir, manifest.wasm_file())?;
        let wasm = read_module(file, &wasm_path)?;
        let preopen = match manifest.permissions().filesystem {
            true => Some(dir.canonicalize().map_err(|error| LoadError::Read {
                path: dir.to_path_buf(),
                error,
            })?),
            false => None,
        };
        Self::build(runtime, manifest, &wasm, &wasm_path, Some(dir), preopen)
    }

    /// Loads a plugin from a manifest and module bytes held in memory (no plugin directory,
    /// so `permissions.filesystem` cannot be granted).
    pub(crate) fn from_bytes(
        runtime: &Runtime,
        config: &HostConfig,
        manifest: Manifest,
        wasm: &[u8],
    ) -> Result<Self, LoadError> {
        check_compatibility(&manifest, config)?;
        warn_about(&manifest, &format!("plugin '{}'", manifest.name()));
        if manifest.permissions().filesystem {
            return Err(LoadError::FilesystemWithoutDirectory);
        }
        let source = Path::new(IN_MEMORY);
        check_binary(wasm, source)?;
        Self::build(runtime, manifest, wasm, source, None, None)
    }

    fn build(
        runtime: &Runtime,
        manifest: Manifest,
        wasm: &[u8],
        wasm_path: &Path,
        dir: Option<&Path>,
        preopen: Option<PathBuf>,
    ) -> Result<Self, LoadError> {
        let over_limit = |reason| LoadError::LoadLimit {
            path: wasm_path.to_path_buf(),
            reason,
        };
        load_limits::check_size(wasm).map_err(over_limit)?;
        let invalid = |reason| LoadError::Compile {
            path: wasm_path.to_path_buf(),
            reason,
        };
        let rewritten = start::rewrite(wasm).map_err(invalid)?;
        let module = Module::new(&runtime.engine, &rewritten.wasm[..]).map_err(|e| {
            let reason = e.to_string();
            match e.kind() {
                ErrorKind::UserLimits(_) | ErrorKind::ImplementationLimits(_) => over_limit(reason),
                _ => LoadError::Compile {
                    path: wasm_path.to_path_buf(),
                    reason,
                },
            }
        })?;
        load_limits::check_counts(&module).map_err(over_limit)?;
        if let Some(export) = &rewritten.start_export {
            start::check_type(&module, export).map_err(invalid)?;
        }
        host::check_imports(&module)?;
        let mut plugin = Plugin {
            start_export: rewritten.start_export,
            preopen,
            exports: Exports::check(&module)?,
            manifest,
            dir: dir.map(Path::to_path_buf),
            module,
            guest_name: None,
            guest_version: None,
            load_cost: CallCost::default(),
            load_findings: Vec::new(),
            load_dropped: Dropped::default(),
        };
        plugin.initialize(runtime)?;
        log::debug!(
            "loaded plugin '{}' from {} ({} fuel, {} us{})",
            plugin.name(),
            wasm_path.display(),
            plugin.load_cost.fuel,
            plugin.load_cost.micros,
            plugin
                .guest_name
                .as_ref()
                .map(|n| format!(", reports itself as '{}'", printable(n)))
                .unwrap_or_default()
        );
        Ok(plugin)
    }

    /// Runs the load-time calls on a first instance: start, `_initialize`, `on_load`, names.
    fn initialize(&mut self, runtime: &Runtime) -> Result<(), LoadError> {
        let state = self.host_state(runtime, "", "");
        let mut sandbox = Sandbox::new(runtime, state, self.budget());
        let result = self.initialize_in(&mut sandbox);
        let (state, cost) = sandbox.finish();
        self.load_cost = cost;
        self.load_findings = state.findings;
        self.load_dropped = state.dropped;
        if !self.load_findings.is_empty() || self.load_dropped.any() {
            log::warn!(
                "plugin '{}' reported {} findings while loading, when no file is scanned{}",
                self.name(),
                self.load_findings.len(),
                if self.load_dropped.any() {
                    format!("; the caps cut {:?}", self.load_dropped)
                } else {
                    String::new()
                }
            );
        }
        result
    }

    fn initialize_in(&mut self, sandbox: &mut Sandbox<'_>) -> Result<(), LoadError> {
        self.start(sandbox).map_err(LoadError::Init)?;
        if self.exports.on_load {
            let result = sandbox.call("on_load", (), Stage::OnLoad, sandbox.deadline());
            let code: i32 = exit_zero_as(result, 0).map_err(LoadError::Init)?;
            if code != 0 {
                return Err(LoadError::OnLoadRefused { code });
            }
        }
        if self.exports.plugin_name || self.exports.plugin_version {
            let deadline = sandbox.deadline();
            let buf = sandbox
                .guest_buffer(
                    IDENTITY_BUFFER,
                    self.exports.alloc,
                    Stage::Identify,
                    deadline,
                )
                .map_err(LoadError::Init)?;
            if self.exports.plugin_name {
                self.guest_name = Some(self.identify(sandbox, "plugin_name", buf, deadline)?);
            }
            if self.exports.plugin_version {
                self.guest_version =
                    Some(self.identify(sandbox, "plugin_version", buf, deadline)?);
            }
        }
        Ok(())
    }

    /// Instantiation and `_initialize`, each under its own budget.
    fn start(&self, sandbox: &mut Sandbox<'_>) -> Result<(), Failure> {
        sandbox.instantiate(&self.module, self.start_export.as_deref())?;
        if self.exports.initialize {
            let result = sandbox.call("_initialize", (), Stage::Initialize, sandbox.deadline());
            exit_zero_as(result, ())?;
        }
        Ok(())
    }

    fn identify(
        &self,
        sandbox: &mut Sandbox<'_>,
        export: &str,
        buf: usize,
        deadline: crate::sandbox::budget::Deadline,
    ) -> Result<String, LoadError> {
        let full: i32 = sandbox
            .call(
                export,
                (buf as i32, IDENTITY_BUFFER as i32),
                Stage::Identify,
                deadline,
            )
            .map_err(LoadError::Init)?;
        let full = full.max(0) as usize;
        if full > IDENTITY_BUFFER {
            log::warn!(
                "plugin '{}': {export} reports {full} bytes; kept the first {IDENTITY_BUFFER}",
                self.name()
            );
        }
        let bytes = sandbox.read(buf, full.min(IDENTITY_BUFFER));
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Runs the plugin on one input in a fresh instance. Findings reported before a failure
    /// are kept.
    pub(crate) fn run(&self, runtime: &Runtime, input: Input<'_>) -> (PluginRun, Vec<Finding>) {
        let cap = self.memory_cap();
        let state = self.host_state(runtime, input.path, input.file_type);
        if input.data.len() > cap {
            let reason = format!(
                "the file is {} bytes, more than the plugin's memory cap of {cap} bytes (max_memory_mb = {})",
                input.data.len(),
                self.manifest.permissions().max_memory_mb
            );
            return (
                self.report(RunStatus::Skipped { reason }, &state, CallCost::default()),
                Vec::new(),
            );
        }
        let mut sandbox = Sandbox::new(runtime, state, self.budget());
        let status = match self.scan_in(&mut sandbox, input.data) {
            Ok(score) => RunStatus::Ok { score },
            // The file could not be placed under the cap: not the plugin's fault.
            Err(failure)
                if failure.stage == Stage::Transfer && failure.kind == FailureKind::MemoryLimit =>
            {
                RunStatus::Skipped {
                    reason: format!(
                        "the file does not fit in the plugin's memory: {}",
                        failure.reason
                    ),
                }
            }
            Err(failure) => RunStatus::Failed(failure),
        };
        let (mut state, cost) = sandbox.finish();
        if let RunStatus::Ok { score } = status {
            if score > 0 && state.findings.is_empty() {
                state
                    .findings
                    .push(Finding::synthesized(self.name(), score));
            }
        }
        let run = self.report(status, &state, cost);
        log::debug!(
            "plugin '{}' on {}: {:?}; {} fuel, {} us, peak memory {} bytes",
            self.name(),
            input.path,
            run.status,
            cost.fuel,
            cost.micros,
            run.peak_memory_bytes
        );
        (run, state.findings)
    }

    fn scan_in(&self, sandbox: &mut Sandbox<'_>, data: &[u8]) -> Result<u32, Failure> {
        self.start(sandbox)?;
        // `alloc` and `scan` share one budget.
        let deadline = sandbox.deadline();
        let ptr =
            sandbox.guest_buffer(data.len(), self.exports.alloc, Stage::Transfer, deadline)?;
        sandbox.write(ptr, data);
        let result = sandbox.call(
            "scan",
            (ptr as i32, data.len() as i32),
            Stage::Scan,
            deadline,
        );
        let score: i32 = exit_zero_as(result, 0)?;
        Ok(clamp_score(score))
    }

    fn report(&self, status: RunStatus, state: &HostState, cost: CallCost) -> PluginRun {
        PluginRun {
            plugin: self.name().to_owned(),
            status,
            cost,
            peak_memory_bytes: state.limiter.peak(),
            dropped: state.dropped,
        }
    }
}

/// WASI `proc_exit(0)` ends a call cleanly: it counts as the call returning `value`.
fn exit_zero_as<R>(result: Result<R, Failure>, value: R) -> Result<R, Failure> {
    match result {
        Err(failure) if failure.exit_code == Some(0) => Ok(value),
        other => other,
    }
}

fn check_compatibility(manifest: &Manifest, config: &HostConfig) -> Result<(), LoadError> {
    let platforms = &manifest.platforms();
    if !platforms
        .iter()
        .any(|p| p == "all" || *p == config.platform)
    {
        return Err(LoadError::PlatformMismatch {
            platforms: platforms.to_vec(),
            os: config.platform.clone(),
        });
    }
    if *manifest.min_engine_version() > config.engine_version {
        return Err(LoadError::EngineTooOld {
            required: manifest.min_engine_version().clone(),
            engine: config.engine_version.clone(),
        });
    }
    if !SUPPORTED_PROTOCOLS.contains(&manifest.protocol_version()) {
        return Err(LoadError::UnsupportedProtocol {
            version: manifest.protocol_version(),
        });
    }
    Ok(())
}

/// Opens `wasm_file` inside `dir`, refusing absolute paths, `..`, symlinks leading out and
/// anything but a regular file; the file is opened once and checked on its handle.
fn confine(dir: &Path, wasm_file: &Path) -> Result<(File, PathBuf), LoadError> {
    let refuse = |reason: &str| LoadError::WasmPath {
        wasm_file: wasm_file.to_path_buf(),
        reason: reason.to_owned(),
    };
    for component in wasm_file.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(refuse(
                    "must not contain `..`; it must stay inside the plugin directory",
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "must be a path relative to the plugin directory, not an absolute path",
                ));
            }
        }
    }
    let joined = dir.join(wasm_file);
    let real_dir = dir
        .canonicalize()
        .map_err(|e| refuse(&format!("plugin directory {}: {e}", dir.display())))?;
    match files::open_confined(&real_dir, &joined, Want::File) {
        Ok(confined) => Ok((confined.file, joined)),
        Err(ConfineError::Outside { real }) => Err(refuse(&format!(
            "resolves to {}, outside the plugin directory (through a symlink)",
            real.display()
        ))),
        Err(ConfineError::NotRegular(kind)) => {
            Err(refuse(&format!("is not a regular file: it {kind}")))
        }
        Err(ConfineError::Moved) => Err(refuse("changed while being opened; try again")),
        Err(ConfineError::Io(e)) => Err(refuse(&format!(
            "cannot be opened in {}: {e}",
            dir.display()
        ))),
    }
}

fn read_module(file: File, path: &Path) -> Result<Vec<u8>, LoadError> {
    let wasm = files::read_bounded(file, MAX_MODULE_BYTES).map_err(|error| match error {
        ReadError::Io(error) => LoadError::Read {
            path: path.to_path_buf(),
            error,
        },
        ReadError::TooLarge { limit } => LoadError::Compile {
            path: path.to_path_buf(),
            reason: format!("is larger than {limit} bytes; modules may be at most {limit} bytes"),
        },
    })?;
    check_binary(&wasm, path)?;
    Ok(wasm)
}

/// Refuses anything but the binary format, with a hint for the text format.
fn check_binary(wasm: &[u8], path: &Path) -> Result<(), LoadError> {
    if wasm.starts_with(WASM_MAGIC) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&wasm[..wasm.len().min(512)]);
    // Editors on some systems start text files with a UTF-8 byte order mark.
    let code = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with(";;"));
    if code.is_some_and(|line| line.starts_with('(')) {
        return Err(LoadError::TextFormat {
            path: path.to_path_buf(),
        });
    }
    Err(LoadError::Compile {
        path: path.to_path_buf(),
        reason: "does not start with the WebAssembly magic bytes \\0asm".into(),
    })
}

/// Logs what a manifest asks for that the host ignores or will not grant.
fn warn_about(manifest: &Manifest, source: &str) {
    for key in manifest.unknown_keys() {
        log::warn!(
            "{}: unknown key `{key}` ignored (a newer manifest format?)",
            printable(source)
        );
    }
    if manifest.permissions().network {
        log::warn!(
            "plugin '{}' declares network: true; plugbox grants plugins no network access",
            manifest.name()
        );
    }
}
