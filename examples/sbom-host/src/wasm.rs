//! WebAssembly plugins: the same program, built for `wasm32-wasip1`, run by plugbox as a
//! command plugin in a fresh sandboxed instance per invocation.

use plugbox::{CommandConfig, CommandPlugin};

use crate::manifest::Manifest;
use crate::process::MAX_STDOUT_BYTES;

/// The `log` target of the plugins' stderr lines.
const LOG_TARGET: &str = "sbom_host::plugin";

/// A compiled WebAssembly plugin.
pub struct WasmPlugin(CommandPlugin);

impl WasmPlugin {
    /// Compiles the module; refused, naming the reason, when plugbox refuses it (an import
    /// outside `wasi_snapshot_preview1`, no `_start`, a load limit).
    pub fn new(manifest: &Manifest, max_memory_mb: u32, filesystem: bool) -> Result<Self, String> {
        let timeout_ms = u32::try_from(manifest.timeout_ms).unwrap_or(u32::MAX);
        let mut config = CommandConfig::default()
            .with_max_memory_mb(max_memory_mb)
            .with_max_exec_ms(timeout_ms)
            .with_max_stdout_bytes(MAX_STDOUT_BYTES)
            .with_log_target(LOG_TARGET);
        if filesystem {
            config = config.with_dir(&manifest.dir);
        }
        CommandPlugin::load(&manifest.exec, config)
            .map(Self)
            .map_err(|e| format!("plugin '{}': {e}", manifest.name))
    }

    /// Runs the program with `request` on stdin; its stdout when it exits 0 in time.
    pub fn invoke(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let output = self.0.run(request);
        if let Some(failure) = output.failure {
            return Err(failure.to_string());
        }
        match output.exit_code {
            Some(0) => Ok(output.stdout),
            Some(code) => Err(format!("exited with code {code}")),
            None => Err("ended without an exit code".into()),
        }
    }
}
