//! The host functions plugbox provides, each listed once, in its namespace's
//! `host_functions!` list. From that list come both the linker definitions and the import
//! table ([`host_imports`]); the signatures in the table are read from the Rust functions'
//! types (at compile time, through [`Signature`]), so what load-time checks, tests and
//! fuzzers see can never drift from what is linked.

use std::fmt;
use std::sync::OnceLock;

use wasmi::{Caller, Engine, ExternType, FuncType, Linker, Module, ValType};

use super::{HostState, env, plugbox, wasi};
use crate::error::LoadError;
use crate::exports::describe;

/// Lists the host functions of one import namespace, by Rust function name (the import name
/// is the function's name), optionally qualified by the submodule holding it
/// (`fd::fd_close`). It defines, in the invoking module:
///
/// - `MODULE`, the namespace;
/// - `NAMES`, the import names in list order;
/// - `define(linker)`, which links every function under its name;
/// - `signatures()`, the parameter and result types of every function in list order, read
///   from the function's Rust type.
macro_rules! host_functions {
    ($module:literal; $($file:ident :: $name:ident),* $(,)?) => {
        /// The import module name.
        pub(crate) const MODULE: &str = $module;

        /// The import names, in list order.
        pub(super) const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Links every host function of this namespace.
        pub(super) fn define(linker: &mut wasmi::Linker<$crate::host::HostState>) {
            $(
                linker
                    .func_wrap(MODULE, stringify!($name), $file::$name)
                    .expect("each host function is listed once");
            )*
        }

        /// The parameter and result types of every host function of this namespace, in
        /// list order.
        pub(super) fn signatures() -> Vec<$crate::host::imports::Types> {
            vec![$($crate::host::imports::signature_of(&$file::$name)),*]
        }
    };
    ($module:literal; $($name:ident),* $(,)?) => {
        $crate::host::imports::host_functions!($module; $(self::$name),*);
    };
}
pub(super) use host_functions;

/// A host function's parameter and result types.
pub(crate) type Types = (Vec<ValueType>, Vec<ValueType>);

/// The signature of a host function, from its Rust type: the parameters after the `Caller`,
/// and the `Ok` type of its result. `Marker` only tells the impls for each arity apart.
pub(crate) trait Signature<Marker> {
    /// The parameter and result types.
    fn types() -> Types;
}

/// The types of [`host_functions!`] entries, without wrapping them a second time: the
/// signatures cost no code beyond these few small functions.
pub(crate) fn signature_of<Marker, F: Signature<Marker>>(_: &F) -> Types {
    F::types()
}

/// A Rust type a host function takes or returns, as a WebAssembly value type.
trait Value {
    const TYPE: ValueType;
}

impl Value for i32 {
    const TYPE: ValueType = ValueType::I32;
}

impl Value for i64 {
    const TYPE: ValueType = ValueType::I64;
}

/// What a host function returns: nothing or one value, or a trap.
trait Results {
    fn types() -> Vec<ValueType>;
}

impl Results for Result<(), wasmi::Error> {
    fn types() -> Vec<ValueType> {
        Vec::new()
    }
}

impl<T: Value> Results for Result<T, wasmi::Error> {
    fn types() -> Vec<ValueType> {
        vec![T::TYPE]
    }
}

macro_rules! signature_for_arity {
    ($($param:ident),*) => {
        impl<F, R, $($param),*> Signature<(R, $($param,)*)> for F
        where
            F: Fn(Caller<'_, HostState>, $($param),*) -> R,
            R: Results,
            $($param: Value,)*
        {
            fn types() -> Types {
                (vec![$($param::TYPE),*], R::types())
            }
        }
    };
}

signature_for_arity!();
signature_for_arity!(A);
signature_for_arity!(A, B);
signature_for_arity!(A, B, C);
signature_for_arity!(A, B, C, D);
signature_for_arity!(A, B, C, D, E);
signature_for_arity!(A, B, C, D, E, G);
signature_for_arity!(A, B, C, D, E, G, H);
signature_for_arity!(A, B, C, D, E, G, H, I);
signature_for_arity!(A, B, C, D, E, G, H, I, J);

/// A WebAssembly value type in a host import's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
    /// A 32-bit float.
    F32,
    /// A 64-bit float.
    F64,
}

impl ValueType {
    fn to_wasmi(self) -> ValType {
        match self {
            Self::I32 => ValType::I32,
            Self::I64 => ValType::I64,
            Self::F32 => ValType::F32,
            Self::F64 => ValType::F64,
        }
    }
}

impl fmt::Display for ValueType {
    /// The WAT name: `i32`, `i64`, `f32`, `f64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        })
    }
}

/// One host function a plugin may import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostImport {
    module: &'static str,
    name: &'static str,
    params: Vec<ValueType>,
    results: Vec<ValueType>,
}

impl HostImport {
    /// The import module: `env`, `plugbox` or `wasi_snapshot_preview1`.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Parameter types.
    pub fn params(&self) -> &[ValueType] {
        &self.params
    }

    /// Result types.
    pub fn results(&self) -> &[ValueType] {
        &self.results
    }

    /// The WAT import of this function, e.g.
    /// `(import "env" "log_message" (func (param i32 i32 i32)))`.
    pub fn wat(&self) -> String {
        let types = |keyword: &str, types: &[ValueType]| {
            if types.is_empty() {
                return String::new();
            }
            let list: String = types.iter().map(|t| format!(" {t}")).collect();
            format!(" ({keyword}{list})")
        };
        format!(
            r#"(import "{}" "{}" (func{}{}))"#,
            self.module,
            self.name,
            types("param", &self.params),
            types("result", &self.results)
        )
    }

    pub(crate) fn func_type(&self) -> FuncType {
        FuncType::new(
            self.params.iter().map(|t| t.to_wasmi()),
            self.results.iter().map(|t| t.to_wasmi()),
        )
    }

    /// Whether a function import of type `ty` matches this function.
    fn matches(&self, ty: &FuncType) -> bool {
        let same = |ours: &[ValueType], theirs: &[ValType]| {
            ours.iter().map(|t| t.to_wasmi()).eq(theirs.iter().copied())
        };
        same(&self.params, ty.params()) && same(&self.results, ty.results())
    }
}

/// Every host function plugbox provides, `env` first, then `plugbox`, then
/// `wasi_snapshot_preview1`, each in list order.
pub fn host_imports() -> &'static [HostImport] {
    static TABLE: OnceLock<Vec<HostImport>> = OnceLock::new();
    TABLE.get_or_init(table)
}

/// The table, from each namespace's list and the functions' Rust types.
fn table() -> Vec<HostImport> {
    let namespaces = [
        (env::MODULE, env::NAMES, env::signatures()),
        (plugbox::MODULE, plugbox::NAMES, plugbox::signatures()),
        (wasi::MODULE, wasi::NAMES, wasi::signatures()),
    ];
    let mut table = Vec::new();
    for (module, names, signatures) in namespaces {
        for (&name, (params, results)) in names.iter().zip(signatures) {
            table.push(HostImport {
                module,
                name,
                params,
                results,
            });
        }
    }
    table
}

/// Builds the linker holding every import plugbox provides.
pub(crate) fn linker(engine: &Engine) -> Linker<HostState> {
    let mut linker = Linker::new(engine);
    env::define(&mut linker);
    plugbox::define(&mut linker);
    wasi::define(&mut linker);
    linker
}

/// Which import namespaces a kind of plugin may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespaces {
    /// Detection plugins: `env`, `plugbox` and WASI.
    EnvAndWasi,
    /// Command plugins: WASI only; the `env` ABI and the `plugbox` helpers have no meaning
    /// for them.
    WasiOnly,
}

/// Refuses a module that imports anything the host does not provide to its kind of plugin,
/// or with another type.
pub(crate) fn check_imports(module: &Module, namespaces: Namespaces) -> Result<(), LoadError> {
    match import_problems(module, namespaces).into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Every import of `module` that [`check_imports`] refuses, in the module's order.
pub(crate) fn import_problems(module: &Module, namespaces: Namespaces) -> Vec<LoadError> {
    let mut problems = Vec::new();
    let offered = || {
        host_imports()
            .iter()
            .filter(move |p| namespaces == Namespaces::EnvAndWasi || p.module == wasi::MODULE)
    };
    for import in module.imports() {
        let (namespace, name) = (import.module(), import.name());
        let provided = offered().find(|p| p.module == namespace && p.name == name);
        let Some(provided) = provided else {
            problems.push(LoadError::UnknownImport {
                import: format!("{namespace}.{name}"),
                ty: describe(import.ty()),
                provided: offered()
                    .map(|p| format!("{}.{}", p.module, p.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
            continue;
        };
        let matches = matches!(import.ty(), ExternType::Func(f) if provided.matches(f));
        if !matches {
            problems.push(LoadError::ImportSignature {
                import: format!("{namespace}.{name}"),
                expected: describe(&ExternType::Func(provided.func_type())),
                found: describe(import.ty()),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValueType::{I32, I64};

    fn find(module: &str, name: &str) -> &'static HostImport {
        host_imports()
            .iter()
            .find(|p| p.module() == module && p.name() == name)
            .unwrap_or_else(|| panic!("{module}.{name} is listed"))
    }

    /// The table and the linked functions agree: a module importing every listed function
    /// with the listed types passes the import check and instantiates.
    #[test]
    fn the_table_matches_the_linker() {
        let engine = wasmi::Engine::default();
        let linker = linker(&engine);
        let imports: String = host_imports().iter().map(HostImport::wat).collect();
        let wasm = wat::parse_str(format!("(module {imports})")).unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        check_imports(&module, Namespaces::EnvAndWasi).unwrap();
        let mut store = wasmi::Store::new(
            &engine,
            HostState::new("t", "t".into(), 1 << 20, "", "", std::sync::Arc::from([])),
        );
        linker.instantiate_and_start(&mut store, &module).unwrap();
    }

    #[test]
    fn known_signatures() {
        let signature = |module, name| {
            let import = find(module, name);
            (import.params(), import.results())
        };
        let wasi = wasi::MODULE;
        assert_eq!(
            signature(wasi, "fd_write"),
            (&[I32, I32, I32, I32][..], &[I32][..])
        );
        assert_eq!(
            signature(wasi, "clock_time_get"),
            (&[I32, I64, I32][..], &[I32][..])
        );
        assert_eq!(signature(wasi, "proc_exit"), (&[I32][..], &[][..]));
        assert_eq!(signature("env", "report_finding"), (&[I32; 5][..], &[][..]));
        assert_eq!(
            find("env", "log_message").wat(),
            r#"(import "env" "log_message" (func (param i32 i32 i32)))"#
        );
        assert_eq!(
            find(wasi, "sched_yield").wat(),
            r#"(import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))"#
        );
    }

    #[test]
    fn env_first_then_plugbox_then_wasi_each_name_once() {
        let all = host_imports();
        let env_count = env::NAMES.len();
        let helpers_end = env_count + plugbox::NAMES.len();
        assert!(all[..env_count].iter().all(|p| p.module() == "env"));
        assert!(
            all[env_count..helpers_end]
                .iter()
                .all(|p| p.module() == "plugbox")
        );
        assert!(
            all[helpers_end..]
                .iter()
                .all(|p| p.module() == wasi::MODULE)
        );
        assert_eq!(all.len(), helpers_end + wasi::NAMES.len());
        assert_eq!(
            find("plugbox", "find").wat(),
            r#"(import "plugbox" "find" (func (param i32 i32 i64) (result i64)))"#
        );
        assert_eq!(
            find("plugbox", "read").wat(),
            r#"(import "plugbox" "read" (func (param i64 i32 i32) (result i32)))"#
        );
        assert_eq!(
            find("plugbox", "file_size").wat(),
            r#"(import "plugbox" "file_size" (func (result i64)))"#
        );
        let mut names: Vec<_> = all.iter().map(|p| (p.module(), p.name())).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn an_unknown_import_names_every_provided_one() {
        let engine = wasmi::Engine::default();
        let wasm = wat::parse_str(r#"(module (import "env" "nope" (func)))"#).unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        let Err(LoadError::UnknownImport { provided, .. }) =
            check_imports(&module, Namespaces::EnvAndWasi)
        else {
            panic!("env.nope is refused");
        };
        assert_eq!(provided.split(", ").count(), host_imports().len());
        assert!(provided.starts_with("env.report_finding, "));
        assert!(provided.contains("wasi_snapshot_preview1.fd_write"));
    }
}
