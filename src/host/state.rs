//! The state one store carries while a plugin runs: which plugin and file, the memory cap,
//! the deadline host functions obey, and what the plugin reported.

use std::sync::Arc;
use std::time::Duration;

use super::wasi;
use crate::findings::{Dropped, Finding};
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
            findings: Vec::new(),
            dropped: Dropped::default(),
            wasi: wasi::WasiState::new(preopens),
            deadline: Deadline::passed(),
            host_time: Duration::ZERO,
            log_bytes: 0,
            log_messages: 0,
        }
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
