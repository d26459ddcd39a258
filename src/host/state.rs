//! The state one store carries while a plugin runs: which plugin and file, the memory cap,
//! the deadline host functions obey, and what the plugin reported.

use std::sync::Arc;
use std::time::Duration;

use super::wasi;
use crate::findings::{Dropped, Finding};
use crate::input::SharedBytes;
use crate::sandbox::SandboxState;
use crate::sandbox::budget::Deadline;
use crate::sandbox::limiter::MemoryCap;

/// The state one store carries: which plugin and file, and what the plugin reported.
#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) plugin: String,
    pub(super) log_target: Arc<str>,
    pub(crate) limiter: MemoryCap,
    pub(crate) file_path: String,
    pub(crate) file_type: String,
    /// The data being scanned, for the `plugbox` helpers: shared with the host, never copied
    /// per plugin. Set only for plugins that read through the helpers; `None` reads as empty
    /// (at load, and for plugins that do not import `plugbox`).
    pub(crate) input: HelperInput,
    pub(crate) findings: Vec<Finding>,
    pub(crate) dropped: Dropped,
    pub(crate) wasi: wasi::WasiState,
    /// The deadline of the call in progress: host functions stop working for the guest when
    /// it passes. Outside a call it has passed: no time, no host work.
    pub(crate) deadline: Deadline,
    /// Time spent in host functions so far, which the fuel slicer does not count as guest time.
    pub(crate) host_time: Duration,
    pub(super) log_bytes: usize,
    pub(super) log_messages: usize,
}

impl HostState {
    /// State for one instance of `plugin`, logging to `log_target`, capped at `memory_cap`
    /// bytes, on a file; with the read-only `preopens` (none without filesystem access).
    pub(crate) fn new(
        plugin: &str,
        log_target: Arc<str>,
        memory_cap: usize,
        file_path: &str,
        file_type: &str,
        preopens: Arc<[wasi::Preopen]>,
    ) -> Self {
        Self {
            plugin: plugin.to_owned(),
            log_target,
            limiter: MemoryCap::new(memory_cap),
            file_path: file_path.to_owned(),
            file_type: file_type.to_owned(),
            input: HelperInput(None),
            findings: Vec::new(),
            dropped: Dropped::default(),
            wasi: wasi::WasiState::new(preopens),
            deadline: Deadline::passed(),
            host_time: Duration::ZERO,
            log_bytes: 0,
            log_messages: 0,
        }
    }

    /// The data the `plugbox` helpers read: empty when there is none.
    pub(crate) fn input(&self) -> &[u8] {
        self.input.0.as_deref().map_or(&[], |data| data.as_ref())
    }

    /// Fails once the call's deadline has passed ([`Deadline::exhausted`]): long host loops
    /// ask this between steps, so that no host call outlives its caller's budget.
    pub(crate) fn check_deadline(&self) -> Result<(), wasmi::Error> {
        if self.deadline.is_passed() {
            return Err(self.deadline.exhausted());
        }
        Ok(())
    }
}

/// The data the `plugbox` helpers read, if any (shown by its size).
#[derive(Clone, Default)]
pub(crate) struct HelperInput(pub(crate) Option<SharedBytes>);

impl std::fmt::Debug for HelperInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(data) => write!(f, "{} bytes", (**data).as_ref().len()),
            None => f.write_str("none"),
        }
    }
}

impl SandboxState for HostState {
    fn memory_cap(&self) -> &MemoryCap {
        &self.limiter
    }

    fn memory_cap_mut(&mut self) -> &mut MemoryCap {
        &mut self.limiter
    }

    fn begin_call(&mut self, deadline: Deadline) {
        self.deadline = deadline;
    }

    fn end_call(&mut self) {
        // Outside a call no host work is allowed: a deadline that has passed.
        self.deadline = Deadline::passed();
        wasi::flush_stdio(self);
    }

    fn host_time(&self) -> Duration {
        self.host_time
    }
}
