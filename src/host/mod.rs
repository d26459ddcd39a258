//! What the host provides to plugins: the import namespaces `env` (the PRX-SD ABI), `plugbox`
//! (the opt-in helpers reading the scanned data from the host) and `wasi` (a deny-by-default
//! `wasi_snapshot_preview1`), the state one instance carries
//! (`state.rs`), and what a plugin reports within the per-scan caps (`output.rs`). Each
//! namespace lists its functions once; the linker and the import table that load-time checks
//! use are both built from those lists (`imports.rs`), so they can never drift apart.

mod env;
pub(crate) mod imports;
mod output;
mod plugbox;
pub(crate) mod preinit;
mod state;
mod wasi;

pub(crate) use plugbox::MODULE as PLUGBOX_MODULE;
pub(crate) use state::HostState;
pub(crate) use wasi::{CommandIo, GUEST_ROOT, Preopen};

/// The plugin's exported `memory` (its presence and type are checked at load).
fn memory(caller: &wasmi::Caller<'_, HostState>) -> Result<wasmi::Memory, wasmi::Error> {
    caller
        .get_export("memory")
        .and_then(wasmi::Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("the plugin exports no memory named `memory`"))
}
