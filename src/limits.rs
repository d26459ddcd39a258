//! Every number plugbox enforces, with its unit, in one place: what a manifest may ask for,
//! what loading a module may cost, what one plugin may report per file, and how much work one
//! WASI call or `plugbox` helper may ask of the host. `abi/ABI.md` explains each; the module named in each
//! constant's documentation enforces it.
//!
//! ```
//! use plugbox::limits;
//!
//! // A host showing its users what a plugin may do.
//! println!(
//!     "plugins may use up to {} MiB and {} ms per call, and report {} findings per file",
//!     limits::MAX_MEMORY_MB_RANGE.1,
//!     limits::MAX_EXEC_MS_RANGE.1,
//!     limits::MAX_FINDINGS_PER_SCAN,
//! );
//! ```

// ---- the manifest (CONTRACT §2; enforced in `manifest/`) ----

/// Largest `plugin.json` accepted, in bytes. A manifest is a few hundred bytes; anything near
/// this is hostile.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Default linear-memory cap, in MiB, when `permissions.max_memory_mb` is absent.
pub const DEFAULT_MAX_MEMORY_MB: u32 = 64;
/// Default time budget of one call, in milliseconds, when `permissions.max_exec_ms` is absent.
pub const DEFAULT_MAX_EXEC_MS: u32 = 5000;
/// Accepted range of `permissions.max_memory_mb`, in MiB: a 32-bit linear memory cannot
/// exceed 4 GiB. A host may lower the top with [`HostConfig::with_max_memory_mb`](crate::HostConfig::with_max_memory_mb).
pub const MAX_MEMORY_MB_RANGE: (u32, u32) = (1, 4096);
/// Accepted range of `permissions.max_exec_ms`, in milliseconds: up to ten minutes per call.
/// A host may lower the top with [`HostConfig::with_max_exec_ms`](crate::HostConfig::with_max_exec_ms).
pub const MAX_EXEC_MS_RANGE: (u32, u32) = (1, 600_000);
/// `mb` within [`MAX_MEMORY_MB_RANGE`]: what a ceiling or a configured cap is kept to.
pub(crate) fn clamp_memory_mb(mb: u32) -> u32 {
    mb.clamp(MAX_MEMORY_MB_RANGE.0, MAX_MEMORY_MB_RANGE.1)
}

/// `ms` within [`MAX_EXEC_MS_RANGE`].
pub(crate) fn clamp_exec_ms(ms: u32) -> u32 {
    ms.clamp(MAX_EXEC_MS_RANGE.0, MAX_EXEC_MS_RANGE.1)
}

/// Longest plugin `name`, in bytes: it is copied into every finding and log line.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest `author`, in bytes.
pub const MAX_AUTHOR_BYTES: usize = 256;
/// Longest `description`, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// Longest `version` or `min_engine_version`, in bytes.
pub const MAX_VERSION_BYTES: usize = 128;
/// Longest `wasm_file`, in bytes.
pub const MAX_WASM_FILE_BYTES: usize = 1024;
/// Most unknown manifest keys remembered for the warning; the rest are counted.
pub const MAX_UNKNOWN_KEYS: usize = 16;

// ---- loading a module (CONTRACT §5; enforced in `plugin/load.rs` and `sandbox/load_limits.rs`) ----

/// Largest module file read, in bytes. Real plugins are kilobytes to a few megabytes; a
/// bigger file is refused before it is read into host memory.
pub const MAX_MODULE_BYTES: u64 = 128 * 1024 * 1024;
/// Most bytes of the sections wasmi compiles or keeps per item: everything but data and
/// custom sections. Compiling costs up to about 67 bytes of host memory and 0.07 s per MiB
/// of them, so this bounds a load to about 0.6 GiB and under a second. Data segments are
/// copied once (about one byte per byte) and custom sections skipped, so those are bounded
/// by [`MAX_MODULE_BYTES`] alone.
pub const MAX_COMPILED_BYTES: usize = 8 * 1024 * 1024;
/// Most imports a module may declare: each is linked again for every file scanned.
pub const MAX_IMPORTS: usize = 1000;
/// Most exports a module may declare: each is created again for every file scanned.
pub const MAX_EXPORTS: usize = 1000;

// ---- one instance (CONTRACT §5; enforced in `sandbox/limiter.rs`) ----

/// Most table elements one instance may hold, across all tables. Real plugins use a few
/// hundred (one per indirectly called function); a table bomb stops here instead of eating
/// host memory. Linear memory is capped by each plugin's `max_memory_mb`.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Most tables one instance may create.
pub const MAX_TABLES: usize = 8;

// ---- what one plugin may report for one file (CONTRACT §4; enforced in `host/output.rs`) ----

/// Highest threat score; scores are clamped to `0..=MAX_SCORE`.
pub const MAX_SCORE: u32 = 100;
/// Longest threat name kept, in bytes; the rest is cut and counted in [`Dropped`](crate::Dropped).
pub const MAX_THREAT_NAME_BYTES: usize = 256;
/// Longest finding detail kept, in bytes.
pub const MAX_DETAIL_BYTES: usize = 4096;
/// Most findings one plugin may report for one file.
pub const MAX_FINDINGS_PER_SCAN: usize = 1000;
/// Longest log message kept, in bytes.
pub const MAX_LOG_MESSAGE_BYTES: usize = 4096;
/// Most log bytes one plugin may emit for one file (or at load), each message's
/// `[plugin] ` prefix included.
pub const MAX_LOG_BYTES_PER_SCAN: usize = 64 * 1024;
/// Most log messages one plugin may emit for one file (or at load), empty ones included.
pub const MAX_LOG_MESSAGES_PER_SCAN: usize = 1024;

// ---- the `plugbox` host helpers (CONTRACT §10; enforced in `host/plugbox/`) ----

/// Largest input a plugin with `"input": "host"` is given, in bytes: such a plugin reads the
/// input through the `plugbox` helpers instead of its memory, so its memory cap does not
/// bound it. A larger input is skipped for it. This is the most a plugin with
/// `"input": "copy"` can ever take (the top of [`MAX_MEMORY_MB_RANGE`]), so a host-input
/// plugin never makes a host read a larger file than a copy plugin could
/// ([`Snapshot::max_input_bytes`](crate::Snapshot::max_input_bytes)). A host that wants less
/// reads less (the CLI's `--max-file-size`).
pub const MAX_HOST_INPUT_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Longest needle `plugbox.find` accepts, in bytes; a longer one traps. The needle is read in
/// place from guest memory (never copied); the cap bounds the work of checking one candidate
/// match.
pub const MAX_FIND_NEEDLE_BYTES: usize = 4096;
/// How much work `plugbox.read` and `plugbox.find` do between two checks of the call's
/// deadline, in bytes: bytes copied, or bytes of input examined plus needle bytes compared.
/// About a millisecond of work or less.
pub const HELPER_STEP_BYTES: usize = 4 * 1024 * 1024;

// ---- command plugins (CONTRACT §9; enforced in `host/wasi/command_io.rs`) ----

/// Default cap on what one run of a command plugin may write to stdout, in bytes:
/// [`CommandConfig::with_max_stdout_bytes`](crate::CommandConfig::with_max_stdout_bytes).
pub const DEFAULT_MAX_STDOUT_BYTES: usize = 1024 * 1024;

// ---- one WASI call (CONTRACT §6; enforced in `host/wasi/`) ----

/// Most iovecs one read or write call may pass, as POSIX's `IOV_MAX` on Linux; more is
/// `INVAL`. Bounds the host work of one call together with the log and deadline checks.
pub const MAX_IOVECS: u32 = 1024;
/// Most subscriptions one `poll_oneoff` call may pass; more is `INVAL`. Programs pass one or
/// two (a sleep, or a descriptor and a timeout); the bound keeps the host's two passes over
/// them short.
pub const MAX_POLL_SUBSCRIPTIONS: u32 = 4096;
/// Most entries one directory listing (`fd_readdir`) returns; a larger directory is cut there.
pub const MAX_DIR_ENTRIES: usize = 1024;
/// Most descriptors one instance may hold open, stdio and the preopens included.
pub const MAX_OPEN_FDS: usize = 32;
/// Most read-only directories a command plugin may be given
/// ([`CommandConfig::with_preopen`](crate::CommandConfig::with_preopen)); more is refused at
/// load. They count towards [`MAX_OPEN_FDS`], which leaves the guest room to open files.
pub const MAX_PREOPENS: usize = 16;
