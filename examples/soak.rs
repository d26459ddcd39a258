//! Soak: many scans across 8 plugins, hostile ones included, checking that the host's
//! memory does not grow. `cargo run --release --example soak -- [SCANS]` (default 100,000).
//!
//! Plugins: the marker-scanner, rust-marker, c-marker and as-marker examples, plus a trapper,
//! a memory bomb (4 MiB cap), a findings flood and an endless loop (1 ms budget). Resident
//! memory is read after a warm-up of 1,000 scans and at the end; the soak fails when it grew
//! by more than 5%.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use plugbox::{HostConfig, Registry, RunStatus};

const WARM_UP: usize = 1_000;
const MAX_GROWTH: f64 = 0.05;

const HOSTILE: &[(&str, &str, &str)] = &[
    ("trapper", r#"{"max_exec_ms": 100}"#, "unreachable"),
    (
        "memory-bomb",
        r#"{"max_memory_mb": 4}"#,
        "(block $d (loop $l (br_if $d (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
         (memory.fill (i32.const 0) (i32.const 1) (i32.mul (memory.size) (i32.const 65536))) (i32.const 1)",
    ),
    (
        "flood",
        r#"{"max_exec_ms": 100}"#,
        "(local $i i32) (loop $l (call $report_finding (i32.const 0) (i32.const 5) (i32.const 40) (i32.const 0) (i32.const 5))
           (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 2000)))) (i32.const 40)",
    ),
    ("endless", r#"{"max_exec_ms": 1}"#, "(loop $l (br $l)) (i32.const 0)"),
];

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

fn write_hostile(dir: &Path) {
    for (name, permissions, scan) in HOSTILE {
        let plugin = dir.join(name);
        std::fs::create_dir_all(&plugin).unwrap();
        let manifest = format!(
            r#"{{"name": "{name}", "version": "1.0.0", "author": "soak", "description": "hostile",
              "wasm_file": "p.wasm", "platforms": ["all"], "file_types": ["all"],
              "min_engine_version": "0.1.0", "permissions": {permissions}}}"#
        );
        std::fs::write(plugin.join("plugin.json"), manifest).unwrap();
        let wat = format!(
            r#"(module (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
              (memory (export "memory") 1) (data (i32.const 0) "Flood")
              (func (export "scan") (param i32 i32) (result i32) {scan}))"#
        );
        std::fs::write(plugin.join("p.wasm"), wat::parse_str(wat).unwrap()).unwrap();
    }
}

fn main() -> ExitCode {
    let scans: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |n| n.parse().expect("SCANS is a number"));
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins");
    let hostile = tempfile::tempdir().unwrap();
    write_hostile(hostile.path());
    let registry = Registry::new(HostConfig::default());
    for example in ["marker-scanner", "rust-marker", "c-marker", "as-marker"] {
        registry
            .load_plugin(&examples.join(example))
            .expect("example loads");
    }
    registry.load_dir(hostile.path()).unwrap();
    assert_eq!(registry.plugins().len(), 8, "{:?}", registry.failures());

    let files: [&[u8]; 3] = [b"clean text", b"x MALICIOUS_MARKER y", &[0u8; 4096]];
    let mut findings = 0u64;
    let mut failures = std::collections::BTreeMap::<String, u64>::new();
    let mut run = |i: usize| {
        let report = registry.scan(
            plugbox::Input::new(files[i % files.len()])
                .path("soak")
                .file_type("unknown"),
        );
        findings += report.findings.len() as u64;
        for r in &report.runs {
            if let RunStatus::Failed(failure) = &r.status {
                *failures
                    .entry(format!("{} {:?}", r.plugin, failure.kind))
                    .or_default() += 1;
            }
        }
    };
    for i in 0..WARM_UP {
        run(i);
    }
    let start_rss = rss_kib();
    let started = Instant::now();
    for i in 0..scans {
        run(i);
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "{} scans, RSS {} KiB, {:.0?}",
                i + 1,
                rss_kib(),
                started.elapsed()
            );
        }
    }
    let end_rss = rss_kib();
    let growth = (end_rss as f64 - start_rss as f64) / start_rss as f64;
    println!(
        "soak: {scans} scans x 8 plugins in {:.1?}; {findings} findings; failed runs (warm-up included) {failures:?}; \
         RSS {start_rss} KiB after warm-up, {end_rss} KiB at the end ({:+.2}%)",
        started.elapsed(),
        growth * 100.0
    );
    if growth > MAX_GROWTH {
        eprintln!(
            "soak: FAIL: memory grew by more than {:.0}%",
            MAX_GROWTH * 100.0
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
