//! Process memory while a memory bomb runs (issue 5), and while a plugin makes the host copy
//! what it points at (issue 8): the peak resident size grows by at most the plugin's cap plus
//! a documented overhead. Its own test binary, whose tests take turns, so that nothing else
//! allocates meanwhile. Linux only: it reads /proc/self/status.

use std::sync::Mutex;

mod common;

use common::*;
use serde_json::json;

/// What the host may add beyond the plugin's cap during one scan (ABI.md): the store, the
/// instance, the compiled code in use and the allocator's slack.
const OVERHEAD: u64 = 16 << 20;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The tests of this binary measure the whole process: one at a time.
static MEASURING: Mutex<()> = Mutex::new(());

/// Peak resident growth while `registry` scans `data`, and the report.
fn peak_growth(registry: &plugbox::Registry, data: &[u8]) -> (u64, plugbox::ScanReport) {
    // Reset the kernel's peak-RSS mark to the current resident size.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmRSS:") * 1024;
    let report = scan(registry, data);
    let peak = status_kb("VmHWM:") * 1024;
    (peak.saturating_sub(before), report)
}

#[test]
fn host_side_copies_stay_under_the_cap_plus_overhead() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let cap: u64 = 64 << 20;
    let plugins = Plugins::new();
    // Memory grown to the cap and filled, then every host call that takes a count or a length
    // gets the largest the memory allows: 8M iovecs, 1.4M poll subscriptions, 1024 iovecs of
    // the whole memory, a 64 MiB log message and threat name.
    let wasi = wasi_imports(|name| matches!(name, "fd_write" | "poll_oneoff"));
    plugins.add(
        "copies",
        "Copies",
        json!({"permissions": {"max_memory_mb": 64, "max_exec_ms": 5000}}),
        &format!(
            r#"(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "env" "log_message" (func $log_message (param i32 i32 i32)))
  {wasi}
  (memory (export "memory") 1)
  (func (export "scan") (param i32 i32) (result i32) (local $i i32) (local $size i32)
    (block $d (loop $l (br_if $d (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
    (local.set $size (i32.mul (memory.size) (i32.const 65536)))
    (memory.fill (i32.const 0) (i32.const 0) (local.get $size))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.shr_u (local.get $size) (i32.const 3)) (i32.const 0)))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 0) (i32.div_u (local.get $size) (i32.const 48)) (i32.const 0)))
    (loop $iovecs
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store (i32.add (i32.mul (local.get $i) (i32.const 8)) (i32.const 4)) (local.get $size))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $iovecs (i32.lt_u (local.get $i) (i32.const 1024))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1024) (i32.const 0)))
    (call $log_message (i32.const 2) (i32.const 0) (local.get $size))
    (call $report_finding (i32.const 0) (local.get $size) (i32.const 1) (i32.const 0) (local.get $size))
    (i32.const 1)))"#
        ),
    );
    let registry = plugins.registry();
    let (growth, report) = peak_growth(&registry, b"x");
    assert_eq!(
        report.runs[0].status,
        plugbox::RunStatus::Ok { score: 1 },
        "{report:?}"
    );
    eprintln!(
        "host-side copies: peak RSS grew by {} KiB for a {} KiB cap",
        growth >> 10,
        cap >> 10
    );
    assert!(
        growth <= cap + OVERHEAD,
        "peak grew by {growth} bytes, cap {cap} + overhead {OVERHEAD}"
    );
}

#[test]
fn memory_bomb_peak_stays_under_the_cap_plus_overhead() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let cap: u64 = 64 << 20;
    let plugins = Plugins::new();
    // Grows to the cap page by page, then writes every byte, so every page is resident.
    plugins.add(
        "bomb",
        "Bomb",
        json!({"permissions": {"max_memory_mb": 64, "max_exec_ms": 5000}}),
        &scan_module(
            "(block $d (loop $l (br_if $d (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
             (memory.fill (i32.const 0) (i32.const 85) (i32.mul (memory.size) (i32.const 65536)))
             (i32.const 1)",
        ),
    );
    let registry = plugins.registry();
    assert_eq!(scan(&registry, b"x").runs[0].peak_memory_bytes as u64, cap);
    let (growth, report) = peak_growth(&registry, b"x");
    assert_eq!(report.runs[0].status, plugbox::RunStatus::Ok { score: 1 });
    eprintln!(
        "memory bomb: peak RSS grew by {} KiB for a {} KiB cap (overhead {} KiB)",
        growth >> 10,
        cap >> 10,
        growth.saturating_sub(cap) >> 10
    );
    assert!(growth >= cap / 2, "the bomb did not run: {growth} bytes");
    assert!(
        growth <= cap + OVERHEAD,
        "peak grew by {growth} bytes, cap {cap} + overhead {OVERHEAD}"
    );
}
