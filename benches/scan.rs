//! Per-file cost of the bundled example plugins, measured side by side in one run.
//!
//! `cargo bench --bench scan` (release profile). For each example plugin alone: the cost of
//! loading it (cold start), of a scan of an empty file (a fresh instance per file), and of a
//! 4 KiB and a 1 MiB file; and, as a yardstick on the same machine in the same run, a native
//! Rust search for the marker over the same bytes. Inputs are handed over as `SharedBytes`
//! (`Input::shared`), as the CLI does, so that `marker-find` (`"input": "host"`) reads them
//! without a copy.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::Arc;

use plugbox::{HostConfig, Input, Registry, SharedBytes};

const ROUNDS: usize = 11;
const PLUGINS: &[&str] = &[
    "marker-scanner",
    "marker-find",
    "rust-marker",
    "c-marker",
    "signature-list",
    "as-marker",
];

/// Median over rounds of the mean time per call in a round of `iters` calls.
fn measure(iters: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters as u32
        })
        .collect();
    samples.sort();
    samples[ROUNDS / 2]
}

fn load(dir: &Path) -> Registry {
    let registry = Registry::new(HostConfig::default());
    registry.load_plugin(dir).expect("example plugin loads");
    registry
}

fn file(size: usize) -> Vec<u8> {
    let mut data = vec![b'.'; size];
    data[size - 20..size - 4].copy_from_slice(b"MALICIOUS_MARKER");
    data
}

fn main() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins");
    let small: SharedBytes = Arc::new(file(4096));
    let large: SharedBytes = Arc::new(file(1 << 20));
    let nothing: SharedBytes = Arc::new(Vec::new());
    let native_small = measure(20_000, || {
        black_box(
            black_box((*small).as_ref())
                .windows(16)
                .any(|w| w == b"MALICIOUS_MARKER"),
        );
    });
    let native_large = measure(200, || {
        black_box(
            black_box((*large).as_ref())
                .windows(16)
                .any(|w| w == b"MALICIOUS_MARKER"),
        );
    });
    println!("plugbox scan bench (release, median of {ROUNDS} rounds)");
    println!("native search: 4 KiB {native_small:.1?}, 1 MiB {native_large:.1?}");
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8}",
        "plugin", "load", "empty", "4 KiB", "x nat", "1 MiB", "x nat"
    );
    for name in PLUGINS {
        let dir = examples.join(name);
        let load_time = measure(10, || {
            black_box(load(&dir));
        });
        let registry = load(&dir);
        assert_eq!(
            registry
                .scan(Input::shared(&small).path("bench").file_type("unknown"))
                .findings
                .len(),
            1,
            "{name}"
        );
        let scan = |data: &SharedBytes| {
            black_box(
                registry.scan(
                    Input::shared(black_box(data))
                        .path("bench")
                        .file_type("unknown"),
                ),
            );
        };
        let empty = measure(1000, || scan(&nothing));
        let four_k = measure(1000, || scan(&small));
        let one_m = measure(5, || scan(&large));
        println!(
            "{name:<16} {load_time:>10.1?} {empty:>10.1?} {four_k:>10.1?} {:>7.1}x {one_m:>10.1?} {:>7.1}x",
            four_k.as_secs_f64() / native_small.as_secs_f64(),
            one_m.as_secs_f64() / native_large.as_secs_f64(),
        );
    }
}
