//! Which host functions a plugin's initialisation may call and still be pre-initialised
//! (`sandbox::preinit`): those whose answers are the same for every file. Pre-initialisation
//! runs the start function and `_initialize` once, at load, through [`linker`], where every
//! other host function is replaced by one that ends the call: the plugin then keeps running
//! its initialisation in every instance, as without pre-initialisation.
//!
//! What is allowed: the (empty) arguments and environment, clock resolution, `sched_yield`,
//! and reading the plugin's own directory through its read-only preopen. Files there are
//! read once, at load, as the module itself is; a reload watches the directory of such a
//! plugin and loads it again when its data changes (`reload.rs`). What is not: anything about the file being scanned
//! (`get_file_path`, `get_file_type`, the `plugbox` helpers), findings and log lines (they
//! belong to each scan), clocks, randomness, `poll_oneoff`, `proc_exit` and every function
//! that changes something. A host function added later is refused until listed here.

use wasmi::{Engine, Linker};

use super::{HostState, imports, wasi};

/// The host functions initialisation may call and still be pre-initialised.
const SAME_FOR_EVERY_FILE: &[&str] = &[
    "wasi_snapshot_preview1.args_get",
    "wasi_snapshot_preview1.args_sizes_get",
    "wasi_snapshot_preview1.environ_get",
    "wasi_snapshot_preview1.environ_sizes_get",
    "wasi_snapshot_preview1.clock_res_get",
    "wasi_snapshot_preview1.sched_yield",
    "wasi_snapshot_preview1.fd_advise",
    "wasi_snapshot_preview1.fd_close",
    "wasi_snapshot_preview1.fd_fdstat_get",
    "wasi_snapshot_preview1.fd_filestat_get",
    "wasi_snapshot_preview1.fd_pread",
    "wasi_snapshot_preview1.fd_prestat_get",
    "wasi_snapshot_preview1.fd_prestat_dir_name",
    "wasi_snapshot_preview1.fd_read",
    "wasi_snapshot_preview1.fd_readdir",
    "wasi_snapshot_preview1.fd_seek",
    "wasi_snapshot_preview1.fd_tell",
    "wasi_snapshot_preview1.path_filestat_get",
    "wasi_snapshot_preview1.path_open",
    "wasi_snapshot_preview1.path_readlink",
];

/// The error a refused host function ends pre-initialisation with.
#[derive(Debug)]
struct DiffersPerFile(String);

impl std::fmt::Display for DiffersPerFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its initialisation calls `{}`, whose effect can differ from one file to the next",
            self.0
        )
    }
}

impl wasmi::errors::HostError for DiffersPerFile {}

/// A linker for pre-initialisation: the host functions of [`SAME_FOR_EVERY_FILE`], and in
/// place of every other one a function that ends the call.
pub(crate) fn linker(engine: &Engine) -> Linker<HostState> {
    let mut linker = imports::linker(engine);
    linker.allow_shadowing(true);
    for import in imports::host_imports() {
        let name = format!("{}.{}", import.module(), import.name());
        if SAME_FOR_EVERY_FILE.contains(&name.as_str()) {
            continue;
        }
        linker
            .func_new(
                import.module(),
                import.name(),
                import.func_type(),
                move |_, _, _| Err(wasmi::Error::host(DiffersPerFile(name.clone()))),
            )
            .expect("shadowing is allowed");
    }
    linker
}

/// Why a store's state after pre-initialisation differs from a fresh one (open files, output
/// in progress, findings), if it does: such a state cannot be given to later instances.
pub(crate) fn leftover_state(state: &HostState) -> Option<&'static str> {
    if !state.findings.is_empty() || state.dropped.any() {
        return Some("its initialisation reports findings");
    }
    if !wasi::is_fresh(&state.wasi) {
        return Some("its initialisation leaves WASI descriptors or output behind");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_function_is_a_host_function() {
        for allowed in SAME_FOR_EVERY_FILE {
            assert!(
                imports::host_imports()
                    .iter()
                    .any(|i| format!("{}.{}", i.module(), i.name()) == *allowed),
                "{allowed}"
            );
        }
    }
}
