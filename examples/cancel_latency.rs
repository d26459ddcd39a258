//! How long a scan takes to end after `CancelHandle::cancel`: for a plugin looping in guest
//! code and for one sleeping in `poll_oneoff`, each with a ten-minute budget.
//! `cargo run --release --example cancel_latency -- [ROUNDS]` (default 20); prints the median
//! and the worst latency of each.

use std::time::{Duration, Instant};

use plugbox::{CancelHandle, FailureKind, HostConfig, Input, Registry};

const MANIFEST: &str = r#"{"name": "NAME", "version": "1.0.0", "author": "a", "description": "d",
    "wasm_file": "plugin.wasm", "platforms": ["all"], "file_types": ["all"],
    "min_engine_version": "0.1.0", "permissions": {"max_exec_ms": 600000}}"#;

const LOOP: &str = r#"(module (memory (export "memory") 1)
  (func (export "scan") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))"#;

/// One relative clock subscription of 60 s.
const SLEEP: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "scan") (param i32 i32) (result i32)
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 60000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.const 0)))"#;

fn registry(name: &str, wat: &str) -> Registry {
    let wasm = wat::parse_str(wat).expect("valid WAT");
    let registry = Registry::new(HostConfig::default());
    registry
        .add_plugin(MANIFEST.replace("NAME", name).as_bytes(), &wasm)
        .expect("loads");
    registry
}

/// Cancels a scan 20 ms in and returns how long after `cancel()` the scan returned.
fn latency(registry: &Registry) -> Duration {
    let cancel = CancelHandle::new();
    std::thread::scope(|scope| {
        let scan = scope.spawn(|| {
            let report = registry.scan_cancellable(Input::new(b"x"), &cancel);
            let ended = Instant::now();
            let (_, failure) = report.failures().next().expect("a failure");
            assert_eq!(failure.kind, FailureKind::Cancelled, "{failure}");
            ended
        });
        std::thread::sleep(Duration::from_millis(20));
        let cancelled = Instant::now();
        cancel.cancel();
        scan.join().expect("scan thread") - cancelled
    })
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("ROUNDS is a number"))
        .unwrap_or(20);
    for (name, wat) in [("loop", LOOP), ("poll_oneoff sleep", SLEEP)] {
        let registry = registry("Plugin", wat);
        let mut samples: Vec<Duration> = (0..rounds).map(|_| latency(&registry)).collect();
        samples.sort();
        println!(
            "{name:>18}: cancel-to-return median {:?}, worst {:?} ({rounds} rounds)",
            samples[rounds / 2],
            samples[rounds - 1]
        );
    }
}
