//! An sbom-host plugin: reads one SBOM component (JSON) and reports it when it is on the
//! banned-package list. Built for `wasm32-wasip1` with std, on the guest crate `plugbox-guest`
//! (`abi/rust`), which writes the exports; rebuild with `examples/build.sh`.

use plugbox_guest::report;
use serde_json::Value;

struct Banned {
    name: &'static str,
    /// Banned versions; empty means every version.
    versions: &'static [&'static str],
    score: u8,
    why: &'static str,
}

const BANNED: &[Banned] = &[
    Banned { name: "event-stream", versions: &["3.3.6"], score: 95, why: "compromised release carrying the flatmap-stream backdoor" },
    Banned { name: "ua-parser-js", versions: &["0.7.29", "0.8.0", "1.0.0"], score: 95, why: "hijacked releases that install a cryptominer" },
    Banned { name: "colors", versions: &["1.4.1", "1.4.2"], score: 70, why: "sabotaged by its maintainer: an endless loop on import" },
    Banned { name: "left-pad", versions: &[], score: 20, why: "unpublished once and broke builds: pin or vendor it" },
];

fn scan(data: &[u8]) -> u8 {
    let Ok(component) = serde_json::from_slice::<Value>(data) else {
        return 0;
    };
    let name = component["name"].as_str().unwrap_or_default();
    let version = component["version"].as_str().unwrap_or_default();
    let mut score = 0;
    for banned in BANNED.iter().filter(|b| b.name == name) {
        if banned.versions.is_empty() || banned.versions.contains(&version) {
            report("SBOM.BannedPackage", banned.score, &format!("{name}@{version}: {}", banned.why));
            score = score.max(banned.score);
        }
    }
    score
}

plugbox_guest::plugin! {
    name: "Banned Packages",
    version: env!("CARGO_PKG_VERSION"),
    scan: scan,
}
