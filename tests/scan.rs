//! Scanning: findings, scores, the file-type filter, per-file isolation (CONTRACT §3-§5).

mod common;

use common::*;
use plugbox::{HostConfig, Registry, RunStatus};
use serde_json::json;

#[test]
fn bundled_example_finds_the_marker_and_nothing_in_a_clean_file() {
    let registry = Registry::new(HostConfig::default());
    registry
        .load_plugin("examples/plugins/marker-scanner".as_ref())
        .unwrap();
    let marked = std::fs::read("examples/samples/marked.txt").unwrap();
    let report = registry.scan(
        plugbox::Input::new(&marked)
            .path("examples/samples/marked.txt")
            .file_type("unknown"),
    );
    assert_eq!(report.findings.len(), 1);
    let finding = &report.findings[0];
    assert_eq!(finding.plugin, "Marker Scanner");
    assert_eq!(finding.threat, "Custom.MaliciousMarker");
    assert_eq!(finding.score, 85);
    assert_eq!(finding.detail, "Found MALICIOUS_MARKER string in file data");
    assert_eq!(report.runs[0].status, RunStatus::Ok { score: 85 });

    let clean = std::fs::read("examples/samples/clean.txt").unwrap();
    let report = registry.scan(
        plugbox::Input::new(&clean)
            .path("examples/samples/clean.txt")
            .file_type("unknown"),
    );
    assert!(report.findings.is_empty());
    assert_eq!(report.runs[0].status, RunStatus::Ok { score: 0 });
}

#[test]
fn marker_at_the_very_end_and_in_a_tiny_file() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    let registry = plugins.registry();
    assert_good_found_marker(&scan(&registry, b"MALICIOUS_MARKER"));
    assert!(scan(&registry, b"MALICIOUS_MARKE").findings.is_empty());
    assert!(scan(&registry, b"").findings.is_empty());
}

#[test]
fn nonzero_score_without_report_yields_a_synthesized_finding() {
    let plugins = Plugins::new();
    plugins.add("p", "Quiet", json!({}), &scan_module("(i32.const 42)"));
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].threat, "Plugin.Quiet");
    assert_eq!(report.findings[0].score, 42);
    assert_eq!(
        report.findings[0].detail,
        "Plugin 'Quiet' returned threat score 42"
    );
}

#[test]
fn reported_finding_suppresses_the_synthesized_one() {
    let plugins = Plugins::new();
    plugins.add(
        "p",
        "Reporter",
        json!({}),
        &scan_module(
            "(call $report_finding (i32.const 0) (i32.const 11) (i32.const 10) (i32.const 16) (i32.const 6)) (i32.const 70)",
        ),
    );
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(threats_of(&report, "Reporter"), ["Test.Threat"]);
    assert_eq!(report.findings[0].score, 10);
    assert_eq!(report.runs[0].status, RunStatus::Ok { score: 70 });
}

#[test]
fn scores_are_clamped_at_both_ends() {
    let plugins = Plugins::new();
    plugins.add("a", "High", json!({}), &scan_module("(i32.const 150)"));
    plugins.add("b", "Negative", json!({}), &scan_module("(i32.const -5)"));
    plugins.add(
        "c",
        "Reports",
        json!({}),
        &scan_module(
            "(call $report_finding (i32.const 0) (i32.const 11) (i32.const 500) (i32.const 16) (i32.const 6))
             (call $report_finding (i32.const 0) (i32.const 11) (i32.const -3) (i32.const 16) (i32.const 6))
             (i32.const 0)",
        ),
    );
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(run_of(&report, "High").status, RunStatus::Ok { score: 100 });
    assert_eq!(
        run_of(&report, "Negative").status,
        RunStatus::Ok { score: 0 }
    );
    let scores: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.plugin.as_str(), f.score))
        .collect();
    assert_eq!(scores, [("High", 100), ("Reports", 100), ("Reports", 0)]);
}

/// Reports the first 4 bytes the host copied as the threat name and the full length the
/// host returned as the score.
fn echo_module(import: &str) -> String {
    scan_module(&format!(
        "(local $full i32)
         (local.set $full (call ${import} (i32.const 100) (i32.const 4)))
         (call $report_finding (i32.const 100) (i32.const 4) (local.get $full) (i32.const 16) (i32.const 0))
         ;; a large buffer gets the whole value
         (local.set $full (call ${import} (i32.const 200) (i32.const 64)))
         (call $report_finding (i32.const 200) (local.get $full) (local.get $full) (i32.const 16) (i32.const 0))
         (i32.const 0)"
    ))
}

#[test]
fn get_file_path_truncates_and_returns_the_full_length() {
    let plugins = Plugins::new();
    plugins.add("p", "Path", json!({}), &echo_module("get_file_path"));
    let report = plugins.registry().scan(
        plugbox::Input::new(b"x")
            .path("/samples/file.bin")
            .file_type("pdf"),
    );
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.threat.as_str(), f.score))
        .collect();
    assert_eq!(got, [("/sam", 17), ("/samples/file.bin", 17)]);
}

#[test]
fn get_file_type_truncates_and_returns_the_full_length() {
    let plugins = Plugins::new();
    plugins.add("p", "Type", json!({}), &echo_module("get_file_type"));
    let report = plugins
        .registry()
        .scan(plugbox::Input::new(b"x").path("/f").file_type("script"));
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.threat.as_str(), f.score))
        .collect();
    assert_eq!(got, [("scri", 6), ("script", 6)]);
}

#[test]
fn file_type_filter_decides_which_plugins_see_a_file() {
    let plugins = Plugins::new();
    plugins.add(
        "pdf-only",
        "PdfOnly",
        json!({"file_types": ["pdf"]}),
        MARKER_WAT,
    );
    plugins.add(
        "elf-pe",
        "Binaries",
        json!({"file_types": ["elf", "pe"]}),
        MARKER_WAT,
    );
    plugins.add_good("all");
    let registry = plugins.registry();
    let pdf = registry.scan(plugbox::Input::new(MARKED).path("a.pdf").file_type("pdf"));
    let ran: Vec<_> = pdf.runs.iter().map(|r| r.plugin.as_str()).collect();
    assert_eq!(ran, ["Good", "PdfOnly"]);
    let elf = registry.scan(plugbox::Input::new(MARKED).path("a.out").file_type("elf"));
    let ran: Vec<_> = elf.runs.iter().map(|r| r.plugin.as_str()).collect();
    assert_eq!(ran, ["Good", "Binaries"]);
}

#[test]
fn no_state_survives_from_one_scan_to_the_next() {
    // Each scan increments a global and a memory cell and returns their sum: a fresh
    // instance per file always returns 2.
    let plugins = Plugins::new();
    plugins.add(
        "p",
        "Counter",
        json!({}),
        &module(
            1,
            r#"(global $n (mut i32) (i32.const 0))
            (func (export "scan") (param i32 i32) (result i32)
              (global.set $n (i32.add (global.get $n) (i32.const 1)))
              (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
              (i32.add (global.get $n) (i32.load (i32.const 64))))"#,
        ),
    );
    let registry = plugins.registry();
    for _ in 0..3 {
        assert_eq!(
            scan(&registry, b"x").runs[0].status,
            RunStatus::Ok { score: 2 }
        );
    }
}

#[test]
fn data_reaches_the_guest_intact_with_and_without_alloc() {
    // Without alloc: the host grows memory and writes at the old end; the plugin sums bytes.
    let sum = r#"(func (export "scan") (param $ptr i32) (param $len i32) (result i32)
        (local $sum i32)
        (block $done (loop $next
          (br_if $done (i32.eqz (local.get $len)))
          (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $ptr))))
          (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
          (local.set $len (i32.sub (local.get $len) (i32.const 1)))
          (br $next)))
        (local.get $sum))"#;
    let plugins = Plugins::new();
    plugins.add("a", "NoAlloc", json!({}), &module(1, sum));
    plugins.add(
        "b",
        "WithAlloc",
        json!({}),
        &module(
            2,
            &format!(r#"(func (export "alloc") (param i32) (result i32) (i32.const 4096)) {sum}"#),
        ),
    );
    let report = scan(&plugins.registry(), &[10, 20, 30]);
    assert_eq!(
        run_of(&report, "NoAlloc").status,
        RunStatus::Ok { score: 60 }
    );
    assert_eq!(
        run_of(&report, "WithAlloc").status,
        RunStatus::Ok { score: 60 }
    );
}

#[test]
fn runs_report_cost_and_memory() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    let report = scan(&plugins.registry(), MARKED);
    let run = &report.runs[0];
    assert!(run.cost.fuel > 0, "{run:?}");
    assert!(run.peak_memory_bytes >= 65536, "{run:?}");
}

#[test]
fn registry_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Registry>();
    let plugins = Plugins::new();
    plugins.add_good("good");
    let registry = plugins.registry();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_good_found_marker(&scan(&registry, MARKED)));
        }
    });
}
