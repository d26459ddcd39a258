//! Running a loaded plugin on one input (CONTRACT §3-§5, §10): a fresh instance, the data
//! copied in (`"input": "copy"`) or shared with the `plugbox` helpers (`"input": "host"`, or a
//! plugin importing them), `scan` called under the budget, and the outcome with whatever was
//! reported.

use super::{Plugin, exit_zero_as};
use crate::cancel::CancelHandle;
use crate::findings::{
    CallCost, Failure, FailureKind, Finding, PluginRun, RunStatus, Stage, clamp_score,
};
use crate::host::HostState;
use crate::input::SharedBytes;
use crate::limits::MAX_HOST_INPUT_BYTES;
use crate::manifest::InputMode;
use crate::sandbox::Sandbox;

/// One input as a plugin sees it, its type already resolved.
#[derive(Clone, Copy)]
pub(crate) struct Scanned<'a> {
    pub(crate) data: &'a [u8],
    /// The same bytes, shared, for plugins that read through the `plugbox` helpers
    /// ([`Plugin::reads_through_host`]); the caller provides it whenever one of them runs.
    pub(crate) shared: Option<&'a SharedBytes>,
    pub(crate) path: &'a str,
    pub(crate) file_type: &'a str,
}

impl Plugin {
    /// Runs the plugin on one input in a fresh instance. Findings reported before a failure
    /// are kept.
    pub(crate) fn run(
        &self,
        input: Scanned<'_>,
        cancel: Option<&CancelHandle>,
    ) -> (PluginRun, Vec<Finding>) {
        let cap = self.grants.max_memory_bytes();
        let mut state = self.host_state(input.path, input.file_type);
        if self.reads_through_host() {
            state.input.0 = input.shared.cloned();
        }
        if cancel.is_some_and(CancelHandle::is_cancelled) {
            let failure = Failure::new(
                FailureKind::Cancelled,
                Stage::Instantiate,
                "the scan was cancelled by the host before this plugin ran",
            );
            return (
                self.report(RunStatus::Failed(failure), &state, CallCost::default()),
                Vec::new(),
            );
        }
        let host_input = self.input_mode() == InputMode::Host;
        let too_large = match host_input {
            true => (input.data.len() as u64 > MAX_HOST_INPUT_BYTES).then(|| {
                format!(
                    "the file is {} bytes, more than the {MAX_HOST_INPUT_BYTES} bytes a plugin with \"input\": \"host\" is given",
                    input.data.len()
                )
            }),
            false => (input.data.len() > cap).then(|| {
                format!(
                    "the file is {} bytes, more than the plugin's memory cap of {cap} bytes ({})",
                    input.data.len(),
                    self.memory_grant()
                )
            }),
        };
        if let Some(reason) = too_large {
            return (
                self.report(RunStatus::Skipped { reason }, &state, CallCost::default()),
                Vec::new(),
            );
        }
        let mut sandbox = Sandbox::new(&self.runtime.linker, state, self.budget(), cancel);
        let status = match self.scan_in(&mut sandbox, input.data, host_input) {
            Ok(score) => RunStatus::Ok { score },
            // The file could not be placed under the cap: not the plugin's fault.
            Err(failure)
                if failure.stage == Stage::Transfer && failure.kind == FailureKind::MemoryLimit =>
            {
                RunStatus::Skipped {
                    reason: format!(
                        "the file does not fit in the plugin's memory: {}",
                        failure.reason
                    ),
                }
            }
            Err(failure) => RunStatus::Failed(failure),
        };
        let (mut state, cost) = sandbox.finish();
        if let RunStatus::Ok { score } = status {
            if score > 0 && state.findings.is_empty() {
                state
                    .findings
                    .push(Finding::synthesized(self.name(), score));
            }
        }
        let run = self.report(status, &state, cost);
        log::debug!(
            "plugin '{}' on {}: {:?}; {} fuel, {} us, peak memory {} bytes",
            self.name(),
            input.path,
            run.status,
            cost.fuel,
            cost.micros,
            run.peak_memory_bytes
        );
        (run, state.findings)
    }

    fn scan_in(
        &self,
        sandbox: &mut Sandbox<'_, HostState>,
        data: &[u8],
        host_input: bool,
    ) -> Result<u32, Failure> {
        self.start(sandbox)?;
        // `alloc` and `scan` share one budget.
        let deadline = sandbox.deadline();
        if host_input {
            // The data stays in the host: no `alloc`, nothing written, `scan(0, 0)`.
            let result = sandbox.call("scan", (0i32, 0i32), Stage::Scan, &deadline);
            return Ok(clamp_score(exit_zero_as(result, 0)?));
        }
        let ptr =
            sandbox.guest_buffer(data.len(), self.exports.alloc, Stage::Transfer, &deadline)?;
        sandbox.write(ptr, data);
        let result = sandbox.call(
            "scan",
            (ptr as i32, data.len() as i32),
            Stage::Scan,
            &deadline,
        );
        let score: i32 = exit_zero_as(result, 0)?;
        Ok(clamp_score(score))
    }

    fn report(&self, status: RunStatus, state: &HostState, cost: CallCost) -> PluginRun {
        PluginRun {
            plugin: self.name().to_owned(),
            status,
            cost,
            peak_memory_bytes: state.limiter.peak(),
            dropped: state.dropped,
        }
    }
}
