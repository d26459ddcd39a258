//! The marker scanner in Rust on the `plugbox-guest` crate (`abi/rust`), for
//! `wasm32-unknown-unknown` with std: with `"input": "host"` in `plugin.json` the file stays
//! in the host, which searches it with `File::find` at native speed, so files larger than the
//! 16 MiB memory cap are scanned too. Reports `Custom.MaliciousMarker` with score 85, like the
//! other examples. Compare `rust-marker`, the same plugin written against the raw ABI: here
//! there is no `unsafe`, no `extern` block and no export written by hand.
//! Rebuild with `examples/build.sh`.

use plugbox_guest::{debug, report, File};

const MARKER: &[u8] = b"MALICIOUS_MARKER";

fn scan(file: &File) -> u8 {
    debug!(
        "scanning {} ({}, {} bytes)",
        plugbox_guest::file_path(),
        plugbox_guest::file_type(),
        file.size()
    );
    let Some(offset) = file.find(MARKER, 0) else {
        return 0;
    };
    let detail = format!("Found MALICIOUS_MARKER at offset {offset}");
    report("Custom.MaliciousMarker", 85, &detail);
    85
}

plugbox_guest::plugin! {
    name: "Rust Marker Find",
    version: env!("CARGO_PKG_VERSION"),
    scan_file: scan,
}
