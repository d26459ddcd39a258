//! Loading a plugin (CONTRACT §1-§3): the manifest, compatibility, the host's ceilings,
//! confinement of `wasm_file`, the load limits, import and export checks, and the load-time
//! calls (start, `_initialize`, `on_load`, identification) on a first instance.

use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use wasmi::Module;
use wasmi::errors::ErrorKind;

use super::{Grants, IN_MEMORY, Plugin, exit_zero_as};
use crate::config::HostConfig;
use crate::error::LoadError;
use crate::exports::Exports;
use crate::files::{self, ConfineError, ReadError, Want};
use crate::findings::{CallCost, Dropped, Failure, Stage};
use crate::host::imports::Namespaces;
use crate::host::{self, HostState, Preopen};
use crate::limits::MAX_MODULE_BYTES;
use crate::manifest::{Manifest, SUPPORTED_PROTOCOLS};
use crate::runtime::Runtime;
use crate::sandbox::budget::Deadline;
use crate::sandbox::rewrite::{self, StateExports};
use crate::sandbox::{Sandbox, load_limits};
use crate::text::printable;

/// Bytes offered to `plugin_name` / `plugin_version`; longer names are cut and a warning logged.
const IDENTITY_BUFFER: usize = 256;
const WASM_MAGIC: &[u8] = b"\0asm";

impl Plugin {
    /// Loads the plugin in `dir`. The manifest's name is returned with the error when known.
    pub(crate) fn load(
        config: &HostConfig,
        dir: &Path,
    ) -> Result<Self, (Option<String>, LoadError)> {
        let manifest = Manifest::load(&dir.join("plugin.json"), config)
            .map_err(|e| (None, LoadError::Manifest(e)))?;
        let name = manifest.name().to_owned();
        Self::load_with(config, dir, manifest).map_err(|e| (Some(name), e))
    }

    fn load_with(config: &HostConfig, dir: &Path, manifest: Manifest) -> Result<Self, LoadError> {
        check_compatibility(&manifest, config)?;
        let source = dir.join("plugin.json").display().to_string();
        warn_about(&manifest, &source);
        let grants = grant(&manifest, config, &source);
        let (file, wasm_path) = confine(dir, manifest.wasm_file())?;
        let wasm = read_module(file, &wasm_path)?;
        let preopen = match grants.filesystem {
            true => Some(Preopen::plugin_dir(dir.canonicalize().map_err(
                |error| LoadError::Read {
                    path: dir.to_path_buf(),
                    error: Arc::new(error),
                },
            )?)),
            false => None,
        };
        Self::build(
            config,
            manifest,
            grants,
            &wasm,
            &wasm_path,
            Some(dir),
            preopen,
        )
    }

    /// Loads a plugin from a manifest and module bytes held in memory (no plugin directory,
    /// so `permissions.filesystem` cannot be granted).
    pub(crate) fn from_bytes(
        config: &HostConfig,
        manifest: Manifest,
        wasm: &[u8],
    ) -> Result<Self, LoadError> {
        check_compatibility(&manifest, config)?;
        if manifest.permissions().filesystem {
            return Err(LoadError::FilesystemWithoutDirectory);
        }
        let source = format!("plugin '{}'", manifest.name());
        warn_about(&manifest, &source);
        let grants = grant(&manifest, config, &source);
        let source = Path::new(IN_MEMORY);
        check_binary(wasm, source)?;
        Self::build(config, manifest, grants, wasm, source, None, None)
    }

    fn build(
        config: &HostConfig,
        manifest: Manifest,
        grants: Grants,
        wasm: &[u8],
        wasm_path: &Path,
        dir: Option<&Path>,
        preopen: Option<Preopen>,
    ) -> Result<Self, LoadError> {
        let runtime = Arc::new(Runtime::new(config.log_target()));
        let Compiled {
            module,
            start_export,
            state,
        } = compile(&runtime, wasm, wasm_path, Namespaces::EnvAndWasi)?;
        let imports_helpers = module
            .imports()
            .any(|import| import.module() == host::PLUGBOX_MODULE);
        let mut plugin = Plugin {
            imports_helpers,
            runtime,
            start_export,
            state_exports: state,
            init_image: None,
            preopens: preopen.into_iter().collect(),
            exports: Exports::check(&module)?,
            manifest,
            grants,
            dir: dir.map(Path::to_path_buf),
            module,
            guest_name: None,
            guest_version: None,
            load_cost: CallCost::default(),
            load_findings: Vec::new(),
            load_dropped: Dropped::default(),
        };
        plugin.initialize()?;
        if config.pre_initialization() {
            plugin.pre_initialize();
        }
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
    fn initialize(&mut self) -> Result<(), LoadError> {
        let runtime = Arc::clone(&self.runtime);
        let state = self.host_state("", "");
        let mut sandbox = Sandbox::new(&runtime.linker, state, self.budget(), None);
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

    fn initialize_in(&mut self, sandbox: &mut Sandbox<'_, HostState>) -> Result<(), LoadError> {
        self.start(sandbox).map_err(LoadError::Init)?;
        if self.exports.on_load {
            let result = sandbox.call("on_load", (), Stage::OnLoad, &sandbox.deadline());
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
                    &deadline,
                )
                .map_err(LoadError::Init)?;
            if self.exports.plugin_name {
                self.guest_name = Some(self.identify(sandbox, "plugin_name", buf, &deadline)?);
            }
            if self.exports.plugin_version {
                self.guest_version =
                    Some(self.identify(sandbox, "plugin_version", buf, &deadline)?);
            }
        }
        Ok(())
    }

    /// Instantiation and `_initialize`, each under its own budget; or, for a pre-initialised
    /// plugin, instantiation and the state they would leave.
    pub(super) fn start(&self, sandbox: &mut Sandbox<'_, HostState>) -> Result<(), Failure> {
        if let Some(image) = &self.init_image {
            sandbox.instantiate(&self.module, None)?;
            return sandbox.apply(image, Stage::Initialize);
        }
        sandbox.instantiate(&self.module, self.start_export.as_deref())?;
        if self.exports.initialize {
            let result = sandbox.call("_initialize", (), Stage::Initialize, &sandbox.deadline());
            exit_zero_as(result, ())?;
        }
        Ok(())
    }

    fn identify(
        &self,
        sandbox: &mut Sandbox<'_, HostState>,
        export: &str,
        buf: usize,
        deadline: &Deadline,
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
}

/// A module compiled under the load limits, its start function moved into an export.
pub(crate) struct Compiled {
    pub(crate) module: Module,
    /// The export the start function was moved to, if the module has one.
    pub(crate) start_export: Option<String>,
    /// The exports of its state, if it can be pre-initialised.
    pub(crate) state: Option<StateExports>,
}

/// Compiles `wasm` (named `wasm_path` in errors) under the load limits, with its start
/// function moved into an export, and checks its imports against what `namespaces` offer.
pub(crate) fn compile(
    runtime: &Runtime,
    wasm: &[u8],
    wasm_path: &Path,
    namespaces: Namespaces,
) -> Result<Compiled, LoadError> {
    let compiled = compile_unchecked(runtime, wasm, wasm_path)?;
    host::imports::check_imports(&compiled.module, namespaces)?;
    Ok(compiled)
}

/// [`compile`] without the import check: the load limits, the start function moved into an
/// export, validation.
pub(crate) fn compile_unchecked(
    runtime: &Runtime,
    wasm: &[u8],
    wasm_path: &Path,
) -> Result<Compiled, LoadError> {
    let over_limit = |reason| LoadError::LoadLimit {
        path: wasm_path.to_path_buf(),
        reason,
    };
    load_limits::check_size(wasm).map_err(over_limit)?;
    let invalid = |reason| LoadError::Compile {
        path: wasm_path.to_path_buf(),
        reason,
    };
    let rewritten = rewrite::rewrite(wasm).map_err(invalid)?;
    let module = Module::new(&runtime.engine, &rewritten.wasm[..]).map_err(|e| {
        let reason = e.to_string();
        match e.kind() {
            ErrorKind::UserLimits(_) | ErrorKind::ImplementationLimits(_) => over_limit(reason),
            _ => invalid(reason),
        }
    })?;
    load_limits::check_counts(&module, rewritten.added_exports()).map_err(over_limit)?;
    if let Some(export) = &rewritten.start_export {
        rewrite::check_type(&module, export).map_err(invalid)?;
    }
    Ok(Compiled {
        module,
        start_export: rewritten.start_export,
        state: rewritten.state,
    })
}

fn check_compatibility(manifest: &Manifest, config: &HostConfig) -> Result<(), LoadError> {
    let platforms = &manifest.platforms();
    if !platforms
        .iter()
        .any(|p| p == "all" || p == config.platform())
    {
        return Err(LoadError::PlatformMismatch {
            platforms: platforms.to_vec(),
            os: config.platform().to_owned(),
        });
    }
    if manifest.min_engine_version() > config.engine_version() {
        return Err(LoadError::EngineTooOld {
            required: manifest.min_engine_version().clone(),
            engine: config.engine_version().clone(),
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
pub(crate) fn confine(dir: &Path, wasm_file: &Path) -> Result<(File, PathBuf), LoadError> {
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

pub(crate) fn read_module(file: File, path: &Path) -> Result<Vec<u8>, LoadError> {
    let wasm = files::read_bounded(file, MAX_MODULE_BYTES).map_err(|error| match error {
        ReadError::Io(error) => LoadError::Read {
            path: path.to_path_buf(),
            error: Arc::new(error),
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
pub(crate) fn check_binary(wasm: &[u8], path: &Path) -> Result<(), LoadError> {
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

/// The manifest's permissions within the host's ceilings. Lowering what a manifest states is
/// logged as a warning; lowering a default is the host's plain choice, logged for debugging.
fn grant(manifest: &Manifest, config: &HostConfig, source: &str) -> Grants {
    let asked = manifest.permissions();
    let grants = Grants {
        max_memory_mb: asked.max_memory_mb.min(config.max_memory_mb()),
        max_exec_ms: asked.max_exec_ms.min(config.max_exec_ms()),
        filesystem: asked.filesystem && config.filesystem_allowed(),
    };
    let source = printable(source);
    let (memory_stated, time_stated) = manifest.stated_limits();
    let lowered = |stated: bool, key: &str, asked: u32, granted: u32, unit: &str| {
        let level = match stated {
            true => log::Level::Warn,
            false => log::Level::Debug,
        };
        let asks = match stated {
            true => "asks for",
            false => "defaults to",
        };
        log::log!(
            level,
            "{source}: {asks} {key} = {asked}; the host allows at most {granted}, so it gets {granted} {unit}"
        );
    };
    if grants.max_memory_mb < asked.max_memory_mb {
        let (asked, granted) = (asked.max_memory_mb, grants.max_memory_mb);
        lowered(memory_stated, "max_memory_mb", asked, granted, "MiB");
    }
    if grants.max_exec_ms < asked.max_exec_ms {
        let (asked, granted) = (asked.max_exec_ms, grants.max_exec_ms);
        lowered(time_stated, "max_exec_ms", asked, granted, "ms per call");
    }
    if asked.filesystem && !grants.filesystem {
        log::warn!(
            "{source}: asks for filesystem: true; this host grants no plugin filesystem access, so it gets none"
        );
    }
    grants
}
