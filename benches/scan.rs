//! Per-file cost of the bundled marker plugin, measured side by side in one run.
//!
//! `cargo bench --bench scan` (release profile). Prints the median time per file for a 4 KiB
//! and a 1 MiB input, the cost of loading the plugin (cold start), and, as a yardstick on the
//! same machine in the same run, a native Rust search for the marker over the same bytes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use plugbox::{HostConfig, Registry};

const ROUNDS: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median over rounds of the mean time per call in a round of `iters` calls.
fn measure(iters: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..iters {
                    f();
                }
                start.elapsed() / iters as u32
            })
            .collect(),
    )
}

fn native_find(data: &[u8]) -> bool {
    data.windows(16).any(|w| w == b"MALICIOUS_MARKER")
}

fn main() {
    let plugins = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins");
    let load = measure(20, || {
        let mut registry = Registry::new(HostConfig::default());
        registry.load_dir(&plugins).unwrap();
        black_box(registry);
    });
    let mut registry = Registry::new(HostConfig::default());
    registry.load_dir(&plugins).unwrap();
    assert_eq!(registry.plugins().len(), 1, "{:?}", registry.failures());

    println!("plugbox scan bench (marker plugin, release, median of {ROUNDS} rounds)");
    println!("load registry with 1 plugin: {load:>10.1?}");
    let empty = measure(2000, || {
        black_box(registry.scan(b"", "bench", "unknown"));
    });
    println!("empty file (fresh instance, alloc, scan): {empty:>10.1?}/file");
    for (label, size, iters) in [("4 KiB", 4096, 2000), ("1 MiB", 1 << 20, 20)] {
        let mut data = vec![b'.'; size];
        data[size - 20..size - 4].copy_from_slice(b"MALICIOUS_MARKER");
        let report = registry.scan(&data, "bench", "unknown");
        assert_eq!(report.findings.len(), 1);
        let plugin = measure(iters, || {
            black_box(registry.scan(black_box(&data), "bench", "unknown"));
        });
        let native = measure(iters * 10, || {
            black_box(native_find(black_box(&data)));
        });
        println!(
            "{label} file: plugin {plugin:>10.1?}/file, native search {native:>10.1?}/file, ratio {:.1}x",
            plugin.as_secs_f64() / native.as_secs_f64()
        );
    }
}
