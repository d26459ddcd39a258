//! The module exports a plugin may have (CONTRACT §3), checked at load with their signatures
//! so that a broken plugin fails there and not at its first scan.

use wasmi::{ExternType, FuncType, Module, ValType};

use crate::error::LoadError;

use ValType::I32;

/// One export of the plugin ABI: its name, whether it is required, and its signature.
struct ExportRule {
    name: &'static str,
    required: bool,
    params: &'static [ValType],
    results: &'static [ValType],
    signature: &'static str,
    flag: fn(&mut Exports) -> &mut bool,
}

const FUNCTIONS: &[ExportRule] = &[
    ExportRule {
        name: "scan",
        required: true,
        params: &[I32, I32],
        results: &[I32],
        signature: "func (i32 ptr, i32 len) -> i32",
        flag: |e| &mut e.scan,
    },
    ExportRule {
        name: "on_load",
        required: false,
        params: &[],
        results: &[I32],
        signature: "func () -> i32",
        flag: |e| &mut e.on_load,
    },
    ExportRule {
        name: "plugin_name",
        required: false,
        params: &[I32, I32],
        results: &[I32],
        signature: "func (i32 buf, i32 len) -> i32",
        flag: |e| &mut e.plugin_name,
    },
    ExportRule {
        name: "plugin_version",
        required: false,
        params: &[I32, I32],
        results: &[I32],
        signature: "func (i32 buf, i32 len) -> i32",
        flag: |e| &mut e.plugin_version,
    },
    ExportRule {
        name: "alloc",
        required: false,
        params: &[I32],
        results: &[I32],
        signature: "func (i32 size) -> i32",
        flag: |e| &mut e.alloc,
    },
    ExportRule {
        name: "_initialize",
        required: false,
        params: &[],
        results: &[],
        signature: "func () -> ()",
        flag: |e| &mut e.initialize,
    },
];

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
        match module.get_export("memory") {
            Some(ExternType::Memory(ty)) if !ty.is_64() => {}
            Some(other) => {
                return Err(LoadError::ExportSignature {
                    name: "memory",
                    expected: MEMORY,
                    found: describe(&other),
                });
            }
            None => {
                return Err(LoadError::MissingExport {
                    name: "memory",
                    expected: MEMORY,
                });
            }
        }
        let mut exports = Self::default();
        for rule in FUNCTIONS {
            *(rule.flag)(&mut exports) = rule.check(module)?;
        }
        Ok(exports)
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
