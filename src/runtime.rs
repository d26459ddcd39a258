//! The engine shared by every plugin of a registry: one wasmi `Engine` configured for fuel
//! metering, and one `Linker` with the host imports. Nothing here changes while plugins run:
//! a registry's plugins share no state they could influence.
//!
//! Modules are compiled once, at load, into this engine; each file scanned gets a fresh
//! `Store` (and so a fresh instance) that is dropped when the scan ends. wasmi never frees
//! compiled code from an engine, so reloading plugins compiles into it again: a host that
//! reloads very often should build a new registry from time to time.

use std::sync::Arc;

use wasmi::{CompilationMode, Config, Engine, Linker};

use crate::host::{self, HostState};
use crate::sandbox::load_limits;

/// The engine, linker and log target of a registry.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    /// The `log` target plugin messages go to.
    pub(crate) log_target: Arc<str>,
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
