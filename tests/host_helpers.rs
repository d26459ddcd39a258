//! The `plugbox` host helpers (issue 12, CONTRACT §10): `file_size`, `read` and `find` on
//! known data, the bounds on every pointer, length and offset, `"input": "host"` (no copy, no
//! `alloc`, files over the memory cap scanned), `find` under the caller's deadline, and the
//! bundled `marker-find` example, in the library and through `plugbox scan`.

mod cli_common;
mod common;

use std::time::{Duration, Instant};

use common::*;
use plugbox::{FailureKind, HostConfig, Input, InputMode, Registry, RunStatus, SharedBytes, Stage};
use serde_json::{Value, json};

/// The data most tests scan: 41 bytes, "hello" twice.
const DATA: &[u8] = b"hello MALICIOUS_MARKER world, hello again";

/// A module importing the helpers (named `$file_size`, `$read`, `$find`) and `env`, with one
/// page of memory, `$report_i64` (reports a finding `value` whose detail is the decimal
/// value), `$report_bytes(ptr, len)` (detail: the bytes), the strings `hello` at 1100,
/// `MALICIOUS_MARKER` at 1120, `zzz` at 1140, `o again!` at 1150, and `body` spliced in.
fn helpers_module(body: &str) -> String {
    format!(
        r#"(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "plugbox" "file_size" (func $file_size (result i64)))
  (import "plugbox" "read" (func $read (param i64 i32 i32) (result i32)))
  (import "plugbox" "find" (func $find (param i32 i32 i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 900) "value")
  (data (i32.const 1100) "hello")
  (data (i32.const 1120) "MALICIOUS_MARKER")
  (data (i32.const 1140) "zzz")
  (data (i32.const 1150) "o again!")
  (func $report_i64 (param $v i64) (local $p i32) (local $neg i32)
    (local.set $p (i32.const 1000))
    (local.set $neg (i64.lt_s (local.get $v) (i64.const 0)))
    (if (local.get $neg) (then (local.set $v (i64.sub (i64.const 0) (local.get $v)))))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i64.store8 (local.get $p) (i64.add (i64.const 48) (i64.rem_u (local.get $v) (i64.const 10))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $l (i64.ne (local.get $v) (i64.const 0))))
    (if (local.get $neg)
      (then (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (i32.store8 (local.get $p) (i32.const 45))))
    (call $report_finding (i32.const 900) (i32.const 5) (i32.const 1)
      (local.get $p) (i32.sub (i32.const 1000) (local.get $p))))
  (func $report_bytes (param $ptr i32) (param $len i32)
    (call $report_finding (i32.const 900) (i32.const 5) (i32.const 1) (local.get $ptr) (local.get $len)))
  {body})"#
    )
}

/// A module whose `scan` runs `scan_body` (params `$ptr`, `$len`) and returns 0.
fn scanning(scan_body: &str) -> String {
    helpers_module(&format!(
        r#"(func (export "scan") (param $ptr i32) (param $len i32) (result i32) {scan_body} (i32.const 0))"#
    ))
}

fn host() -> Value {
    json!({"input": "host"})
}

/// Loads `wat` as plugin `P` with manifest `overrides` and scans `data` with it.
fn scan_with(overrides: Value, wat: &str, data: &[u8]) -> plugbox::ScanReport {
    let plugins = Plugins::new();
    plugins.add("p", "P", overrides, wat);
    let registry = plugins.registry();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    scan(&registry, data)
}

/// The details of `P`'s findings, in order.
fn details(report: &plugbox::ScanReport) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.plugin == "P")
        .map(|f| f.detail.clone())
        .collect()
}

/// The failure of `P`'s run, as (kind, stage, reason).
fn failure_of(report: &plugbox::ScanReport) -> (FailureKind, Stage, String) {
    let run = run_of(report, "P");
    let failure = run
        .failure()
        .unwrap_or_else(|| panic!("did not fail: {run:?}"));
    (failure.kind, failure.stage, failure.reason.clone())
}

const KNOWN_DATA_CHECKS: &str = r#"
    (call $report_i64 (call $file_size))
    ;; read: from the start, at the end, at and past the end, a zero-length buffer
    (call $report_i64 (i64.extend_i32_s (call $read (i64.const 0) (i32.const 2048) (i32.const 5))))
    (call $report_bytes (i32.const 2048) (i32.const 5))
    (call $report_i64 (i64.extend_i32_s (call $read (i64.const 38) (i32.const 3000) (i32.const 100))))
    (call $report_bytes (i32.const 3000) (i32.const 3))
    (call $report_i64 (i64.extend_i32_s (call $read (i64.const 41) (i32.const 2048) (i32.const 10))))
    (call $report_i64 (i64.extend_i32_s (call $read (i64.const 1000) (i32.const 2048) (i32.const 10))))
    (call $report_i64 (i64.extend_i32_s (call $read (i64.const 9223372036854775807) (i32.const 2048) (i32.const 10))))
    (call $report_i64 (i64.extend_i32_s (call $read (i64.const 0) (i32.const 65536) (i32.const 0))))
    ;; find
    (call $report_i64 (call $find (i32.const 1100) (i32.const 5) (i64.const 0)))
    (call $report_i64 (call $find (i32.const 1100) (i32.const 5) (i64.const 1)))
    (call $report_i64 (call $find (i32.const 1100) (i32.const 5) (i64.const 31)))
    (call $report_i64 (call $find (i32.const 1120) (i32.const 16) (i64.const 0)))
    (call $report_i64 (call $find (i32.const 1140) (i32.const 3) (i64.const 0)))
    (call $report_i64 (call $find (i32.const 1150) (i32.const 7) (i64.const 0)))
    (call $report_i64 (call $find (i32.const 1150) (i32.const 8) (i64.const 0)))
    ;; an empty needle is found at `from`, clamped to the size
    (call $report_i64 (call $find (i32.const 1100) (i32.const 0) (i64.const 5)))
    (call $report_i64 (call $find (i32.const 1100) (i32.const 0) (i64.const 1000)))
    ;; a needle longer than the file; `from` at and past the end
    (call $report_i64 (call $find (i32.const 0) (i32.const 43) (i64.const 0)))
    (call $report_i64 (call $find (i32.const 1100) (i32.const 1) (i64.const 41)))
    (call $report_i64 (call $find (i32.const 1100) (i32.const 1) (i64.const 9223372036854775807)))
"#;

const KNOWN_DATA_RESULTS: &[&str] = &[
    "41", "5", "hello", "3", "ain", "0", "0", "0", "0", // file_size, read
    "0", "30", "-1", "6", "-1", "34", "-1", // find
    "5", "41", // empty needle
    "-1", "-1", "-1", // past the end
];

#[test]
fn helpers_return_what_the_data_holds() {
    let report = scan_with(host(), &scanning(KNOWN_DATA_CHECKS), DATA);
    assert_eq!(run_of(&report, "P").status, RunStatus::Ok { score: 0 });
    assert_eq!(details(&report), KNOWN_DATA_RESULTS);
}

#[test]
fn helpers_work_with_input_copy_too() {
    // Input copied into memory as well (grown at the end: 2 pages); the helpers still read
    // the host's copy.
    let report = scan_with(json!({}), &scanning(KNOWN_DATA_CHECKS), DATA);
    assert_eq!(run_of(&report, "P").status, RunStatus::Ok { score: 0 });
    assert_eq!(details(&report), KNOWN_DATA_RESULTS);
    // And the plugin sees the data in its memory as always.
    let report = scan_with(
        json!({}),
        &scanning("(call $report_bytes (local.get $ptr) (local.get $len))"),
        DATA,
    );
    assert_eq!(details(&report), [String::from_utf8_lossy(DATA)]);
}

#[test]
fn helpers_work_on_shared_and_borrowed_inputs_alike() {
    let plugins = Plugins::new();
    plugins.add("p", "P", host(), &scanning(KNOWN_DATA_CHECKS));
    let registry = plugins.registry();
    let shared: SharedBytes = std::sync::Arc::new(DATA.to_vec());
    let report = registry.scan(Input::shared(&shared));
    assert_eq!(details(&report), KNOWN_DATA_RESULTS);
    let report = registry.scan(Input::new(DATA));
    assert_eq!(details(&report), KNOWN_DATA_RESULTS);
}

#[test]
fn at_load_the_helpers_see_no_data() {
    let wat = helpers_module(
        r#"(func (export "on_load") (result i32) (i32.wrap_i64 (call $file_size)))
        (func (export "scan") (param i32 i32) (result i32) (i32.wrap_i64 (call $file_size)))"#,
    );
    let report = scan_with(host(), &wat, DATA);
    assert_eq!(run_of(&report, "P").status, RunStatus::Ok { score: 41 });
}

/// Each out-of-range argument traps `scan` with a message naming the helper and the range.
#[test]
fn every_pointer_length_and_offset_is_checked() {
    for (call, expected) in [
        // read: the buffer must lie inside memory (65536 bytes with input: host)
        (
            "(call $read (i64.const 0) (i32.const 65530) (i32.const 10))",
            "plugbox.read buffer: 10 bytes at address 65530 lie outside guest memory (65536 bytes)",
        ),
        (
            "(call $read (i64.const 0) (i32.const 65537) (i32.const 0))",
            "plugbox.read buffer: 0 bytes at address 65537 lie outside guest memory",
        ),
        (
            "(call $read (i64.const 0) (i32.const -1) (i32.const 2))",
            "plugbox.read buffer: 2 bytes at address 4294967295 lie outside guest memory",
        ),
        (
            "(call $read (i64.const 0) (i32.const 0) (i32.const 2147483647))",
            "plugbox.read buffer: 2147483647 bytes at address 0 lie outside guest memory",
        ),
        (
            "(call $read (i64.const 0) (i32.const 0) (i32.const -1))",
            "plugbox.read: buf_len is negative (-1)",
        ),
        (
            "(call $read (i64.const 0) (i32.const 2147483647) (i32.const -2147483648))",
            "plugbox.read: buf_len is negative (-2147483648)",
        ),
        (
            "(call $read (i64.const -1) (i32.const 0) (i32.const 4))",
            "plugbox.read: offset is negative (-1)",
        ),
        (
            "(call $read (i64.const -9223372036854775808) (i32.const 0) (i32.const 4))",
            "plugbox.read: offset is negative (-9223372036854775808)",
        ),
        // find: the needle must lie inside memory, be at most 4096 bytes; `from` >= 0
        (
            "(i32.wrap_i64 (call $find (i32.const 65530) (i32.const 16) (i64.const 0)))",
            "plugbox.find needle: 16 bytes at address 65530 lie outside guest memory (65536 bytes)",
        ),
        (
            "(i32.wrap_i64 (call $find (i32.const -1) (i32.const 1) (i64.const 0)))",
            "plugbox.find needle: 1 bytes at address 4294967295",
        ),
        (
            "(i32.wrap_i64 (call $find (i32.const 1) (i32.const 2147483647) (i64.const 0)))",
            "plugbox.find needle: 2147483647 bytes at address 1 lie outside guest memory",
        ),
        (
            "(i32.wrap_i64 (call $find (i32.const 0) (i32.const -16) (i64.const 0)))",
            "plugbox.find: needle_len is negative (-16)",
        ),
        (
            "(i32.wrap_i64 (call $find (i32.const 0) (i32.const 4097) (i64.const 0)))",
            "plugbox.find: a needle of 4097 bytes is longer than the 4096 bytes accepted",
        ),
        (
            "(i32.wrap_i64 (call $find (i32.const 1100) (i32.const 5) (i64.const -5)))",
            "plugbox.find: from is negative (-5)",
        ),
        (
            "(i32.wrap_i64 (call $find (i32.const 1100) (i32.const 0) (i64.const -9223372036854775808)))",
            "plugbox.find: from is negative (-9223372036854775808)",
        ),
    ] {
        // A finding before the trap is kept; the trap ends the call.
        let wat = helpers_module(&format!(
            r#"(func (export "scan") (param i32 i32) (result i32)
                 (call $report_i64 (i64.const 7)) {call})"#
        ));
        let report = scan_with(host(), &wat, DATA);
        let (kind, stage, reason) = failure_of(&report);
        assert_eq!((kind, stage), (FailureKind::Trap, Stage::Scan), "{call}");
        assert!(
            reason.contains(expected),
            "{call}: expected {expected:?} in {reason:?}"
        );
        assert_eq!(details(&report), ["7"], "{call}");
    }
    // A needle of exactly 4096 bytes, and a buffer up to the very end of memory, are fine.
    let report = scan_with(
        host(),
        &scanning(
            r#"(call $report_i64 (call $find (i32.const 0) (i32.const 4096) (i64.const 0)))
            (call $report_i64 (i64.extend_i32_s (call $read (i64.const 0) (i32.const 65531) (i32.const 5))))
            (call $report_bytes (i32.const 65531) (i32.const 5))"#,
        ),
        DATA,
    );
    assert_eq!(details(&report), ["-1", "5", "hello"]);
}

#[test]
fn wrong_helper_signatures_and_unknown_helpers_are_load_errors() {
    let plugins = Plugins::new();
    plugins.add(
        "typed",
        "Typed",
        host(),
        r#"(module (import "plugbox" "find" (func (param i32 i32 i32) (result i64)))
           (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#,
    );
    plugins.add(
        "unknown",
        "Unknown",
        host(),
        r#"(module (import "plugbox" "mmap" (func (result i32)))
           (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#,
    );
    let registry = plugins.registry();
    let typed = load_error(&registry, "typed");
    assert!(
        typed.contains("import `plugbox.find` has type func (i32, i32, i32) -> (i64); the host provides func (i32, i32, i64) -> (i64)"),
        "{typed}"
    );
    let unknown = load_error(&registry, "unknown");
    assert!(
        unknown.contains("plugbox.mmap") && unknown.contains("plugbox.find"),
        "{unknown}"
    );
}

#[test]
fn command_plugins_cannot_import_the_helpers() {
    let wasm = wat::parse_str(
        r#"(module (import "plugbox" "file_size" (func (result i64)))
           (memory (export "memory") 1) (func (export "_start")))"#,
    )
    .unwrap();
    let error = plugbox::CommandPlugin::from_bytes("cmd", &wasm, plugbox::CommandConfig::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("plugbox.file_size"), "{error}");
}

#[test]
fn a_bad_input_value_is_a_manifest_error() {
    let plugins = Plugins::new();
    plugins.add("p", "P", json!({"input": "mmap"}), &scanning(""));
    plugins.add("q", "Q", json!({"input": 1}), &scanning(""));
    let registry = plugins.registry();
    for dir in ["p", "q"] {
        let error = load_error(&registry, dir);
        assert!(
            error.contains("plugin.json: field `input`") && error.contains(r#""copy" or "host""#),
            "{error}"
        );
    }
    assert!(load_error(&registry, "p").contains(r#"unknown value "mmap""#));
}

/// `"input": "host"`: no `alloc`, `scan(0, 0)`, memory not grown for the data.
#[test]
fn host_input_is_not_copied_and_alloc_is_never_called() {
    let check = r#"(func (export "scan") (param $ptr i32) (param $len i32) (result i32)
        (call $report_i64 (i64.extend_i32_u (local.get $ptr)))
        (call $report_i64 (i64.extend_i32_u (local.get $len)))
        (call $report_i64 (i64.extend_i32_u (memory.size)))
        (call $report_i64 (call $file_size))
        (i32.const 0))"#;
    let with_alloc = helpers_module(&format!(
        r#"(func (export "alloc") (param i32) (result i32) unreachable) {check}"#
    ));
    for wat in [helpers_module(check), with_alloc] {
        let report = scan_with(host(), &wat, DATA);
        let run = run_of(&report, "P");
        assert_eq!(run.status, RunStatus::Ok { score: 0 }, "{run:?}");
        assert_eq!(details(&report), ["0", "0", "1", "41"]);
        assert_eq!(run.peak_memory_bytes, 65536);
    }
    // With input: copy the same trapping alloc fails the run, as always.
    let trapping = helpers_module(&format!(
        r#"(func (export "alloc") (param i32) (result i32) unreachable) {check}"#
    ));
    let (kind, stage, _) = failure_of(&scan_with(json!({}), &trapping, DATA));
    assert_eq!((kind, stage), (FailureKind::Trap, Stage::Transfer));
}

/// 3 MiB with the marker at its end, under a 1 MiB memory cap.
fn big_marked() -> Vec<u8> {
    let mut data = vec![b'x'; 3 << 20];
    data.extend_from_slice(b"MALICIOUS_MARKER");
    data
}

#[test]
fn files_over_the_memory_cap_are_scanned_with_host_input_and_skipped_with_copy() {
    let marker_find = std::fs::read("examples/plugins/marker-find/marker_find.wasm").unwrap();
    let data = big_marked();
    let plugins = Plugins::new();
    for (dir, name, input) in [("host", "Host", "host"), ("copy", "Copy", "copy")] {
        let path = plugins.path().join(dir);
        std::fs::create_dir_all(&path).unwrap();
        let mut manifest = manifest(name);
        manifest["input"] = input.into();
        manifest["permissions"]["max_memory_mb"] = 1.into();
        std::fs::write(path.join("plugin.json"), manifest.to_string()).unwrap();
        std::fs::write(path.join("plugin.wasm"), &marker_find).unwrap();
    }
    let registry = plugins.registry();
    let loaded = registry.plugins();
    let host = loaded.iter().find(|p| p.name() == "Host").unwrap();
    assert_eq!(host.input_mode(), InputMode::Host);
    assert_eq!(
        host.max_input_bytes(),
        plugbox::limits::MAX_HOST_INPUT_BYTES
    );
    assert_eq!(
        registry.max_input_bytes(),
        plugbox::limits::MAX_HOST_INPUT_BYTES
    );
    let report = scan(&registry, &data);
    assert_eq!(run_of(&report, "Host").status, RunStatus::Ok { score: 85 });
    assert!(run_of(&report, "Host").peak_memory_bytes <= 1 << 20);
    assert_eq!(threats_of(&report, "Host"), ["Custom.MaliciousMarker"]);
    match &run_of(&report, "Copy").status {
        RunStatus::Skipped { reason } => {
            assert!(
                reason.contains("more than the plugin's memory cap"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A guest that calls `find` in a loop on data without a match ends at its deadline.
#[test]
fn a_guest_looping_on_find_ends_at_its_deadline() {
    let data = vec![b'x'; 8 << 20];
    let wat = scanning(
        "(loop $l (drop (call $find (i32.const 1120) (i32.const 16) (i64.const 0))) (br $l))",
    );
    assert_times_out(200, &wat, &data, "a find loop");
}

/// Scans `data` with a host-input plugin `wat` under a budget of `ms` and asserts the scan
/// ended as a timeout, within the budget (with the suite's slack).
fn assert_times_out(ms: u64, wat: &str, data: &[u8], what: &str) {
    let started = Instant::now();
    let report = scan_with(
        json!({"input": "host", "permissions": {"max_exec_ms": ms}}),
        wat,
        data,
    );
    assert_within_budget(started.elapsed(), Duration::from_millis(ms), what);
    let (kind, stage, reason) = failure_of(&report);
    assert_eq!(
        (kind, stage),
        (FailureKind::Timeout, Stage::Scan),
        "{reason}"
    );
}

/// One `find` call whose every position is a candidate that fails half-way along a
/// 4096-byte needle: billions of byte comparisons, cut at the deadline.
#[test]
fn one_slow_find_call_ends_at_its_deadline() {
    let data = vec![b'a'; 32 << 20];
    let wat = scanning(
        r#"(memory.fill (i32.const 8192) (i32.const 97) (i32.const 4096))
           (i32.store8 (i32.const 10240) (i32.const 98))
           (drop (call $find (i32.const 8192) (i32.const 4096) (i64.const 0)))"#,
    );
    assert_times_out(100, &wat, &data, "one slow find");
}

#[test]
fn a_cancelled_scan_stops_a_slow_find() {
    let data = vec![b'a'; 32 << 20];
    let wat = scanning(
        r#"(memory.fill (i32.const 8192) (i32.const 97) (i32.const 4096))
           (i32.store8 (i32.const 10240) (i32.const 98))
           (loop $l (drop (call $find (i32.const 8192) (i32.const 4096) (i64.const 0))) (br $l))"#,
    );
    let plugins = Plugins::new();
    plugins.add(
        "p",
        "P",
        json!({"input": "host", "permissions": {"max_exec_ms": 60000}}),
        &wat,
    );
    let registry = plugins.registry();
    let (cancel, canceller) = cancel_after(Duration::from_millis(100));
    let started = Instant::now();
    let report = registry.scan_cancellable(Input::new(&data), &cancel);
    canceller.join().unwrap();
    assert_within_budget(
        started.elapsed(),
        Duration::from_millis(100),
        "a cancelled find",
    );
    assert_eq!(failure_of(&report).0, FailureKind::Cancelled);
}

// ---- the bundled example

fn marker_find() -> Registry {
    let registry = Registry::new(HostConfig::default());
    registry
        .load_plugin("examples/plugins/marker-find".as_ref())
        .unwrap();
    registry
}

#[test]
fn marker_find_reports_like_marker_scanner() {
    let registry = marker_find();
    let plugin = &registry.plugins()[0];
    assert_eq!(plugin.input_mode(), InputMode::Host);
    assert_eq!(plugin.grants().max_memory_mb, 16);
    let marked = std::fs::read("examples/samples/marked.txt").unwrap();
    let report = registry.scan(Input::new(&marked));
    let scanner = Registry::new(HostConfig::default());
    scanner
        .load_plugin("examples/plugins/marker-scanner".as_ref())
        .unwrap();
    let expected = scanner.scan(Input::new(&marked));
    let shape = |report: &plugbox::ScanReport| {
        report
            .findings
            .iter()
            .map(|f| (f.threat.clone(), f.score, f.detail.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&report), shape(&expected));
    assert_eq!(shape(&report).len(), 1);
    assert_eq!(report.findings[0].plugin, "Marker Find");
    let clean = std::fs::read("examples/samples/clean.txt").unwrap();
    let report = registry.scan(Input::new(&clean));
    assert!(report.findings.is_empty(), "{report:?}");
    assert_eq!(
        run_of(&report, "Marker Find").status,
        RunStatus::Ok { score: 0 }
    );
}

#[test]
fn committed_marker_find_wasm_matches_its_wat_source() {
    let dir = std::path::Path::new("examples/plugins/marker-find");
    let built = wat::parse_file(dir.join("marker_find.wat")).unwrap();
    let committed = std::fs::read(dir.join("marker_find.wasm")).unwrap();
    assert!(
        built == committed,
        "marker_find.wasm is stale: run examples/build.sh"
    );
}

#[test]
fn plugbox_scan_finds_the_marker_at_the_end_of_a_file_over_the_memory_cap() {
    use cli_common::{plugbox, text};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    let mut data = vec![b'x'; 20 << 20];
    data.extend_from_slice(b"MALICIOUS_MARKER");
    std::fs::write(&path, &data).unwrap();
    let shown = path.to_str().unwrap();
    let out = plugbox(&["scan", "--plugins", "examples/plugins/marker-find", shown]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        stdout,
        format!(
            "{shown}: Custom.MaliciousMarker [score 85] by 'Marker Find': Found MALICIOUS_MARKER string in file data\n"
        )
    );
    assert!(
        text(&out.stderr).contains("1 files scanned with 1 plugins"),
        "{}",
        text(&out.stderr)
    );
    // A --max-file-size below the file still keeps it unread.
    let out = plugbox(&[
        "scan",
        "--max-file-size",
        "1M",
        "--plugins",
        "examples/plugins/marker-find",
        shown,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the --max-file-size limit"));
}
