//! Safe Rust bindings for writing plugbox detection plugins.
//!
//! A detection plugin is a WebAssembly module plus a `plugin.json` manifest. plugbox calls
//! its `scan` export once per file, each time in a fresh instance, and the plugin reports
//! what it finds through the host imports of module `env`. This crate wraps every one of
//! those imports, the opt-in `plugbox` host helpers, and the exports, so that a plugin is a
//! function from the file to a score. The ABI itself, with every limit, is described in
//! `abi/ABI.md` of the plugbox repository; this crate is `abi/rust` there.
//!
//! # The two forms of plugin
//!
//! **`"input": "copy"`** (the default in `plugin.json`): plugbox copies the file into the
//! plugin's memory and the scan function gets it as a slice.
//!
//! ```no_run
//! use plugbox_guest::{info, report, StackString};
//! use core::fmt::Write;
//!
//! const MARKER: &[u8] = b"MALICIOUS_MARKER";
//!
//! fn on_load() -> Result<(), &'static str> {
//!     info!("marker scanner ready, looking for {} bytes", MARKER.len());
//!     Ok(())
//! }
//!
//! fn scan(data: &[u8]) -> u8 {
//!     let Some(offset) = data.windows(MARKER.len()).position(|w| w == MARKER) else {
//!         return 0;
//!     };
//!     // Formatting without an allocator: the text is cut if it does not fit.
//!     let mut detail = StackString::<64>::new();
//!     let _ = write!(detail, "Found MALICIOUS_MARKER at offset {offset}");
//!     report("Custom.MaliciousMarker", 85, &detail);
//!     85
//! }
//!
//! plugbox_guest::plugin! {
//!     name: "Marker Scanner",
//!     version: env!("CARGO_PKG_VERSION"),
//!     on_load: on_load,
//!     scan: scan,
//! }
//! ```
//!
//! **`"input": "host"`**: the file stays in the host, which is faster for large files and
//! lets a plugin scan files larger than its memory cap. The scan function gets a [`File`] and
//! reads or searches through the host ([`File::read_at`], [`File::find`]).
//!
//! ```no_run
//! use plugbox_guest::{debug, report, File};
//!
//! fn scan(file: &File) -> u8 {
//!     debug!("scanning {} bytes", file.size());
//!     match file.find(b"MALICIOUS_MARKER", 0) {
//!         Some(_) => {
//!             report("Custom.MaliciousMarker", 85, "Found MALICIOUS_MARKER");
//!             85
//!         }
//!         None => 0,
//!     }
//! }
//!
//! plugbox_guest::plugin! {
//!     name: "Marker Find",
//!     version: "0.1.0",
//!     scan_file: scan,
//! }
//! ```
//!
//! # Building
//!
//! A plugin is a `cdylib` built for `wasm32-unknown-unknown` (or `wasm32-wasip1`):
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! plugbox-guest = { path = "../plugbox/abi/rust", features = ["std"] }
//!
//! [profile.release]
//! opt-level = "s"
//! lto = true
//! strip = true
//! ```
//!
//! `cargo build --release --target wasm32-unknown-unknown` then writes
//! `target/wasm32-unknown-unknown/release/<name>.wasm`; point `wasm_file` in `plugin.json`
//! at it. On `wasm32-unknown-unknown` such a plugin imports only `env` (and `plugbox` when it
//! uses [`File`]). Every instance starts with its declared memory zeroed, so a small stack is
//! worth declaring: `RUSTFLAGS="-C link-arg=-zstack-size=65536"` (or the same in
//! `.cargo/config.toml`) takes Rust's default of 17 pages (1 MiB of stack) down to 2.
//!
//! # Features
//!
//! | features | allocator | panic handler | `alloc` export (copy form) |
//! |---|---|---|---|
//! | none (`#![no_std]` plugin) | none | written by [`plugin!`] | none: plugbox grows memory and writes the file at its old end |
//! | `alloc` | yours: `#[global_allocator]`, e.g. [`BumpAllocator`] | written by [`plugin!`] | through the global allocator |
//! | `std` (implies `alloc`) | std's | std's | through the global allocator |
//!
//! - **`alloc`** adds [`file_path`] and [`file_type`], which return owned strings, and makes
//!   the copy form export `alloc` through the global allocator. A `no_std` crate has no
//!   global allocator of its own: install one (this crate's [`BumpAllocator`] needs no
//!   dependency).
//! - **`std`** links std. Enable it whenever your plugin crate uses std itself (it is not
//!   `#![no_std]`), whatever the target: see the panic handler below.
//! - Without features the crate allocates nothing; logging and [`StackString`] format on the
//!   stack.
//!
//! # Panics
//!
//! A panic in a plugin ends that plugin's call as a trap: plugbox reports the failure with the
//! file and keeps the findings reported before it; the other plugins run as usual.
//!
//! Without the `std` feature, [`plugin!`] also defines the `#[panic_handler]` that a `no_std`
//! `cdylib` must have (on wasm32 only, so host builds and `cargo test` are unaffected). It
//! logs `panicked at <file>:<line>:<column>: <message>` at error level, then executes
//! `unreachable`, which traps. To write your own handler instead, end the macro with
//! `panic_handler: false`. With `std`, std's handler runs: on `wasm32-wasip1` it prints the
//! message to stderr, which plugbox logs; on `wasm32-unknown-unknown`, where stderr goes
//! nowhere, the exports [`plugin!`] writes install a panic hook that logs it at error level
//! as above.
//!
//! A crate that links std while this crate's `std` feature is off gets two panic handlers and
//! fails to build with "found duplicate lang item `panic_impl`": enable `std` (or pass
//! `panic_handler: false`).
//!
//! # Host builds
//!
//! Off wasm32 the crate compiles, so `cargo doc`, `cargo clippy` and `cargo test` of a
//! plugin's own logic work on the host; every host import there panics with a message saying
//! that it only exists inside plugbox.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(any(feature = "alloc", doc))]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

use core::fmt;

mod bump;
mod macros;
mod stack_string;
mod sys;

pub use bump::BumpAllocator;
pub use stack_string::StackString;

/// The longest log message plugbox keeps, in bytes (`plugbox::limits`); the logging macros
/// format into a stack buffer of this size and cut longer messages at a char boundary.
pub const MAX_LOG_MESSAGE_BYTES: usize = 4096;

/// The longest needle [`File::find`] accepts, in bytes; a longer one traps the call.
pub const MAX_NEEDLE_BYTES: usize = 4096;

/// Records a finding (`env.report_finding`).
///
/// `threat` names what was found (`Custom.MaliciousMarker`), `score` is 0 clean, 1-29
/// informational, 30-59 suspicious, 60-100 malicious (higher values count as 100), `detail`
/// says where or why. Call it as often as there are findings. plugbox keeps at most 1000
/// findings per scan and cuts a threat name at 256 bytes and a detail at 4096.
///
/// The score `scan` returns is separate: a scan that returns a non-zero score without
/// reporting anything gets the finding `Plugin.<plugin name>`.
pub fn report(threat: &str, score: u8, detail: &str) {
    // SAFETY: both pointer/length pairs come from live `&str`s, so each range lies inside
    // this module's memory, which is all the host requires; it only reads them.
    unsafe {
        sys::report_finding(
            threat.as_ptr(),
            threat.len(),
            i32::from(score),
            detail.as_ptr(),
            detail.len(),
        )
    }
}

/// A log level for [`log`] and the logging macros.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    /// The finest detail (0).
    Trace = 0,
    /// Detail for the plugin's author (1).
    Debug = 1,
    /// Normal events, such as a plugin reporting what it loaded (2).
    Info = 2,
    /// Something unexpected that the plugin worked around (3).
    Warn = 3,
    /// Something failed (4).
    Error = 4,
}

/// Writes `message` to the host's log at `level` (`env.log_message`).
///
/// plugbox logs it as `[<plugin name>] <message>`, with control characters escaped. Per scan
/// it keeps at most 1024 messages and 64 KiB, and cuts one message at 4096 bytes.
pub fn log(level: Level, message: &str) {
    // SAFETY: the pointer and length come from a live `&str`, so the range lies inside this
    // module's memory; the host only reads it.
    unsafe { sys::log_message(level as i32, message.as_ptr(), message.len()) }
}

/// Formats `args` and logs the text at `level`, without allocating: what the logging macros
/// ([`info!`] and the others) call.
///
/// A message that is a plain string literal is passed as is; any other is formatted into a
/// [`MAX_LOG_MESSAGE_BYTES`] stack buffer and cut at the last char boundary that fits.
pub fn log_fmt(level: Level, args: fmt::Arguments<'_>) {
    match args.as_str() {
        Some(message) => log(level, message),
        None => {
            let mut message = StackString::<MAX_LOG_MESSAGE_BYTES>::new();
            // An error only means the text was cut: log what fit.
            let _ = fmt::Write::write_fmt(&mut message, args);
            log(level, &message);
        }
    }
}

/// Copies the scanned file's path into `buf` (`env.get_file_path`) and returns the path's
/// full length in bytes: more than `buf.len()` means `buf` holds only its first bytes (which
/// may end inside a UTF-8 sequence).
///
/// The path is what the host passed for the file, possibly empty; it is empty while the
/// plugin loads (`on_load`), when there is no file.
pub fn file_path_into(buf: &mut [u8]) -> usize {
    // SAFETY: the range is exactly the live, exclusively borrowed `buf`; the host writes at
    // most `buf.len()` bytes into it and nothing else.
    unsafe { sys::get_file_path(buf.as_mut_ptr(), buf.len()) as usize }
}

/// Copies the scanned file's type name (`pe`, `elf`, `script`, `unknown`, ..., as the host
/// names it) into `buf` (`env.get_file_type`) and returns its full length in bytes, as
/// [`file_path_into`] does. Empty while the plugin loads.
pub fn file_type_into(buf: &mut [u8]) -> usize {
    // SAFETY: as in `file_path_into`: the host writes at most `buf.len()` bytes into `buf`.
    unsafe { sys::get_file_type(buf.as_mut_ptr(), buf.len()) as usize }
}

/// The scanned file's path, whole (invalid UTF-8 replaced by U+FFFD). Empty while the plugin
/// loads. See [`file_path_into`] to avoid the allocation.
///
/// With the `alloc` feature.
#[cfg(any(feature = "alloc", doc))]
pub fn file_path() -> alloc::string::String {
    owned(file_path_into)
}

/// The scanned file's type name, whole (invalid UTF-8 replaced by U+FFFD). Empty while the
/// plugin loads. See [`file_type_into`] to avoid the allocation.
///
/// With the `alloc` feature.
#[cfg(any(feature = "alloc", doc))]
pub fn file_type() -> alloc::string::String {
    owned(file_type_into)
}

/// Asks with a stack buffer first, then once more with a buffer of the full length.
#[cfg(any(feature = "alloc", doc))]
fn owned(get: fn(&mut [u8]) -> usize) -> alloc::string::String {
    let mut small = [0u8; 256];
    let full = get(&mut small);
    if full <= small.len() {
        return alloc::string::String::from_utf8_lossy(&small[..full]).into_owned();
    }
    let mut big = alloc::vec![0u8; full];
    let again = get(&mut big).min(full);
    big.truncate(again);
    match alloc::string::String::from_utf8(big) {
        Ok(text) => text,
        Err(err) => alloc::string::String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

/// The file being scanned, read through the host helpers (import module `plugbox`).
///
/// A zero-sized handle: [`plugin!`]'s `scan_file` form passes one to the scan function, and
/// [`File::current`] makes one anywhere, since the helpers also work for `"input": "copy"`
/// plugins (on the same bytes they were given). While the plugin loads there is no file: the
/// size is 0, reads return 0 and searches find nothing.
///
/// Offsets are `u64`; plugbox gives a plugin at most 4 GiB.
#[derive(Debug)]
pub struct File {
    _private: (),
}

impl File {
    /// A handle to the file being scanned.
    pub const fn current() -> File {
        File { _private: () }
    }

    /// The file's size in bytes (`plugbox.file_size`).
    pub fn size(&self) -> u64 {
        // SAFETY: the import takes no arguments and touches no guest memory.
        let size = unsafe { sys::plugbox_file_size() };
        size.max(0) as u64
    }

    /// Copies the file's bytes from `offset` into `buf` (`plugbox.read`) and returns how many
    /// were copied: `min(buf.len(), size - offset)`, so 0 at or past the end.
    ///
    /// The host copies in 4 MiB steps and checks the plugin's deadline between them.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let Ok(offset) = i64::try_from(offset) else {
            return 0; // past the end of any file the host can hold
        };
        let len = buf.len().min(i32::MAX as usize) as i32;
        // SAFETY: `[buf, buf + len)` lies inside the live, exclusively borrowed `buf`; the
        // host writes at most `len` bytes there. Offset and length are non-negative, so the
        // call does not trap.
        let copied = unsafe { sys::plugbox_read(offset, buf.as_mut_ptr(), len) };
        copied.max(0) as usize
    }

    /// The offset of the first occurrence of `needle` that starts at or after `from`
    /// (`plugbox.find`), or `None`. An empty needle is found at `from`, clamped to the size.
    ///
    /// The host searches at native speed (several GB/s), with the plugin's deadline checked
    /// every 4 MiB: prefer it to reading the file and searching it in guest code.
    ///
    /// A needle longer than [`MAX_NEEDLE_BYTES`] traps the call: plugbox refuses it.
    pub fn find(&self, needle: &[u8], from: u64) -> Option<u64> {
        // Past the end of any file the host can hold either way: an empty needle is found at
        // the size, as the host clamps it, and any other is not found.
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let len = i32::try_from(needle.len()).unwrap_or(i32::MAX);
        // SAFETY: the needle range comes from a live slice (a longer one than `i32::MAX`
        // cannot exist on wasm32), so it lies inside this module's memory; the host only
        // reads it. `from` is non-negative.
        let found = unsafe { sys::plugbox_find(needle.as_ptr(), len, from) };
        u64::try_from(found).ok()
    }
}

/// What [`plugin!`] expands to calls these; not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::{log, File, Level};

    /// The `on_load` export: `Err(message)` logs it at error level and refuses the load.
    pub fn on_load(on_load: fn() -> Result<(), &'static str>) -> i32 {
        log_panics();
        match on_load() {
            Ok(()) => 0,
            Err(message) => {
                log(Level::Error, message);
                1
            }
        }
    }

    /// The `scan` export of the copy form.
    ///
    /// # Safety
    ///
    /// `[ptr, ptr + len)` (unsigned) must be memory nobody else uses for the call, as the
    /// host guarantees for the file it placed there.
    pub unsafe fn scan_copy(scan: fn(&[u8]) -> u8, ptr: i32, len: i32) -> i32 {
        log_panics();
        // A slice may not exceed `isize::MAX` bytes (2 GiB - 1 on wasm32). plugbox never
        // passes more (it refuses a file that does not fit a positive `i32`), but the range is
        // unsigned in the ABI: check rather than build an invalid slice.
        let Ok(len) = usize::try_from(len) else {
            panic!(
                "scan: a file of {} bytes is more than a slice can hold",
                len as u32
            );
        };
        let data: &[u8] = if len == 0 {
            // The pointer may be null or the end of memory: no slice may be built from it.
            &[]
        } else {
            // SAFETY: the caller guarantees the range; plugbox placed the file there, either
            // in a block `alloc(len)` returned (owned by nobody else: the block is never
            // freed) or in pages it grew past everything the module uses, and checked that
            // the whole range lies inside memory. The data is not changed during the call.
            unsafe { core::slice::from_raw_parts(ptr as u32 as usize as *const u8, len) }
        };
        i32::from(scan(data))
    }

    /// The `scan` export of the `scan_file` form.
    pub fn scan_file(scan: fn(&File) -> u8) -> i32 {
        log_panics();
        i32::from(scan(&File::current()))
    }

    /// The `plugin_name` and `plugin_version` exports: copy what fits, return the length.
    ///
    /// # Safety
    ///
    /// `[buf, buf + len)` (unsigned) must be writable memory nobody else uses.
    pub unsafe fn identity(value: &str, buf: i32, len: i32) -> i32 {
        let n = value.len().min(len as u32 as usize);
        if n > 0 {
            // SAFETY: the caller guarantees the destination; plugbox passes a buffer it got
            // from `alloc(256)` or by growing memory, never existing guest data, so it does
            // not overlap `value`, and it checked the range lies inside memory.
            unsafe {
                core::ptr::copy_nonoverlapping(value.as_ptr(), buf as u32 as usize as *mut u8, n)
            };
        }
        value.len() as i32
    }

    /// The `alloc` export: a block of `size` bytes (unsigned) from the global allocator, 0
    /// when it cannot be had. Never freed: each scan runs in a fresh instance.
    #[cfg(feature = "alloc")]
    pub fn alloc(size: i32) -> i32 {
        let size = (size as u32 as usize).max(1);
        let Ok(layout) = core::alloc::Layout::from_size_align(size, 16) else {
            return 0;
        };
        // SAFETY: the layout's size is at least 1.
        let block = unsafe { ::alloc::alloc::alloc(layout) };
        block as usize as i32
    }

    /// The panic handler's body: log where and why, then trap.
    #[cfg(target_arch = "wasm32")]
    pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        log_panic(info.location(), format_args!("{}", info.message()));
        core::arch::wasm32::unreachable()
    }

    /// Logs `panicked at <file>:<line>:<column>: <message>` at error level.
    #[cfg(target_arch = "wasm32")]
    fn log_panic(at: Option<&core::panic::Location<'_>>, message: core::fmt::Arguments<'_>) {
        match at {
            Some(at) => super::log_fmt(
                Level::Error,
                format_args!(
                    "panicked at {}:{}:{}: {}",
                    at.file(),
                    at.line(),
                    at.column(),
                    message
                ),
            ),
            None => super::log_fmt(Level::Error, format_args!("panicked: {message}")),
        }
    }

    /// With std on `wasm32-unknown-unknown`, std's panic handler writes the message to a
    /// stderr that goes nowhere: a hook logs it instead, installed once per instance by the
    /// first export called. Elsewhere (no std: the handler `plugin!` writes logs it; WASI:
    /// plugbox logs stderr) this does nothing.
    #[inline]
    fn log_panics() {
        #[cfg(all(feature = "std", target_arch = "wasm32", target_os = "unknown"))]
        {
            use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
            static INSTALLED: AtomicBool = AtomicBool::new(false);
            if !INSTALLED.swap(true, Relaxed) {
                std::panic::set_hook(std::boxed::Box::new(|info| {
                    let payload = info.payload();
                    let message = match payload.downcast_ref::<&str>() {
                        Some(text) => text,
                        None => match payload.downcast_ref::<std::string::String>() {
                            Some(text) => text.as_str(),
                            None => "Box<dyn Any>",
                        },
                    };
                    log_panic(info.location(), format_args!("{message}"));
                }));
            }
        }
    }
}
