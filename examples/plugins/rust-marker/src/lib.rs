//! The contract's example plugin in Rust, for `wasm32-wasip1`: finds `MALICIOUS_MARKER` and
//! reports `Custom.MaliciousMarker` with score 85. Built with std, so `format!` and the heap
//! bring in real WASI imports. Rebuild with `examples/build.sh`.
//! Written against the raw ABI on purpose; `rust-find` shows what the guest crate
//! (`abi/rust`, `plugbox-guest`) does for you: no `unsafe`, no `extern` block, no exports by hand.

use std::alloc::{alloc as allocate, Layout};

extern "C" {
    fn report_finding(name_ptr: *const u8, name_len: u32, score: u32, detail_ptr: *const u8, detail_len: u32);
    fn log_message(level: u32, msg_ptr: *const u8, msg_len: u32);
}

fn log(level: u32, message: &str) {
    unsafe { log_message(level, message.as_ptr(), message.len() as u32) };
}

const MARKER: &[u8] = b"MALICIOUS_MARKER";

#[no_mangle]
pub extern "C" fn on_load() -> i32 {
    log(2, "Rust Marker Scanner loaded");
    0
}

/// A buffer for the host to write the file into. Each scan runs in a fresh instance, so it
/// is never freed.
#[no_mangle]
pub extern "C" fn alloc(size: i32) -> i32 {
    match Layout::from_size_align(size.max(1) as usize, 8) {
        Ok(layout) => unsafe { allocate(layout) as i32 },
        Err(_) => 0,
    }
}

#[no_mangle]
pub extern "C" fn scan(ptr: *const u8, len: u32) -> i32 {
    let data = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
    let Some(offset) = data.windows(MARKER.len()).position(|w| w == MARKER) else {
        return 0;
    };
    let name = "Custom.MaliciousMarker";
    let detail = format!("Found MALICIOUS_MARKER string at offset {offset} of {len} bytes");
    unsafe { report_finding(name.as_ptr(), name.len() as u32, 85, detail.as_ptr(), detail.len() as u32) };
    85
}

fn copy_out(value: &str, buf: *mut u8, len: i32) -> i32 {
    let n = value.len().min(len.max(0) as usize);
    unsafe { core::ptr::copy_nonoverlapping(value.as_ptr(), buf, n) };
    value.len() as i32
}

#[no_mangle]
pub extern "C" fn plugin_name(buf: *mut u8, len: i32) -> i32 {
    copy_out("Rust Marker Scanner", buf, len)
}

#[no_mangle]
pub extern "C" fn plugin_version(buf: *mut u8, len: i32) -> i32 {
    copy_out(env!("CARGO_PKG_VERSION"), buf, len)
}
