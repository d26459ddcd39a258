//! Process memory while a memory bomb runs (issue 5): the peak resident size grows by at most
//! the plugin's cap plus a documented overhead. Its own test binary, so that no other test
//! allocates meanwhile. Linux only: it reads /proc/self/status.

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

#[test]
fn memory_bomb_peak_stays_under_the_cap_plus_overhead() {
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
    // Reset the kernel's peak-RSS mark to the current resident size.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmRSS:") * 1024;
    let report = scan(&registry, b"x");
    let peak = status_kb("VmHWM:") * 1024;
    assert_eq!(report.runs[0].status, plugbox::RunStatus::Ok { score: 1 });
    let growth = peak.saturating_sub(before);
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
