//! The raw host imports. On wasm32 they are the real `env` and `plugbox` imports; elsewhere
//! (host builds for `cargo test`, `cargo doc`, `cargo clippy`) every one panics with a message
//! saying that it only exists inside a plugin, so code that never calls them still runs.
//!
//! Pointers and lengths are unsigned 32-bit values on the host side; on wasm32 `usize` and
//! pointers are 32 bits wide, so they cross the boundary unchanged.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn report_finding(
            name_ptr: *const u8,
            name_len: usize,
            score: i32,
            detail_ptr: *const u8,
            detail_len: usize,
        );
        pub fn log_message(level: i32, msg_ptr: *const u8, msg_len: usize);
        pub fn get_file_path(buf_ptr: *mut u8, buf_len: usize) -> u32;
        pub fn get_file_type(buf_ptr: *mut u8, buf_len: usize) -> u32;
    }

    #[link(wasm_import_module = "plugbox")]
    extern "C" {
        #[link_name = "file_size"]
        pub fn plugbox_file_size() -> i64;
        #[link_name = "read"]
        pub fn plugbox_read(offset: i64, buf_ptr: *mut u8, buf_len: i32) -> i32;
        #[link_name = "find"]
        pub fn plugbox_find(needle_ptr: *const u8, needle_len: i32, from: i64) -> i64;
    }
}

#[cfg(target_arch = "wasm32")]
pub use imports::*;

#[cfg(not(target_arch = "wasm32"))]
mod stubs {
    #![allow(clippy::missing_safety_doc)]

    #[cold]
    fn unavailable(import: &str) -> ! {
        panic!(
            "plugbox-guest: `{import}` is a plugbox host import; it exists only in a plugin \
             built for wasm32 and run by plugbox, not in a host build such as `cargo test`"
        )
    }

    pub unsafe fn report_finding(_: *const u8, _: usize, _: i32, _: *const u8, _: usize) {
        unavailable("env.report_finding")
    }
    pub unsafe fn log_message(_: i32, _: *const u8, _: usize) {
        unavailable("env.log_message")
    }
    pub unsafe fn get_file_path(_: *mut u8, _: usize) -> u32 {
        unavailable("env.get_file_path")
    }
    pub unsafe fn get_file_type(_: *mut u8, _: usize) -> u32 {
        unavailable("env.get_file_type")
    }
    pub unsafe fn plugbox_file_size() -> i64 {
        unavailable("plugbox.file_size")
    }
    pub unsafe fn plugbox_read(_: i64, _: *mut u8, _: i32) -> i32 {
        unavailable("plugbox.read")
    }
    pub unsafe fn plugbox_find(_: *const u8, _: i32, _: i64) -> i64 {
        unavailable("plugbox.find")
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use stubs::*;
