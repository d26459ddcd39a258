//! The engine of one plugin: a wasmi `Engine` configured for fuel metering, and a `Linker`
//! with the host imports. Nothing here changes while the plugin runs, and no two plugins
//! share one: plugins share no state they could influence.
//!
//! A module is compiled once, at load, into its plugin's engine; each file scanned gets a
//! fresh `Store` (and so a fresh instance) that is dropped when the scan ends. wasmi frees
//! compiled code only with its engine, so each plugin has its own (about 11 us and a few KiB
//! to create): a reloaded or removed plugin's code is freed with it, and a host that reloads
//! forever does not accumulate code.

use std::sync::Arc;

use wasmi::{CompilationMode, Config, Engine, Linker};

use crate::host::{self, HostState};
use crate::sandbox::load_limits;

/// The engine, linker and log target of one plugin.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    /// The `log` target plugin messages go to.
    pub(crate) log_target: Arc<str>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("log_target", &self.log_target)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub(crate) fn new(log_target: &str) -> Self {
        let engine = engine();
        let linker = host::imports::linker(&engine);
        Self {
            engine,
            linker,
            log_target: log_target.into(),
        }
    }
}

/// The engine configuration every plugin runs under.
pub(crate) fn engine() -> Engine {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        // Validate and translate everything at load. Lazy translation charges fuel at a
        // function's first call, and in wasmi 2.0 running out of fuel there cannot be
        // resumed (wasmi PR #2032): with the budget's fuel slices, a call into a large
        // function would fail at random.
        .compilation_mode(CompilationMode::Eager)
        // The ABI has one memory; the limiter refuses a second one anyway.
        .wasm_multi_memory(false)
        // Bounds what compiling a hostile module costs.
        .enforced_limits(load_limits::enforced());
    Engine::new(&config)
}
