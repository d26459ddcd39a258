//! What the host provides to plugins: the per-call host state, and the import namespaces
//! ([`env`], the PRX-SD ABI, and [`wasi`], a deny-by-default `wasi_snapshot_preview1`). The linker built here is the one source of truth for which
//! imports exist: load-time import checks ask it, so they can never drift from what is linked.

pub mod env;
pub mod wasi;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmi::{ExternType, FuncType, Linker, Module};

/// Value types in [`ImportSignature`]s (wasmi's).
pub use wasmi::ValType;

use crate::exports::describe;

use crate::error::LoadError;
use crate::findings::{
    Dropped, Finding, MAX_FINDINGS_PER_SCAN, MAX_LOG_BYTES_PER_SCAN, MAX_LOG_MESSAGE_BYTES,
    MAX_LOG_MESSAGES_PER_SCAN, clamp_score, printable,
};
use crate::sandbox::budget::{BudgetExhausted, Deadline};
use crate::sandbox::limiter::MemoryCap;

/// The state one store carries: which plugin and file, and what the plugin reported.
#[derive(Debug)]
pub struct HostState {
    pub(crate) plugin: String,
    log_target: Arc<str>,
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
    log_bytes: usize,
    log_messages: usize,
}

impl HostState {
    /// State for one instance of `plugin`, logging to `log_target`, capped at `memory_cap`
    /// bytes, on a file; with the read-only preopen of `preopen` when the plugin has
    /// filesystem access.
    pub(crate) fn new(
        plugin: &str,
        log_target: Arc<str>,
        memory_cap: usize,
        file_path: &str,
        file_type: &str,
        preopen: Option<PathBuf>,
    ) -> Self {
        Self {
            plugin: plugin.to_owned(),
            log_target,
            limiter: MemoryCap::new(memory_cap),
            file_path: file_path.to_owned(),
            file_type: file_type.to_owned(),
            findings: Vec::new(),
            dropped: Dropped::default(),
            wasi: wasi::WasiState::new(preopen),
            deadline: Deadline::passed(),
            host_time: Duration::ZERO,
            log_bytes: 0,
            log_messages: 0,
        }
    }

    /// Fails with [`BudgetExhausted`] once the call's deadline has passed: long host loops
    /// ask this between steps, so that no host call outlives its caller's budget.
    pub(crate) fn check_deadline(&self) -> Result<(), wasmi::Error> {
        if self.deadline.is_passed() {
            return Err(wasmi::Error::host(BudgetExhausted));
        }
        Ok(())
    }

    fn record_finding(&mut self, threat: String, score: i32, detail: String) {
        if self.findings.len() >= MAX_FINDINGS_PER_SCAN {
            self.dropped.findings = self.dropped.findings.saturating_add(1);
            return;
        }
        self.findings.push(Finding {
            plugin: self.plugin.clone(),
            threat,
            score: clamp_score(score),
            detail,
        });
    }

    /// Whether the per-scan log caps are used up, so that further output is only counted.
    pub(crate) fn log_exhausted(&self) -> bool {
        self.log_messages >= MAX_LOG_MESSAGES_PER_SCAN
            || self.log_bytes + self.log_prefix_bytes() >= MAX_LOG_BYTES_PER_SCAN
    }

    /// What the `[plugin] ` prefix of every log line adds to the log volume.
    fn log_prefix_bytes(&self) -> usize {
        self.plugin.len() + 3
    }

    /// Logs `message` as the plugin, under the host's log target, within the per-scan caps
    /// (messages, and bytes including the prefix); what does not fit is counted in `dropped`.
    pub(crate) fn log(&mut self, level: log::Level, message: &[u8]) {
        if self.log_exhausted() {
            self.dropped.log_messages = self.dropped.log_messages.saturating_add(1);
            self.dropped.log_bytes = self.dropped.log_bytes.saturating_add(message.len() as u64);
            return;
        }
        let room = MAX_LOG_BYTES_PER_SCAN - self.log_bytes - self.log_prefix_bytes();
        let keep = message.len().min(MAX_LOG_MESSAGE_BYTES).min(room);
        self.log_messages += 1;
        self.log_bytes += self.log_prefix_bytes() + keep;
        self.dropped.log_bytes = self
            .dropped
            .log_bytes
            .saturating_add((message.len() - keep) as u64);
        // Control characters are escaped: log lines end up on terminals.
        log::log!(
            target: &self.log_target,
            level,
            "[{}] {}",
            self.plugin,
            printable(&String::from_utf8_lossy(&message[..keep]))
        );
    }
}

/// The plugin's exported `memory` (its presence and type are checked at load).
fn memory(caller: &wasmi::Caller<'_, HostState>) -> Result<wasmi::Memory, wasmi::Error> {
    caller
        .get_export("memory")
        .and_then(wasmi::Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("the plugin exports no memory named `memory`"))
}

/// One host function a module may import.
#[derive(Debug, Clone, Copy)]
pub struct ImportSignature {
    /// Import module (`env`).
    pub module: &'static str,
    /// Function name.
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types.
    pub results: &'static [ValType],
}

/// Every import the host provides.
pub fn provided_imports() -> impl Iterator<Item = &'static ImportSignature> {
    env::IMPORTS.iter().chain(wasi::IMPORTS)
}

/// Builds the linker holding every import plugbox provides.
pub(crate) fn linker(engine: &wasmi::Engine) -> Linker<HostState> {
    let mut linker = Linker::new(engine);
    env::define(&mut linker);
    wasi::define(&mut linker);
    linker
}

/// Refuses a module that imports anything the host does not provide, or with another type.
pub(crate) fn check_imports(module: &Module) -> Result<(), LoadError> {
    for import in module.imports() {
        let (namespace, name) = (import.module(), import.name());
        let provided = provided_imports().find(|p| p.module == namespace && p.name == name);
        let Some(provided) = provided else {
            return Err(LoadError::UnknownImport {
                import: format!("{namespace}.{name}"),
                ty: describe(import.ty()),
            });
        };
        let matches = matches!(import.ty(), ExternType::Func(f)
            if f.params() == provided.params && f.results() == provided.results);
        if !matches {
            return Err(LoadError::ImportSignature {
                import: format!("{namespace}.{name}"),
                expected: describe(&ExternType::Func(FuncType::new(
                    provided.params.iter().copied(),
                    provided.results.iter().copied(),
                ))),
                found: describe(import.ty()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature table and the linked functions must agree: a module importing every
    /// listed function with the listed types instantiates.
    #[test]
    fn signature_table_matches_the_linker() {
        let engine = crate::runtime::engine();
        let linker = linker(&engine);
        let types = |ts: &[ValType]| {
            ts.iter()
                .map(|t| format!("{t:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let imports: String = provided_imports()
            .map(|p| {
                format!(
                    "(import \"{}\" \"{}\" (func (param {}) (result {})))",
                    p.module,
                    p.name,
                    types(p.params),
                    types(p.results)
                )
            })
            .collect();
        let wasm = wat::parse_str(format!("(module {imports})")).unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        check_imports(&module).unwrap();
        let mut store = wasmi::Store::new(
            &engine,
            HostState::new("t", "t".into(), 1 << 20, "", "", None),
        );
        linker.instantiate_and_start(&mut store, &module).unwrap();
    }
}
