//! Soak: 1,000 reloads of a changing plugin. Each plugin is compiled into an engine of its
//! own, freed with it, so resident memory levels off instead of growing with every reload
//! (wasmi frees compiled code only with its engine). Its own test binary, so that nothing
//! else runs in the process while resident memory is measured.

mod common;

use common::{Plugins, module, scan};
use serde_json::json;

const RELOADS: usize = 1000;
/// Reloads before the baseline is taken: allocator pools and caches fill up first.
const WARM_UP: usize = 100;
/// How much resident memory may grow from the baseline to the end.
const MAX_GROWTH_KIB: u64 = 8 * 1024;

/// A plugin with some code and data to compile, reporting `threat`.
fn plugin_module(threat: &str) -> String {
    let body: String = (0..40).map(|k| format!(" i32.const {k} i32.add")).collect();
    let filler: String = (0..50)
        .map(|i| format!("(func (export \"f{i}\") (result i32) i32.const {i}{body})\n"))
        .collect();
    module(
        1,
        &format!(
            r#"(data (i32.const 0) "{threat}")
  {filler}
  (func (export "scan") (param i32 i32) (result i32)
    (call $report_finding (i32.const 0) (i32.const {len}) (i32.const 50) (i32.const 0) (i32.const 0))
    (i32.const 50))"#,
            len = threat.len()
        ),
    )
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_thousand_reloads_of_a_changing_plugin_level_off() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipped: resident memory is read from /proc/self/status");
        return;
    }
    let plugins = Plugins::new();
    plugins.add("p", "P", json!({}), &plugin_module("Threat.0000"));
    plugins.add("steady", "Steady", json!({}), &plugin_module("Steady.0000"));
    let registry = plugins.registry();
    let mut baseline = 0;
    let started = std::time::Instant::now();
    for i in 1..=RELOADS {
        let threat = format!("Threat.{i:04}");
        plugins.add("p", "P", json!({}), &plugin_module(&threat));
        let report = registry.reload().unwrap();
        assert_eq!(report.changed.len(), 1, "reload {i}: {report:?}");
        let report = scan(&registry, b"x");
        let mut seen: Vec<&str> = report.findings.iter().map(|f| f.threat.as_str()).collect();
        seen.sort();
        assert_eq!(seen, ["Steady.0000", threat.as_str()]);
        if i == WARM_UP {
            baseline = resident_kib();
        }
    }
    let end = resident_kib();
    let growth = end.saturating_sub(baseline);
    eprintln!(
        "{RELOADS} reloads in {:?}: resident {baseline} KiB after {WARM_UP}, {end} KiB at the end, growth {growth} KiB",
        started.elapsed()
    );
    assert!(
        growth <= MAX_GROWTH_KIB,
        "resident memory grew by {growth} KiB over {} reloads (bound {MAX_GROWTH_KIB} KiB)",
        RELOADS - WARM_UP
    );
}
