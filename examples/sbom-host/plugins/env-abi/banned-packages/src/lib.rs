//! An sbom-host plugin: reads one SBOM component (JSON) and reports it when it is on the
//! banned-package list. Built for `wasm32-wasip1`; rebuild with `examples/build.sh`.

use std::alloc::{alloc as allocate, Layout};

use serde_json::Value;

extern "C" {
    fn report_finding(name_ptr: *const u8, name_len: u32, score: u32, detail_ptr: *const u8, detail_len: u32);
}

struct Banned {
    name: &'static str,
    /// Banned versions; empty means every version.
    versions: &'static [&'static str],
    score: u32,
    why: &'static str,
}

const BANNED: &[Banned] = &[
    Banned { name: "event-stream", versions: &["3.3.6"], score: 95, why: "compromised release carrying the flatmap-stream backdoor" },
    Banned { name: "ua-parser-js", versions: &["0.7.29", "0.8.0", "1.0.0"], score: 95, why: "hijacked releases that install a cryptominer" },
    Banned { name: "colors", versions: &["1.4.1", "1.4.2"], score: 70, why: "sabotaged by its maintainer: an endless loop on import" },
    Banned { name: "left-pad", versions: &[], score: 20, why: "unpublished once and broke builds: pin or vendor it" },
];

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
    let Ok(component) = serde_json::from_slice::<Value>(data) else {
        return 0;
    };
    let name = component["name"].as_str().unwrap_or_default();
    let version = component["version"].as_str().unwrap_or_default();
    let mut score = 0;
    for banned in BANNED.iter().filter(|b| b.name == name) {
        if banned.versions.is_empty() || banned.versions.contains(&version) {
            let threat = "SBOM.BannedPackage";
            let detail = format!("{name}@{version}: {}", banned.why);
            unsafe { report_finding(threat.as_ptr(), threat.len() as u32, banned.score, detail.as_ptr(), detail.len() as u32) };
            score = score.max(banned.score as i32);
        }
    }
    score
}
