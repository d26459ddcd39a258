//! Command plugins (CONTRACT §9): WASI command modules (`_start`), for hosts whose plugins are
//! programs speaking over stdin and stdout, such as an SBOM differ's external-process plugins.
//! The same program, built for `wasm32-wasip1`, runs here in the sandbox of §5 and §6: one
//! fresh instance per request, the request on stdin, the response captured from stdout up to
//! a cap, stderr as log lines, and the exit code reported. The host defines what the request
//! and the response mean.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmi::Module;

use crate::cancel::CancelHandle;
use crate::config::PLUGIN_LOG_TARGET;
use crate::error::LoadError;
use crate::exports;
use crate::files;
use crate::findings::{CallCost, Dropped, Failure, FailureKind, Stage};
use crate::host::imports::Namespaces;
use crate::host::{CommandIo, GUEST_ROOT, HostState, Preopen};
use crate::limits::{
    DEFAULT_MAX_EXEC_MS, DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_STDOUT_BYTES, MAX_PREOPENS,
    clamp_exec_ms, clamp_memory_mb,
};
use crate::plugin::{Compiled, compile, read_module};
use crate::runtime::Runtime;
use crate::sandbox::Sandbox;

/// How a command plugin runs: its limits, what it may see, and where its stderr goes.
///
/// ```
/// use plugbox::CommandConfig;
///
/// let config = CommandConfig::default()
///     .with_max_memory_mb(32)
///     .with_max_exec_ms(2000)
///     .with_max_stdout_bytes(64 * 1024)
///     .with_args(["--format", "json"])
///     .with_env("LANG", "C")
///     .with_dir("plugins/sbom-differ")
///     .with_preopen("/srv/sbom/rules", "/rules");
/// assert_eq!(config.max_exec_ms(), 2000);
/// ```
#[derive(Debug, Clone)]
pub struct CommandConfig {
    max_memory_mb: u32,
    max_exec_ms: u32,
    max_stdout_bytes: usize,
    /// Host directory and guest path of each preopen, in descriptor order.
    preopens: Vec<(PathBuf, String)>,
    args: Vec<String>,
    env: Vec<String>,
    log_target: String,
}

impl Default for CommandConfig {
    /// 64 MiB, 5000 ms per run, 1 MiB of stdout, no directory, no arguments beyond the
    /// program name, an empty environment, stderr to [`PLUGIN_LOG_TARGET`].
    fn default() -> Self {
        Self {
            max_memory_mb: DEFAULT_MAX_MEMORY_MB,
            max_exec_ms: DEFAULT_MAX_EXEC_MS,
            max_stdout_bytes: DEFAULT_MAX_STDOUT_BYTES,
            preopens: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            log_target: PLUGIN_LOG_TARGET.to_owned(),
        }
    }
}

impl CommandConfig {
    /// Caps all linear memory of a run, in MiB (kept within
    /// [`MAX_MEMORY_MB_RANGE`](crate::limits::MAX_MEMORY_MB_RANGE)).
    pub fn with_max_memory_mb(mut self, mb: u32) -> Self {
        self.max_memory_mb = clamp_memory_mb(mb);
        self
    }

    /// The wall-clock budget of one run, in milliseconds (kept within
    /// [`MAX_EXEC_MS_RANGE`](crate::limits::MAX_EXEC_MS_RANGE)).
    pub fn with_max_exec_ms(mut self, ms: u32) -> Self {
        self.max_exec_ms = clamp_exec_ms(ms);
        self
    }

    /// The most a run may write to stdout; writing more fails the run as
    /// [`FailureKind::OutputLimit`], and nothing past the cap is buffered.
    pub fn with_max_stdout_bytes(mut self, bytes: usize) -> Self {
        self.max_stdout_bytes = bytes;
        self
    }

    /// Gives the plugin read-only access to `dir` (typically its own directory), seen at the
    /// guest path `/plugin`, as `permissions.filesystem` does for detection plugins: the same
    /// as [`with_preopen(dir, "/plugin")`](CommandConfig::with_preopen).
    pub fn with_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.with_preopen(dir, GUEST_ROOT)
    }

    /// Gives the plugin read-only access to `host_dir`, seen at the guest path `guest_path`
    /// (what `fd_prestat_dir_name` reports, e.g. `/data`). Repeatable: the directories are
    /// preopened at descriptors 3, 4, ... in the order given, at most
    /// [`MAX_PREOPENS`](crate::limits::MAX_PREOPENS). Paths from each are confined to it,
    /// as for the plugin directory of a detection plugin: no `..` or symlink leads out of it,
    /// into another preopen included, and nothing can be written.
    ///
    /// Each directory is checked when the plugin is loaded ([`CommandPlugin::load`],
    /// [`CommandPlugin::from_bytes`]): one that does not exist or is not a directory, an
    /// empty guest path, one with a NUL byte or longer than 4096 bytes, and too many
    /// directories are refused there as [`LoadError::Preopen`], naming the directory. The
    /// canonical path found then is used for every run.
    pub fn with_preopen(
        mut self,
        host_dir: impl Into<PathBuf>,
        guest_path: impl Into<String>,
    ) -> Self {
        self.preopens.push((host_dir.into(), guest_path.into()));
        self
    }

    /// Arguments after the program name (`argv[0]` is the plugin's name).
    pub fn with_args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds `key=value` to the environment, which is otherwise empty.
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push(format!("{}={}", key.into(), value.into()));
        self
    }

    /// Sends the plugin's stderr lines to the `log` target `target`.
    pub fn with_log_target(mut self, target: impl Into<String>) -> Self {
        self.log_target = target.into();
        self
    }

    /// The memory cap, in MiB.
    pub fn max_memory_mb(&self) -> u32 {
        self.max_memory_mb
    }

    /// The budget of one run, in milliseconds.
    pub fn max_exec_ms(&self) -> u32 {
        self.max_exec_ms
    }

    /// The stdout cap, in bytes.
    pub fn max_stdout_bytes(&self) -> usize {
        self.max_stdout_bytes
    }
}

/// A WASI command module, compiled once and run once per request, each time in a fresh
/// instance: nothing survives from one request to the next. `Send + Sync`: run it from as
/// many threads as you like.
///
/// ```
/// use plugbox::{CommandConfig, CommandPlugin};
///
/// // `cat`, by hand: copies stdin to stdout, 64 bytes at a time.
/// let wasm = wat::parse_str(r#"(module
///   (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
///   (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
///   (memory (export "memory") 1)
///   (func (export "_start")
///     (i32.store (i32.const 0) (i32.const 64))
///     (loop $copy
///       (i32.store (i32.const 4) (i32.const 64))
///       (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
///       (i32.store (i32.const 4) (i32.load (i32.const 8)))
///       (if (i32.load (i32.const 8)) (then
///         (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
///         (br $copy))))))"#).unwrap();
/// let cat = CommandPlugin::from_bytes("cat", &wasm, CommandConfig::default()).unwrap();
/// let output = cat.run(br#"{"protocol_version": 1, "event": "added"}"#);
/// assert!(output.succeeded());
/// assert_eq!(output.stdout, br#"{"protocol_version": 1, "event": "added"}"#);
/// ```
pub struct CommandPlugin {
    name: String,
    runtime: Runtime,
    module: Module,
    start_export: Option<String>,
    max_memory_bytes: usize,
    budget: Duration,
    max_stdout_bytes: usize,
    preopens: Arc<[Preopen]>,
    args: Arc<[String]>,
    env: Arc<[String]>,
}

impl std::fmt::Debug for CommandPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandPlugin")
            .field("name", &self.name)
            .field("max_memory_bytes", &self.max_memory_bytes)
            .field("budget", &self.budget)
            .field("max_stdout_bytes", &self.max_stdout_bytes)
            .field("preopens", &self.preopens)
            .field("args", &self.args)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl CommandPlugin {
    /// Loads the command module at `wasm_path`, named after its file stem. Refused, with the
    /// reason, when it is not a valid module, breaks the load limits, imports anything but
    /// `wasi_snapshot_preview1`, or lacks `_start` or its `memory`, or when a directory given
    /// with [`CommandConfig::with_preopen`] cannot be preopened.
    pub fn load(wasm_path: &Path, config: CommandConfig) -> Result<Self, LoadError> {
        let file = files::open_regular(wasm_path).map_err(|error| LoadError::Read {
            path: wasm_path.to_path_buf(),
            error: Arc::new(error),
        })?;
        let wasm = read_module(file, wasm_path)?;
        let name = wasm_path
            .file_stem()
            .map_or_else(|| "command".into(), |s| s.to_string_lossy());
        Self::build(&name, &wasm, wasm_path, config)
    }

    /// Loads a command module from bytes, e.g. one built into the host binary; refused for the
    /// same reasons as [`load`](CommandPlugin::load).
    pub fn from_bytes(name: &str, wasm: &[u8], config: CommandConfig) -> Result<Self, LoadError> {
        crate::plugin::check_binary(wasm, Path::new(name))?;
        Self::build(name, wasm, Path::new(name), config)
    }

    fn build(
        name: &str,
        wasm: &[u8],
        wasm_path: &Path,
        config: CommandConfig,
    ) -> Result<Self, LoadError> {
        let runtime = Runtime::new(&config.log_target);
        let Compiled {
            module,
            start_export,
            ..
        } = compile(&runtime, wasm, wasm_path, Namespaces::WasiOnly)?;
        exports::check_command(&module)?;
        let preopens = preopens(&config.preopens)?;
        // A NUL would end the string early for the guest's C library.
        let clean = |s: &String| s.replace('\0', "\u{fffd}");
        let args: Vec<String> = std::iter::once(name.to_owned())
            .chain(config.args.iter().cloned())
            .map(|s| clean(&s))
            .collect();
        Ok(Self {
            name: name.to_owned(),
            runtime,
            module,
            start_export,
            max_memory_bytes: (config.max_memory_mb as usize).saturating_mul(1024 * 1024),
            budget: Duration::from_millis(config.max_exec_ms.into()),
            max_stdout_bytes: config.max_stdout_bytes,
            preopens,
            args: args.into(),
            env: config.env.iter().map(clean).collect(),
        })
    }

    /// The plugin's name: `argv[0]`, and the tag of its log lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the program once with `stdin` as its standard input, in a fresh instance.
    pub fn run(&self, stdin: &[u8]) -> CommandOutput {
        self.run_with(stdin, None)
    }

    /// [`run`](CommandPlugin::run), ended early when `cancel` is cancelled (from another
    /// thread), reported as [`FailureKind::Cancelled`].
    pub fn run_cancellable(&self, stdin: &[u8], cancel: &CancelHandle) -> CommandOutput {
        self.run_with(stdin, Some(cancel))
    }

    fn run_with(&self, stdin: &[u8], cancel: Option<&CancelHandle>) -> CommandOutput {
        let mut state = HostState::new(
            &self.name,
            self.runtime.log_target.clone(),
            self.max_memory_bytes,
            "",
            "",
            Arc::clone(&self.preopens),
        );
        state.wasi.command = Some(CommandIo::new(
            stdin,
            self.max_stdout_bytes,
            Arc::clone(&self.args),
            Arc::clone(&self.env),
        ));
        let mut sandbox = Sandbox::new(&self.runtime.linker, state, self.budget, cancel);
        let result = sandbox
            .instantiate(&self.module, self.start_export.as_deref())
            .and_then(|()| {
                let deadline = sandbox.deadline();
                sandbox.call::<(), ()>("_start", (), Stage::Start, &deadline)
            });
        let (mut state, cost) = sandbox.finish();
        let (stdout, overflow) = state
            .wasi
            .command
            .take()
            .map(CommandIo::into_stdout)
            .unwrap_or_default();
        let (exit_code, failure) = match result {
            Ok(()) => (Some(0), None),
            Err(failure) if failure.kind == FailureKind::Exit => (failure.exit_code, None),
            Err(failure) if overflow && failure.kind == FailureKind::Trap => (
                None,
                Some(Failure::new(
                    FailureKind::OutputLimit,
                    failure.stage,
                    format!(
                        "wrote more than {} bytes to stdout, the host's cap",
                        self.max_stdout_bytes
                    ),
                )),
            ),
            Err(failure) => (None, Some(failure)),
        };
        CommandOutput {
            exit_code,
            failure,
            stdout,
            cost,
            peak_memory_bytes: state.limiter.peak(),
            dropped: state.dropped,
        }
    }
}

/// Each directory checked and canonicalised, in order; the first that cannot be preopened
/// refuses the load, naming it.
fn preopens(given: &[(PathBuf, String)]) -> Result<Arc<[Preopen]>, LoadError> {
    let refuse = |(dir, guest): &(PathBuf, String), reason: String| LoadError::Preopen {
        dir: dir.clone(),
        guest: guest.clone(),
        reason,
    };
    if let Some(extra) = given.get(MAX_PREOPENS) {
        return Err(refuse(
            extra,
            format!(
                "{} directories given; at most {MAX_PREOPENS} are allowed",
                given.len()
            ),
        ));
    }
    // Two preopens at one guest path would leave the guest's C library to pick one.
    let guest_path = |guest: &str| guest.trim_end_matches('/').to_owned();
    for (i, entry) in given.iter().enumerate() {
        if given[..i]
            .iter()
            .any(|earlier| guest_path(&earlier.1) == guest_path(&entry.1))
        {
            let reason = "another directory is already preopened at that guest path".to_owned();
            return Err(refuse(entry, reason));
        }
    }
    given
        .iter()
        .map(|entry| Preopen::new(&entry.0, &entry.1).map_err(|reason| refuse(entry, reason)))
        .collect()
}

/// How one run of a command plugin ended, and what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandOutput {
    /// The exit code: 0 when `_start` returned or called `proc_exit(0)`, the code passed to
    /// `proc_exit` otherwise; `None` when the run failed.
    pub exit_code: Option<i32>,
    /// Why the run failed (a trap, the time budget, the memory cap, the stdout cap, a
    /// cancellation), if it did.
    pub failure: Option<Failure>,
    /// What the program wrote to stdout (before the failure, if it failed).
    pub stdout: Vec<u8>,
    /// Fuel and time of the run, instantiation included.
    pub cost: CallCost,
    /// Largest linear memory the instance held, in bytes.
    pub peak_memory_bytes: usize,
    /// What the log caps cut from stderr.
    pub dropped: Dropped,
}

impl CommandOutput {
    /// Whether the program ran to the end and exited with 0.
    pub fn succeeded(&self) -> bool {
        self.failure.is_none() && self.exit_code == Some(0)
    }
}
