//! Load errors as problems for plugin authors: a stable `kind` per class, the message, and
//! a one-line fix.

use std::path::Path;

use plugbox::{FailureKind, HostConfig, LoadError, Stage, printable};
use serde_json::{Value, json};

/// One thing that keeps a plugin from loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The class, e.g. `unknown_import`: stable, for scripts.
    pub kind: &'static str,
    /// What is wrong, control characters escaped.
    pub message: String,
    /// How to fix that class of problem.
    pub fix: &'static str,
}

impl Problem {
    pub fn of(error: &LoadError) -> Self {
        let (kind, fix) = class(error);
        Self {
            kind,
            message: printable(&error.to_string()).into_owned(),
            fix,
        }
    }

    pub fn json(&self) -> Value {
        json!({"kind": self.kind, "message": self.message, "fix": self.fix})
    }
}

/// The problems of the plugin in `dir`, which failed to load with `error`: when that is an
/// import or export problem, every import and export problem of its module (the loader stops
/// at the first); otherwise `error` alone.
pub fn problems(config: &HostConfig, dir: &Path, error: &LoadError) -> Vec<Problem> {
    let module_level = matches!(
        error,
        LoadError::UnknownImport { .. }
            | LoadError::ImportSignature { .. }
            | LoadError::MissingExport { .. }
            | LoadError::ExportSignature { .. }
    );
    let all = match module_level {
        true => plugbox::inspect::module_problems(config, dir).unwrap_or_default(),
        false => Vec::new(),
    };
    match all.is_empty() {
        true => vec![Problem::of(error)],
        false => all.iter().map(Problem::of).collect(),
    }
}

/// The `kind` and the fix of a load error's class.
pub fn class(error: &LoadError) -> (&'static str, &'static str) {
    match error {
        LoadError::Manifest(_) => (
            "manifest",
            "correct the named field of plugin.json (abi/ABI.md lists the fields and their ranges)",
        ),
        LoadError::PlatformMismatch { .. } => (
            "platform_mismatch",
            "add this host's OS (or \"all\") to the manifest's platforms if the plugin runs here",
        ),
        LoadError::EngineTooOld { .. } => (
            "engine_too_old",
            "lower min_engine_version to the plugbox version the plugin needs, or upgrade plugbox",
        ),
        LoadError::UnsupportedProtocol { .. } => (
            "unsupported_protocol",
            "set protocol_version to one this host implements (or remove it for the default)",
        ),
        LoadError::WasmPath { .. } => (
            "wasm_path",
            "make wasm_file a relative path to a regular file inside the plugin directory (no `..`, no absolute path, no symlink out)",
        ),
        LoadError::Read { .. } => (
            "read",
            "make the module file readable by the user running plugbox",
        ),
        LoadError::TextFormat { .. } => (
            "text_format",
            "build it to a binary .wasm (wat2wasm, or the plugin's build.sh): plugbox loads binary modules only",
        ),
        LoadError::Compile { .. } => (
            "compile",
            "rebuild the module for wasm32-unknown-unknown or wasm32-wasip1 with only the standard WebAssembly features plugbox enables",
        ),
        LoadError::LoadLimit { .. } => (
            "load_limit",
            "make the module smaller (fewer functions, locals, data; strip debug info, build with optimisations) to fit the load limits in abi/ABI.md",
        ),
        LoadError::UnknownImport { .. } => (
            "unknown_import",
            "import only the host functions of abi/ABI.md (env, plugbox, wasi_snapshot_preview1), e.g. through the guest crate abi/rust or abi/c/plugbox.h",
        ),
        LoadError::ImportSignature { .. } => (
            "import_signature",
            "declare the import with the host's signature shown (the guest crate abi/rust and abi/c/plugbox.h have them right)",
        ),
        LoadError::MissingExport { .. } => (
            "missing_export",
            "export it: every detection plugin exports `memory` and `scan` (abi/ABI.md, \"Exports\")",
        ),
        LoadError::ExportSignature { .. } => (
            "export_signature",
            "give the export the signature expected, or rename it if it is not meant for plugbox",
        ),
        LoadError::Init(failure) => init_class(failure.kind, failure.stage),
        LoadError::OnLoadRefused { .. } => (
            "on_load_refused",
            "make on_load return 0 when the plugin can run; non-zero tells plugbox not to load it",
        ),
        LoadError::FilesystemWithoutDirectory => (
            "filesystem_without_directory",
            "set permissions.filesystem to false, or load the plugin from its directory",
        ),
        LoadError::Preopen { .. } => (
            "preopen",
            "give an existing directory and a usable guest path",
        ),
        LoadError::DuplicateName { .. } => (
            "duplicate_name",
            "give each plugin in the directory its own manifest name",
        ),
        _ => ("load_error", "see the message"),
    }
}

/// The class of a failed load-time call (start, `_initialize`, `on_load`, identity).
fn init_class(kind: FailureKind, stage: Stage) -> (&'static str, &'static str) {
    match (kind, stage) {
        (FailureKind::Timeout, _) => (
            "load_timeout",
            "make the start function, _initialize and on_load finish well within max_exec_ms (no endless loops; move heavy work out of loading)",
        ),
        (FailureKind::MemoryLimit, Stage::Instantiate) => (
            "memory_over_cap",
            "lower the module's initial memory (e.g. a smaller stack or heap, `-C link-arg=--initial-memory=N`) or raise permissions.max_memory_mb",
        ),
        (FailureKind::MemoryLimit, _) => (
            "load_memory_limit",
            "allocate less while loading, or raise permissions.max_memory_mb",
        ),
        (FailureKind::Trap, Stage::OnLoad) => (
            "on_load_failed",
            "fix the trap in on_load (an unreachable, a bad pointer, a panic): run the plugin with RUST_LOG=debug for its log lines",
        ),
        (FailureKind::Trap, Stage::Identify) => (
            "identity_failed",
            "make plugin_name / plugin_version write at most `len` bytes into the buffer given and return the full length",
        ),
        (FailureKind::Trap, _) => (
            "init_trap",
            "fix the trap in the start function or _initialize (an unreachable, a bad pointer, a panic in a static initialiser)",
        ),
        (FailureKind::Exit, _) => (
            "init_exit",
            "do not call proc_exit (or exit) while loading; return from _initialize / on_load instead",
        ),
        (FailureKind::Abi, _) => (
            "init_abi",
            "make alloc return a range inside the module's memory (abi/ABI.md, \"alloc\")",
        ),
        _ => ("init_failed", "see the message: a load-time call failed"),
    }
}
