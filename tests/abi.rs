//! The env host ABI under bad arguments and floods (CONTRACT §4): an out-of-range pointer
//! traps that call only, findings reported before it are kept, floods are capped and counted.

mod common;

use common::*;
use plugbox::{FailureKind, RunStatus, Stage, limits};
use serde_json::json;

/// A scan that reports `Before.Trap`, then makes `call` (which must trap).
fn reports_then(call: &str) -> String {
    module(
        1,
        &format!(
            r#"(data (i32.const 0) "Before.Trap")
            (func (export "scan") (param i32 i32) (result i32)
              (call $report_finding (i32.const 0) (i32.const 11) (i32.const 50) (i32.const 0) (i32.const 0))
              {call}
              (i32.const 0))"#
        ),
    )
}

#[test]
fn out_of_range_arguments_to_every_import_trap_that_call_only() {
    let cases = [
        (
            "name-oob",
            "(call $report_finding (i32.const 131070) (i32.const 10) (i32.const 1) (i32.const 0) (i32.const 0))",
            "report_finding threat name",
        ),
        (
            "detail-oob",
            "(call $report_finding (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const 131073))",
            "report_finding detail",
        ),
        (
            "name-wrap",
            "(call $report_finding (i32.const -1) (i32.const 2) (i32.const 1) (i32.const 0) (i32.const 0))",
            "report_finding threat name",
        ),
        (
            "detail-negative-len",
            "(call $report_finding (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const -1))",
            "report_finding detail",
        ),
        (
            "log-oob",
            "(call $log_message (i32.const 2) (i32.const 140000) (i32.const 1))",
            "log_message message",
        ),
        (
            "log-huge",
            "(call $log_message (i32.const 2) (i32.const 0) (i32.const 2147483647))",
            "log_message message",
        ),
        (
            "path-oob",
            "(drop (call $get_file_path (i32.const 131071) (i32.const 2)))",
            "get_file_path buffer",
        ),
        (
            "path-wrap",
            "(drop (call $get_file_path (i32.const 2147483647) (i32.const 2147483647)))",
            "get_file_path buffer",
        ),
        (
            "type-oob",
            "(drop (call $get_file_type (i32.const -16) (i32.const 8)))",
            "get_file_type buffer",
        ),
    ];
    let plugins = Plugins::new();
    for (dir, call, _) in &cases {
        plugins.add(dir, dir, json!({}), &reports_then(call));
    }
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    let report = scan(&registry, MARKED);
    for (plugin, _, what) in cases {
        let run = run_of(&report, plugin);
        let failure = run.failure().unwrap_or_else(|| panic!("{plugin}: {run:?}"));
        assert_eq!(
            (failure.kind, failure.stage),
            (FailureKind::Trap, Stage::Scan),
            "{plugin}"
        );
        assert!(
            failure.reason.contains(what) && failure.reason.contains("outside guest memory"),
            "{plugin}: {failure}"
        );
        assert_eq!(
            threats_of(&report, plugin),
            ["Before.Trap"],
            "{plugin}: finding lost"
        );
    }
    assert_good_found_marker(&report);
}

#[test]
fn in_range_edge_cases_are_accepted() {
    // Zero-length strings anywhere in bounds, including at the very end of memory.
    let plugins = Plugins::new();
    plugins.add(
        "edge",
        "Edge",
        json!({}),
        &scan_module(
            "(call $report_finding (i32.const 65536) (i32.const 0) (i32.const 5) (i32.const 65536) (i32.const 0))
             (drop (call $get_file_path (i32.const 65536) (i32.const 0)))
             (i32.const 0)",
        ),
    );
    let report = scan(&plugins.registry(), b"");
    assert_eq!(run_of(&report, "Edge").status, RunStatus::Ok { score: 0 });
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].threat, "");
}

#[test]
fn report_finding_flood_is_capped_and_counted() {
    let plugins = Plugins::new();
    plugins.add(
        "flood",
        "Flood",
        json!({}),
        &scan_module(
            "(local $i i32)
             (loop $l
               (call $report_finding (i32.const 0) (i32.const 11) (i32.const 40) (i32.const 16) (i32.const 6))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 5000))))
             (i32.const 40)",
        ),
    );
    plugins.add_good("zz-good");
    let report = scan(&plugins.registry(), MARKED);
    assert_eq!(
        threats_of(&report, "Flood").len(),
        limits::MAX_FINDINGS_PER_SCAN
    );
    let run = run_of(&report, "Flood");
    assert_eq!(
        run.dropped.findings,
        5000 - limits::MAX_FINDINGS_PER_SCAN as u64
    );
    assert_good_found_marker(&report);
}

#[test]
fn long_threat_names_and_details_are_cut_and_counted() {
    let plugins = Plugins::new();
    plugins.add(
        "long",
        "Long",
        json!({}),
        &scan_module(
            "(memory.fill (i32.const 0) (i32.const 65) (i32.const 10000))
             (call $report_finding (i32.const 0) (i32.const 1000) (i32.const 40) (i32.const 0) (i32.const 10000))
             (i32.const 0)",
        ),
    );
    let report = scan(&plugins.registry(), b"");
    let finding = &report.findings[0];
    assert_eq!(finding.threat.len(), limits::MAX_THREAT_NAME_BYTES);
    assert_eq!(finding.detail.len(), limits::MAX_DETAIL_BYTES);
    let dropped = run_of(&report, "Long").dropped;
    assert_eq!(
        dropped.threat_name_bytes,
        1000 - limits::MAX_THREAT_NAME_BYTES as u64
    );
    assert_eq!(
        dropped.detail_bytes,
        10000 - limits::MAX_DETAIL_BYTES as u64
    );
}

#[test]
fn log_flood_is_capped_and_counted() {
    // 1000 messages of 1000 bytes: 64 KiB are kept, prefixes included, the rest counted.
    let plugins = Plugins::new();
    plugins.add(
        "logs",
        "Logs",
        json!({}),
        &scan_module(
            "(local $i i32)
             (loop $l
               (call $log_message (i32.const 0) (i32.const 0) (i32.const 1000))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
             (i32.const 0)",
        ),
    );
    let report = scan(&plugins.registry(), b"");
    let dropped = run_of(&report, "Logs").dropped;
    // Each message costs its text and its "[Logs] " prefix: 65 whole messages fit, the 66th
    // is cut, the rest are dropped whole.
    let prefix = "[Logs] ".len() as u64;
    let kept_text = limits::MAX_LOG_BYTES_PER_SCAN as u64 - 66 * prefix;
    assert_eq!(dropped.log_bytes, 1_000_000 - kept_text);
    assert_eq!(dropped.log_messages, 1000 - 66);
}

#[test]
fn a_trap_on_one_file_does_not_stop_the_next() {
    // Traps (unreachable) when the file starts with 'T'.
    let plugins = Plugins::new();
    plugins.add(
        "picky",
        "Picky",
        json!({}),
        &scan_module(
            "(if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 84)) (then unreachable))
             (i32.const 7)",
        ),
    );
    let registry = plugins.registry();
    let report = scan(&registry, b"Trap me");
    let failure = run_of(&report, "Picky").failure().unwrap().clone();
    assert_eq!(failure.kind, FailureKind::Trap);
    assert!(failure.reason.contains("unreachable"), "{failure}");
    let report = scan(&registry, b"fine");
    assert_eq!(run_of(&report, "Picky").status, RunStatus::Ok { score: 7 });
}

#[test]
fn findings_before_a_timeout_are_kept() {
    let plugins = Plugins::new();
    plugins.add(
        "slow",
        "Slow",
        json!({"permissions": {"max_exec_ms": 50}}),
        &scan_module(
            "(call $report_finding (i32.const 0) (i32.const 11) (i32.const 90) (i32.const 16) (i32.const 6))
             (loop $l (br $l))
             (i32.const 0)",
        ),
    );
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(
        run_of(&report, "Slow").failure().unwrap().kind,
        FailureKind::Timeout
    );
    assert_eq!(threats_of(&report, "Slow"), ["Test.Threat"]);
    assert_eq!(report.findings[0].score, 90);
}

#[test]
fn alloc_results_outside_memory_are_abi_failures() {
    let plugins = Plugins::new();
    for (dir, ret) in [
        ("beyond", "(i32.const 70000)"),
        ("straddle", "(i32.const 65530)"),
        ("null", "(i32.const 0)"),
        ("negative", "(i32.const -8)"),
    ] {
        plugins.add(
            dir,
            dir,
            json!({}),
            &module(
                1,
                &format!(
                    r#"(func (export "alloc") (param i32) (result i32) {ret})
                    (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#
                ),
            ),
        );
    }
    plugins.add_good("zz-good");
    let report = scan(&plugins.registry(), MARKED);
    for plugin in ["beyond", "straddle", "null", "negative"] {
        let failure = run_of(&report, plugin).failure().unwrap().clone();
        assert_eq!(
            (failure.kind, failure.stage),
            (FailureKind::Abi, Stage::Transfer),
            "{plugin}"
        );
        assert!(
            failure.reason.contains("alloc(30) returned"),
            "{plugin}: {failure}"
        );
    }
    assert_good_found_marker(&report);
}

/// AssemblyScript's `env.abort(message, file, line, column)`: strings are UTF-16LE with their
/// byte length in the 4 bytes before them.
#[test]
fn assemblyscript_abort_ends_the_call_with_the_decoded_message_and_location() {
    let plugins = Plugins::new();
    plugins.add(
        "as",
        "AsAbort",
        json!({}),
        r#"(module
              (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
              (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "Before.Abort")
              (data (i32.const 100) "\08\00\00\00b\00o\00o\00m\00")
              (data (i32.const 200) "\0a\00\00\00a\00.\00t\00s\00!\00")
              (func (export "scan") (param i32 i32) (result i32)
                (call $report_finding (i32.const 0) (i32.const 12) (i32.const 20) (i32.const 0) (i32.const 0))
                (call $abort (i32.const 104) (i32.const 204) (i32.const 12) (i32.const 5))
                (i32.const 0)))"#,
    );
    plugins.add(
        "as-null",
        "AsAbortNull",
        json!({}),
        r#"(module
          (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
          (memory (export "memory") 1)
          (func (export "scan") (param i32 i32) (result i32)
            (call $abort (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2)) (i32.const 0)))"#,
    );
    plugins.add(
        "as-oob",
        "AsAbortOob",
        json!({}),
        r#"(module
          (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "\ff\ff\ff\7f")
          (func (export "scan") (param i32 i32) (result i32)
            (call $abort (i32.const 104) (i32.const 0) (i32.const 1) (i32.const 2)) (i32.const 0)))"#,
    );
    plugins.add_good("zz-good");
    let report = scan(&plugins.registry(), MARKED);
    let failure = run_of(&report, "AsAbort").failure().unwrap().clone();
    assert_eq!(
        (failure.kind, failure.stage),
        (FailureKind::Trap, Stage::Scan)
    );
    assert!(
        failure.reason.contains("abort: boom (at a.ts!:12:5)"),
        "{failure}"
    );
    assert_eq!(threats_of(&report, "AsAbort"), ["Before.Abort"]);
    let null = run_of(&report, "AsAbortNull")
        .failure()
        .unwrap()
        .reason
        .clone();
    assert!(
        null.contains("abort: (no message) (at (no message):1:2)"),
        "{null}"
    );
    let oob = run_of(&report, "AsAbortOob")
        .failure()
        .unwrap()
        .reason
        .clone();
    assert!(
        oob.contains("abort message") && oob.contains("outside guest memory"),
        "{oob}"
    );
    assert_good_found_marker(&report);
}
