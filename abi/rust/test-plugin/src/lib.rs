//! A `no_std` plugin that exercises the guest crate; `.ci/run` builds it with and without
//! `--features alloc` and scans `examples/samples` and a file starting with `PANIC` with it.

#![no_std]

use core::fmt::Write;
use plugbox_guest::{info, report, warn, File, StackString};

#[cfg(all(feature = "alloc", target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: plugbox_guest::BumpAllocator = plugbox_guest::BumpAllocator;

const MARKER: &[u8] = b"MALICIOUS_MARKER";

fn on_load() -> Result<(), &'static str> {
    info!("Guest Test loaded ({} bytes of marker)", MARKER.len());
    Ok(())
}

fn scan(data: &[u8]) -> u8 {
    if data.starts_with(b"PANIC") {
        panic!("asked to panic by a {}-byte file", data.len());
    }
    let Some(offset) = data.windows(MARKER.len()).position(|w| w == MARKER) else {
        return 0;
    };
    let file = File::current();
    // The host helpers see the same bytes as the copy.
    let mut head = [0u8; 4];
    let read = file.read_at(0, &mut head);
    if file.size() != data.len() as u64
        || file.find(MARKER, 0) != Some(offset as u64)
        || head[..read] != data[..read]
    {
        warn!("the host helpers disagree with the copy");
        return 1;
    }
    let mut detail = StackString::<128>::new();
    let _ = write!(detail, "Found MALICIOUS_MARKER at offset {offset}");
    #[cfg(feature = "alloc")]
    let _ = write!(
        detail,
        " of {} ({})",
        plugbox_guest::file_path(),
        plugbox_guest::file_type()
    );
    report("Custom.MaliciousMarker", 85, &detail);
    85
}

plugbox_guest::plugin! {
    name: "Guest Test",
    version: env!("CARGO_PKG_VERSION"),
    on_load: on_load,
    scan: scan,
}
