//! One plugin: its manifest, its compiled module, and what the host granted it. Loading it
//! (CONTRACT §1-§3: confinement, checks, `_initialize`, `on_load`, identification) is in
//! `load.rs`; running it on one input (§3-§5) in `run.rs`.

mod load;
mod preinit;
mod run;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmi::Module;

use crate::exports::Exports;
use crate::findings::{CallCost, Dropped, Failure, Finding};
use crate::host::{HostState, Preopen};
use crate::limits::MAX_HOST_INPUT_BYTES;
use crate::manifest::{InputMode, Manifest};
use crate::runtime::Runtime;
use crate::sandbox::preinit::InitImage;
use crate::sandbox::rewrite::StateExports;

pub(crate) use load::{Compiled, check_binary, compile, compile_unchecked, confine, read_module};
pub(crate) use run::Scanned;

/// How a plugin loaded from memory is named where a path would be.
pub(crate) const IN_MEMORY: &str = "<memory>";

/// A loaded plugin, ready to scan: what [`Registry::load_plugin`](crate::Registry::load_plugin)
/// returns and [`Registry::plugins`](crate::Registry::plugins) lists. Use it to show what is
/// loaded (name, version, what it was granted, what it cost) and what it reported while
/// loading.
#[derive(Debug)]
pub struct Plugin {
    /// The plugin's own engine and linker: its compiled code is freed with the plugin, so a
    /// host that reloads plugins forever does not accumulate code.
    runtime: Arc<Runtime>,
    manifest: Manifest,
    dir: Option<PathBuf>,
    module: Module,
    exports: Exports,
    /// Whether the module imports any of the `plugbox` helpers: its instances are given the
    /// data to scan in [`HostState::input`].
    imports_helpers: bool,
    /// The export the start function was moved to at load, if the module has one.
    start_export: Option<String>,
    /// The exports of the module's state, if it can be pre-initialised.
    state_exports: Option<StateExports>,
    /// What the start function and `_initialize` leave, when pre-initialised: each instance
    /// gets it instead of running them.
    init_image: Option<InitImage>,
    /// The canonical plugin directory at `/plugin` when `permissions.filesystem` is granted;
    /// none otherwise.
    preopens: Arc<[Preopen]>,
    grants: Grants,
    guest_name: Option<String>,
    guest_version: Option<String>,
    load_cost: CallCost,
    load_findings: Vec<Finding>,
    load_dropped: Dropped,
}

/// What the host granted a plugin: its manifest's permissions, lowered to the host's
/// ceilings ([`HostConfig`](crate::HostConfig)). Compare with
/// [`Manifest::permissions`] to see what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grants {
    /// Cap on all linear memory, in MiB.
    pub max_memory_mb: u32,
    /// Wall-clock budget of one call into the plugin, in milliseconds.
    pub max_exec_ms: u32,
    /// Whether the plugin sees its own directory, read-only, through WASI.
    pub filesystem: bool,
}

impl Grants {
    /// The memory cap in bytes (saturating where `usize` is 32 bits wide).
    pub fn max_memory_bytes(&self) -> usize {
        (self.max_memory_mb as usize).saturating_mul(1024 * 1024)
    }
}

impl Plugin {
    /// The validated manifest: what the plugin declared and asked for.
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

    /// What the plugin runs with: its permissions within the host's ceilings.
    pub fn grants(&self) -> Grants {
        self.grants
    }

    /// What the module's `plugin_name` export returned at load, if it has one.
    pub fn guest_name(&self) -> Option<&str> {
        self.guest_name.as_deref()
    }

    /// What the module's `plugin_version` export returned at load, if it has one.
    pub fn guest_version(&self) -> Option<&str> {
        self.guest_version.as_deref()
    }

    /// Whether the plugin is pre-initialised: its start function and `_initialize` ran once,
    /// at load, and each scan's instance starts from the state they left instead of running
    /// them again ([`HostConfig::with_pre_initialization`](crate::HostConfig::with_pre_initialization)).
    /// A plugin whose initialisation could act differently from one file to the next (it
    /// reads the clock, randomness or the file's path, reports or logs, leaves files open or
    /// changes a table) is not, and runs it in every instance.
    pub fn is_pre_initialized(&self) -> bool {
        self.init_image.is_some()
    }

    /// Whether pre-initialisation ran with the plugin's directory open to it: what it read
    /// there is in every instance, so a change there must reload the plugin.
    pub(crate) fn init_reads_its_dir(&self) -> bool {
        self.init_image.is_some() && !self.preopens.is_empty()
    }

    /// What loading cost: instantiation, `_initialize`, `on_load` and identification.
    pub fn load_cost(&self) -> CallCost {
        self.load_cost
    }

    /// The compiled module, and the names of the exports the host added to it at load.
    pub(crate) fn module_and_added_exports(&self) -> (&Module, Vec<&str>) {
        let mut added: Vec<&str> = self.start_export.as_deref().into_iter().collect();
        if let Some(state) = &self.state_exports {
            added.extend(
                state
                    .globals
                    .iter()
                    .chain(&state.tables)
                    .map(String::as_str),
            );
        }
        (&self.module, added)
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

    /// Whether this plugin wants to see inputs of `file_type` (its manifest's `file_types`).
    pub fn accepts(&self, file_type: &str) -> bool {
        self.manifest
            .file_types()
            .iter()
            .any(|t| t == "all" || t == file_type)
    }

    /// How the data to scan reaches the plugin (manifest `input`): copied into its memory, or
    /// read through the `plugbox` helpers.
    pub fn input_mode(&self) -> InputMode {
        self.manifest.input()
    }

    /// The largest input this plugin can scan, in bytes: its memory cap with
    /// `"input": "copy"`, [`MAX_HOST_INPUT_BYTES`] with `"input": "host"`. A larger input is
    /// skipped for it.
    pub fn max_input_bytes(&self) -> u64 {
        match self.input_mode() {
            InputMode::Host => MAX_HOST_INPUT_BYTES,
            InputMode::Copy => self.grants.max_memory_bytes() as u64,
        }
    }

    /// Whether its instances read the scanned data through the `plugbox` helpers, and so
    /// need it shared in their state.
    pub(crate) fn reads_through_host(&self) -> bool {
        self.imports_helpers || self.input_mode() == InputMode::Host
    }

    /// The memory grant as messages name it: the manifest key, and the ceiling if it lowered it.
    fn memory_grant(&self) -> String {
        let (asked, granted) = (
            self.manifest.permissions().max_memory_mb,
            self.grants.max_memory_mb,
        );
        match asked == granted {
            true => format!("max_memory_mb = {granted}"),
            false => format!("max_memory_mb = {asked}, lowered to {granted} by the host"),
        }
    }

    fn budget(&self) -> Duration {
        Duration::from_millis(self.grants.max_exec_ms.into())
    }

    fn host_state(&self, path: &str, file_type: &str) -> HostState {
        HostState::new(
            self.name(),
            self.runtime.log_target.clone(),
            self.grants.max_memory_bytes(),
            path,
            file_type,
            Arc::clone(&self.preopens),
        )
    }
}

/// WASI `proc_exit(0)` ends a call cleanly: it counts as the call returning `value`.
fn exit_zero_as<R>(result: Result<R, Failure>, value: R) -> Result<R, Failure> {
    match result {
        Err(failure) if failure.exit_code == Some(0) => Ok(value),
        other => other,
    }
}
