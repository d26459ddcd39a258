//! Arbitrary bytes as a plugin module: load (validate, check imports and exports, run the
//! load-time calls) and scan one file under small limits. Never a panic; always a report.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::load_and_scan(data);
});
