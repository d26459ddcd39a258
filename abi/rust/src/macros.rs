//! `plugin!` and the logging macros.

/// Writes the plugin's exports: `plugin_name`, `plugin_version`, `scan`, and `on_load` and
/// `alloc` when they apply.
///
/// Two forms, for the two values of `input` in `plugin.json`. The keys come in exactly this
/// order; `on_load` is optional, and so is a trailing comma.
///
/// ```ignore
/// // "input": "copy" (the default): the file is copied into memory.
/// plugbox_guest::plugin! {
///     name: "My Plugin",                  // a &'static str constant expression
///     version: env!("CARGO_PKG_VERSION"), // same
///     on_load: on_load,                   // optional: fn() -> Result<(), &'static str>
///     scan: scan,                         // fn(data: &[u8]) -> u8
/// }
///
/// // "input": "host": the file stays in the host; read it through the File.
/// plugbox_guest::plugin! {
///     name: "My Plugin",
///     version: "0.1.0",
///     scan_file: scan,                    // fn(file: &plugbox_guest::File) -> u8
/// }
/// ```
///
/// Each function may also be a closure that captures nothing. What each key becomes:
///
/// - `name`, `version`: the `plugin_name` and `plugin_version` exports, which copy the
///   string into the host's buffer (256 bytes: longer names are cut, with a warning). The
///   manifest's `name` stays the plugin's identity in findings.
/// - `on_load`: the `on_load` export, run once when the plugin loads (not per file): `Ok(())`
///   lets it load; `Err(message)` logs the message at error level and refuses the load.
///   Each file is scanned in a fresh instance, so nothing `on_load` computes reaches a scan:
///   setup that scans need belongs in the scan function.
/// - `scan`: the `scan(ptr, len)` export; the data is the file, and the returned value is
///   the scan's score (0 clean; above 100 counts as 100). With the `alloc` feature the
///   `alloc` export is written too, giving plugbox a block from the global allocator for the
///   file; without it there is no `alloc` export and plugbox grows memory for the file, past
///   everything the module uses.
/// - `scan_file`: the `scan` export for `"input": "host"`, which plugbox calls as
///   `scan(0, 0)`; the function gets the [`File`](crate::File). No `alloc` export.
///
/// Without the crate's `std` feature, on wasm32, the macro also writes the `#[panic_handler]`
/// (log the panic at error level, then trap); end the list with `panic_handler: false` to
/// write your own. With `std`, std's handler is used and the key changes nothing.
///
/// The generated items live in an anonymous `const` block: the names `scan`, `on_load` and
/// so on stay free for your functions.
#[macro_export]
macro_rules! plugin {
    (
        name: $name:expr,
        version: $version:expr,
        $(on_load: $on_load:expr,)?
        scan: $scan:expr
        $(, panic_handler: $panic_handler:tt)?
        $(,)?
    ) => {
        const _: () = {
            $crate::__plugbox_common!($name, $version $(, $on_load)?);

            #[export_name = "scan"]
            extern "C" fn __plugbox_guest_scan(ptr: i32, len: i32) -> i32 {
                // SAFETY: plugbox calls `scan` with the range where it placed the file: a
                // block from this module's `alloc` export (never freed, so used by nothing
                // else) or memory it grew past everything the module uses.
                unsafe { $crate::__private::scan_copy($scan, ptr, len) }
            }

            $crate::__plugbox_alloc_export!();
            $crate::__plugbox_panic_handler!($($panic_handler)?);
        };
    };
    (
        name: $name:expr,
        version: $version:expr,
        $(on_load: $on_load:expr,)?
        scan_file: $scan:expr
        $(, panic_handler: $panic_handler:tt)?
        $(,)?
    ) => {
        const _: () = {
            $crate::__plugbox_common!($name, $version $(, $on_load)?);

            #[export_name = "scan"]
            extern "C" fn __plugbox_guest_scan(_ptr: i32, _len: i32) -> i32 {
                $crate::__private::scan_file($scan)
            }

            $crate::__plugbox_panic_handler!($($panic_handler)?);
        };
    };
}

/// The identity exports and `on_load`, shared by both forms of [`plugin!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __plugbox_common {
    ($name:expr, $version:expr $(, $on_load:expr)?) => {
        const __PLUGBOX_GUEST_NAME: &str = $name;
        const __PLUGBOX_GUEST_VERSION: &str = $version;

        #[export_name = "plugin_name"]
        extern "C" fn __plugbox_guest_plugin_name(buf: i32, len: i32) -> i32 {
            // SAFETY: plugbox calls the identity exports with a buffer it got from `alloc`
            // or by growing memory, never existing guest data.
            unsafe { $crate::__private::identity(__PLUGBOX_GUEST_NAME, buf, len) }
        }

        #[export_name = "plugin_version"]
        extern "C" fn __plugbox_guest_plugin_version(buf: i32, len: i32) -> i32 {
            // SAFETY: as for `plugin_name`.
            unsafe { $crate::__private::identity(__PLUGBOX_GUEST_VERSION, buf, len) }
        }

        $(
            #[export_name = "on_load"]
            extern "C" fn __plugbox_guest_on_load() -> i32 {
                $crate::__private::on_load($on_load)
            }
        )?
    };
}

/// The copy form's `alloc` export: through the global allocator with the `alloc` feature.
#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __plugbox_alloc_export {
    () => {
        #[export_name = "alloc"]
        extern "C" fn __plugbox_guest_alloc(size: i32) -> i32 {
            $crate::__private::alloc(size)
        }
    };
}

/// Without the `alloc` feature there is no `alloc` export: plugbox grows memory itself.
#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __plugbox_alloc_export {
    () => {};
}

/// The panic handler of a `no_std` plugin, on wasm32, unless `panic_handler: false`.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __plugbox_panic_handler {
    () => {
        #[cfg(target_arch = "wasm32")]
        #[panic_handler]
        fn __plugbox_guest_panic(info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::__private::panic(info)
        }
    };
    (false) => {};
    ($other:tt) => {
        ::core::compile_error!("plugbox_guest::plugin!: `panic_handler` takes only `false`");
    };
}

/// With `std`, std's panic handler is used.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __plugbox_panic_handler {
    () => {};
    (false) => {};
    ($other:tt) => {
        ::core::compile_error!("plugbox_guest::plugin!: `panic_handler` takes only `false`");
    };
}

/// Logs at [`Level::Trace`](crate::Level::Trace), formatting like `format!` without
/// allocating; see [`log_fmt`](crate::log_fmt).
///
/// ```no_run
/// plugbox_guest::trace!("block {} of {}", 3, 8);
/// ```
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log_fmt($crate::Level::Trace, ::core::format_args!($($arg)+))
    };
}

/// Logs at [`Level::Debug`](crate::Level::Debug), formatting like `format!` without
/// allocating; see [`log_fmt`](crate::log_fmt).
///
/// ```no_run
/// plugbox_guest::debug!("header at {:#x}", 0x400);
/// ```
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log_fmt($crate::Level::Debug, ::core::format_args!($($arg)+))
    };
}

/// Logs at [`Level::Info`](crate::Level::Info), formatting like `format!` without
/// allocating; see [`log_fmt`](crate::log_fmt).
///
/// ```no_run
/// let n = 12;
/// plugbox_guest::info!("loaded {n} rules");
/// ```
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log_fmt($crate::Level::Info, ::core::format_args!($($arg)+))
    };
}

/// Logs at [`Level::Warn`](crate::Level::Warn), formatting like `format!` without
/// allocating; see [`log_fmt`](crate::log_fmt).
///
/// ```no_run
/// plugbox_guest::warn!("truncated header: {} bytes", 7);
/// ```
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log_fmt($crate::Level::Warn, ::core::format_args!($($arg)+))
    };
}

/// Logs at [`Level::Error`](crate::Level::Error), formatting like `format!` without
/// allocating; see [`log_fmt`](crate::log_fmt).
///
/// ```no_run
/// plugbox_guest::error!("rule {} is invalid", "r7");
/// ```
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log_fmt($crate::Level::Error, ::core::format_args!($($arg)+))
    };
}
