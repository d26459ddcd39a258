//! The cost of one plugin invocation: the same banned-packages program run in plugbox's
//! sandbox (fresh instance, `_start`, JSON in and out) and spawned as a native process, over
//! 1,000 added components, alternating A B A B in one run.
//!
//! `cargo bench --manifest-path examples/sbom-host/Cargo.toml --features wasm-plugins`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{banned_packages_manifest, big_sbom, json_run};

const COMPONENTS: usize = 1000;
const ROUNDS: usize = 5;

fn per_invocation(manifest: &str, old: &str, new: &str) -> Duration {
    let started = Instant::now();
    let (code, doc, err) = json_run(&["--plugin", manifest, old, new]);
    let elapsed = started.elapsed();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        doc["plugin_errors"].as_array().map(Vec::len),
        Some(0),
        "{err}"
    );
    elapsed / COMPONENTS as u32
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = big_sbom(root.path(), COMPONENTS);
    let (wasm, native) = (
        banned_packages_manifest("plugin"),
        banned_packages_manifest("native"),
    );
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        times[0].push(per_invocation(&wasm, &old, &new));
        times[1].push(per_invocation(&native, &old, &new));
    }
    let median = |t: &mut Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let (wasm, native) = (median(&mut times[0]), median(&mut times[1]));
    println!(
        "per invocation, median of {ROUNDS} runs of {COMPONENTS} components (sbom-host end to end):"
    );
    println!("  banned-packages, wasm32-wasip1 in plugbox: {wasm:>10.1?}");
    println!("  banned-packages, native process:           {native:>10.1?}");
    println!(
        "  ratio wasm / process: {:.2}",
        wasm.as_secs_f64() / native.as_secs_f64()
    );
}
