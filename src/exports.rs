//! The module exports a plugin may have (CONTRACT §3), checked at load with their signatures
//! so that a broken plugin fails there and not at its first scan.

use wasmi::{ExternType, FuncType, Module, ValType};

use crate::error::LoadError;

use ValType::I32;

/// One exported function of a plugin ABI: its name, whether it is required, and its signature.
struct ExportRule {
    name: &'static str,
    required: bool,
    params: &'static [ValType],
    results: &'static [ValType],
    signature: &'static str,
}

/// Where the presence of an optional export is recorded.
type Flag = fn(&mut Exports) -> &mut bool;

/// The exported functions of a detection plugin (CONTRACT §3).
const FUNCTIONS: &[(ExportRule, Flag)] = &[
    (
        ExportRule {
            name: "scan",
            required: true,
            params: &[I32, I32],
            results: &[I32],
            signature: "func (i32 ptr, i32 len) -> i32",
        },
        |e| &mut e.scan,
    ),
    (
        ExportRule {
            name: "on_load",
            required: false,
            params: &[],
            results: &[I32],
            signature: "func () -> i32",
        },
        |e| &mut e.on_load,
    ),
    (
        ExportRule {
            name: "plugin_name",
            required: false,
            params: &[I32, I32],
            results: &[I32],
            signature: "func (i32 buf, i32 len) -> i32",
        },
        |e| &mut e.plugin_name,
    ),
    (
        ExportRule {
            name: "plugin_version",
            required: false,
            params: &[I32, I32],
            results: &[I32],
            signature: "func (i32 buf, i32 len) -> i32",
        },
        |e| &mut e.plugin_version,
    ),
    (
        ExportRule {
            name: "alloc",
            required: false,
            params: &[I32],
            results: &[I32],
            signature: "func (i32 size) -> i32",
        },
        |e| &mut e.alloc,
    ),
    (
        ExportRule {
            name: "_initialize",
            required: false,
            params: &[],
            results: &[],
            signature: "func () -> ()",
        },
        |e| &mut e.initialize,
    ),
];

/// A command plugin's entry point (CONTRACT §9).
const START: ExportRule = ExportRule {
    name: "_start",
    required: true,
    params: &[],
    results: &[],
    signature: "func () -> ()",
};

const MEMORY: &str = "a 32-bit linear memory";

/// Which optional exports a checked module has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Exports {
    /// `scan` (always true once checked)
    pub scan: bool,
    /// `on_load`
    pub on_load: bool,
    /// `plugin_name`
    pub plugin_name: bool,
    /// `plugin_version`
    pub plugin_version: bool,
    /// `alloc`
    pub alloc: bool,
    /// `_initialize`
    pub initialize: bool,
}

impl Exports {
    /// Checks `module`'s exports against the ABI.
    pub(crate) fn check(module: &Module) -> Result<Self, LoadError> {
        check_memory(module)?;
        let mut exports = Self::default();
        for (rule, flag) in FUNCTIONS {
            *flag(&mut exports) = rule.check(module)?;
        }
        Ok(exports)
    }
}

/// Every export problem of a detection plugin's module that [`Exports::check`] would refuse
/// it for, not only the first: the memory, then each function in the ABI's order.
pub(crate) fn export_problems(module: &Module) -> Vec<LoadError> {
    let memory = check_memory(module).err();
    let functions = FUNCTIONS
        .iter()
        .filter_map(|(rule, _)| rule.check(module).err());
    memory.into_iter().chain(functions).collect()
}

/// Checks a command module's exports: `_start: () -> ()` and the memory.
pub(crate) fn check_command(module: &Module) -> Result<(), LoadError> {
    START.check(module)?;
    check_memory(module)
}

/// Every plugin exports its 32-bit linear memory as `memory`.
fn check_memory(module: &Module) -> Result<(), LoadError> {
    match module.get_export("memory") {
        Some(ExternType::Memory(ty)) if !ty.is_64() => Ok(()),
        Some(other) => Err(LoadError::ExportSignature {
            name: "memory",
            expected: MEMORY,
            found: describe(&other),
        }),
        None => Err(LoadError::MissingExport {
            name: "memory",
            expected: MEMORY,
        }),
    }
}

impl ExportRule {
    /// `Ok(true)` if present with the right signature, `Ok(false)` if absent and optional.
    fn check(&self, module: &Module) -> Result<bool, LoadError> {
        match module.get_export(self.name) {
            Some(ExternType::Func(ty)) if self.matches(&ty) => Ok(true),
            Some(other) => Err(LoadError::ExportSignature {
                name: self.name,
                expected: self.signature,
                found: describe(&other),
            }),
            None if self.required => Err(LoadError::MissingExport {
                name: self.name,
                expected: self.signature,
            }),
            None => Ok(false),
        }
    }

    fn matches(&self, ty: &FuncType) -> bool {
        ty.params() == self.params && ty.results() == self.results
    }
}

/// Describes an extern type for error messages, e.g. `func (i32, i32) -> (i32)`.
pub(crate) fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => format!("func ({}) -> ({})", join(f.params()), join(f.results())),
        ExternType::Memory(m) if m.is_64() => "a 64-bit memory".into(),
        ExternType::Memory(_) => "a memory".into(),
        ExternType::Table(_) => "a table".into(),
        ExternType::Global(_) => "a global".into(),
    }
}

fn join(types: &[ValType]) -> String {
    types
        .iter()
        .map(|t| format!("{t:?}").to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}
