//! What a plugin's module imports, exports and declares as memory, and every import and
//! export problem it has rather than only the first: for tools that check plugins, such as
//! `plugbox plugins check`.
//!
//! ```
//! use plugbox::{HostConfig, Registry};
//!
//! let registry = Registry::new(HostConfig::default());
//! let plugin = registry.load_plugin("examples/plugins/marker-scanner".as_ref()).unwrap();
//! let info = plugin.module_info();
//! assert!(info.exports.iter().any(|e| e.name == "scan"));
//! assert!(info.memory.is_some());
//! ```

use std::path::Path;

use wasmi::{ExternType, Module};

use crate::config::HostConfig;
use crate::error::LoadError;
use crate::exports::{describe, export_problems};
use crate::host::imports::{Namespaces, import_problems};
use crate::manifest::Manifest;
use crate::plugin::{Plugin, compile_unchecked, confine, read_module};
use crate::runtime::Runtime;

/// A module's imports, exports and exported memory, as compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleInfo {
    /// The imports, in the module's order.
    pub imports: Vec<Import>,
    /// The exports, in the module's order (not those the host adds when loading).
    pub exports: Vec<Export>,
    /// The memory exported as `memory`, if it is one.
    pub memory: Option<Memory>,
}

/// One import of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Import {
    /// The import's module, e.g. `env`.
    pub module: String,
    /// Its name, e.g. `report_finding`.
    pub name: String,
    /// Its type, e.g. `func (i32, i32) -> (i32)`.
    pub ty: String,
}

/// One export of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Export {
    /// The export's name.
    pub name: String,
    /// Its type, e.g. `func (i32, i32) -> (i32)` or `a memory`.
    pub ty: String,
}

/// A linear memory's declared size, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Memory {
    /// The initial size, in pages.
    pub initial_pages: u64,
    /// The declared maximum, in pages, if any.
    pub maximum_pages: Option<u64>,
}

impl Memory {
    /// The size of a page in bytes.
    pub const PAGE_BYTES: u64 = 65536;

    /// The initial size in bytes.
    pub fn initial_bytes(&self) -> u64 {
        self.initial_pages.saturating_mul(Self::PAGE_BYTES)
    }

    /// The declared maximum in bytes, if any.
    pub fn maximum_bytes(&self) -> Option<u64> {
        self.maximum_pages
            .map(|pages| pages.saturating_mul(Self::PAGE_BYTES))
    }
}

impl Plugin {
    /// What the module imports, exports and declares as memory, as compiled (without the
    /// exports the host adds at load).
    pub fn module_info(&self) -> ModuleInfo {
        let (module, added) = self.module_and_added_exports();
        ModuleInfo::of(module, &added)
    }
}

impl ModuleInfo {
    /// Describes `module`, leaving out the exports named in `hidden`.
    fn of(module: &Module, hidden: &[&str]) -> Self {
        let imports = module
            .imports()
            .map(|import| Import {
                module: import.module().to_owned(),
                name: import.name().to_owned(),
                ty: describe(import.ty()),
            })
            .collect();
        let exports = module
            .exports()
            .filter(|export| !hidden.contains(&export.name()))
            .map(|export| Export {
                name: export.name().to_owned(),
                ty: describe(export.ty()),
            })
            .collect();
        let memory = match module.get_export("memory") {
            Some(ExternType::Memory(ty)) => Some(Memory {
                initial_pages: ty.minimum(),
                maximum_pages: ty.maximum(),
            }),
            _ => None,
        };
        Self {
            imports,
            exports,
            memory,
        }
    }
}

/// Every import and export problem of the module of the detection plugin in `dir`, checked
/// with the loader's own rules: each import the host does not provide or provides with
/// another type, then each missing or mistyped export. Empty when the imports and exports
/// are right (the plugin may still fail later, e.g. in `on_load`).
///
/// # Errors
///
/// What keeps the module from being compiled at all: the manifest, `wasm_file`, reading,
/// the text format, validation or the load limits, as [`Registry::load_plugin`] reports it.
///
/// [`Registry::load_plugin`]: crate::Registry::load_plugin
pub fn module_problems(config: &HostConfig, dir: &Path) -> Result<Vec<LoadError>, LoadError> {
    let manifest = Manifest::load(&dir.join("plugin.json"), config).map_err(LoadError::Manifest)?;
    let (file, wasm_path) = confine(dir, manifest.wasm_file())?;
    let wasm = read_module(file, &wasm_path)?;
    let runtime = Runtime::new(config.log_target());
    let compiled = compile_unchecked(&runtime, &wasm, &wasm_path)?;
    let mut problems = import_problems(&compiled.module, Namespaces::EnvAndWasi);
    problems.extend(export_problems(&compiled.module));
    Ok(problems)
}
