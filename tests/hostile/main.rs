//! Hostile plugins (issue 5): every way a plugin can misbehave ends with that plugin's call
//! reported (plugin, stage, reason), the host unharmed, and a well-behaved plugin loaded
//! beside it still reporting its finding. One test per hostile module.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use plugbox::{FailureKind, FailureKind::*, PluginRun, RunStatus, ScanReport, Stage, Stage::*};
use serde_json::{Value, json};

/// What a hostile plugin must come to.
enum Expect {
    /// Refused at load; the error contains the text.
    Load(&'static str),
    /// Loaded; its scan fails with this kind, at this stage, with the text in the reason.
    Fails(FailureKind, Stage, &'static str),
    /// Loaded; its scan returns this (clamped) score, and the check passes.
    Scores(u32, fn(&PluginRun, &ScanReport)),
}

fn no_check(_: &PluginRun, _: &ScanReport) {}

/// Loads `wat` as plugin `Hostile` (manifest `overrides`) beside the good plugin, scans the
/// marked sample, and checks `expect` and the good plugin's finding.
fn run(overrides: Value, wat: &str, expect: Expect) {
    let plugins = Plugins::new();
    plugins.add("hostile", "Hostile", overrides, wat);
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    let report = scan(&registry, MARKED);
    assert_good_found_marker(&report);
    match expect {
        Expect::Load(text) => {
            let error = load_error(&registry, "hostile");
            assert!(error.contains(text), "expected {text:?} in: {error}");
        }
        Expect::Fails(kind, stage, text) => {
            let run = run_of(&report, "Hostile");
            let failure = run
                .failure()
                .unwrap_or_else(|| panic!("did not fail: {run:?}"));
            assert_eq!((failure.kind, failure.stage), (kind, stage), "{failure}");
            assert!(
                failure.reason.contains(text),
                "expected {text:?} in: {failure}"
            );
        }
        Expect::Scores(score, check) => {
            let run = run_of(&report, "Hostile");
            assert_eq!(run.status, RunStatus::Ok { score }, "{run:?}");
            check(run, &report);
        }
    }
}

const SCAN0: &str = r#"(func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#;
const LOOP: &str = "(loop $l (br $l))";

fn budget(ms: u32) -> Value {
    json!({"permissions": {"max_exec_ms": ms}})
}

fn cap(mb: u32) -> Value {
    json!({"permissions": {"max_memory_mb": mb}})
}

macro_rules! hostile {
    ($($name:ident: $overrides:expr, $wat:expr => $expect:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run($overrides, &$wat, $expect);
            }
        )*
    };
}

// After the macro, which it uses.
mod command;
mod environment;
mod helpers;
mod host_calls;

hostile! {
    // ---- endless loops, at every entry point
    loop_in_scan: budget(100), scan_module(&format!("{LOOP} (i32.const 0)"))
        => Expect::Fails(Timeout, Scan, "time budget of 100 ms");
    loop_in_on_load: budget(100), module(1, &format!(r#"(func (export "on_load") (result i32) {LOOP} (i32.const 0)) {SCAN0}"#))
        => Expect::Load("on_load failed: exceeded its time budget of 100 ms");
    loop_in_initialize: budget(100), module(1, &format!(r#"(func (export "_initialize") {LOOP}) {SCAN0}"#))
        => Expect::Load("_initialize failed: exceeded its time budget of 100 ms");
    loop_in_start_function: budget(100), module(1, &format!(r#"(func $s {LOOP}) (start $s) {SCAN0}"#))
        => Expect::Load("instantiation failed: exceeded its time budget of 100 ms");
    loop_in_alloc: budget(100), module(1, &format!(r#"(func (export "alloc") (param i32) (result i32) {LOOP} (i32.const 0)) {SCAN0}"#))
        => Expect::Fails(Timeout, Transfer, "time budget of 100 ms");
    loop_in_plugin_name: budget(100), module(1, &format!(r#"(func (export "plugin_name") (param i32 i32) (result i32) {LOOP} (i32.const 0)) {SCAN0}"#))
        => Expect::Load("plugin_name/plugin_version failed: exceeded its time budget");

    // ---- memory and tables
    memory_grow_loop_stops_at_the_cap: cap(2), scan_module(
        "(block $d (loop $l (br_if $d (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l))) (memory.size)")
        => Expect::Scores(32, |run, _| assert_eq!(run.peak_memory_bytes, 2 << 20));
    memory_grow_past_the_cap_at_once: cap(2), scan_module("(i32.eq (memory.grow (i32.const 65535)) (i32.const -1))")
        => Expect::Scores(1, |run, _| assert!(run.peak_memory_bytes <= 2 << 20));
    huge_declared_initial_memory: json!({}), module(65536, SCAN0)
        => Expect::Load("needs 4294967296 bytes of linear memory; the plugin's cap is 16777216 bytes");
    table_growth_bomb: json!({}), module(1, r#"(table 1 funcref)
        (func (export "scan") (param i32 i32) (result i32) (i32.eq (table.grow (ref.null func) (i32.const 50000000)) (i32.const -1)))"#)
        => Expect::Scores(1, no_check);
    huge_declared_table: json!({}), module(1, &format!("(table 10000000 funcref) {SCAN0}"))
        => Expect::Load("needs 10000000 table elements; the cap is 100000 elements");
    data_segment_out_of_bounds: json!({}), module(1, &format!(r#"(data (i32.const 0xFFFFFFF0) "0123456789abcdefXX") {SCAN0}"#))
        => Expect::Load("instantiation failed: out of bounds memory access");
    element_segment_out_of_bounds: json!({}), module(1, &format!("(table 10 funcref) (func $f) (elem (i32.const 0xFFFFFF) $f $f) {SCAN0}"))
        => Expect::Load("instantiation failed: out of bounds table access");
    huge_passive_data_segment: json!({}), module(1, &format!(
        r#"(data $big "{}") (func (export "scan") (param i32 i32) (result i32) (memory.init $big (i32.const 0) (i32.const 0) (i32.const 4194304)) (i32.const 0))"#,
        "\\00".repeat(4 << 20)))
        => Expect::Fails(Trap, Scan, "out of bounds memory access");
    second_memory: json!({}), module(1, &format!("(memory $two 1) {SCAN0}"))
        => Expect::Load("exceeds the limit of 1 memories");
    memory_fill_storm: budget(100), scan_module(
        "(drop (memory.grow (i32.const 200))) (loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 13107200)) (br $l)) (i32.const 0)")
        => Expect::Fails(Timeout, Scan, "time budget of 100 ms");

    // ---- the call stack and indirect calls
    deep_recursion: json!({}), module(1, r#"(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))
        (func (export "scan") (param i32 i32) (result i32) (call $down (i32.const 0)))"#)
        => Expect::Fails(Trap, Scan, "stack");
    mutual_recursion: json!({}), module(1, r#"(func $ping (result i32) (call $pong)) (func $pong (result i32) (call $ping))
        (func (export "scan") (param i32 i32) (result i32) (call $ping))"#)
        => Expect::Fails(Trap, Scan, "stack");
    call_indirect_to_null: json!({}), module(1, r#"(type $t (func (result i32))) (table 2 funcref)
        (func (export "scan") (param i32 i32) (result i32) (call_indirect (type $t) (i32.const 1)))"#)
        => Expect::Fails(Trap, Scan, "uninitialized element");
    call_indirect_with_the_wrong_signature: json!({}), module(1, r#"(type $t (func (result i32))) (table 2 funcref)
        (func $f (param i32)) (elem (i32.const 0) $f)
        (func (export "scan") (param i32 i32) (result i32) (call_indirect (type $t) (i32.const 0)))"#)
        => Expect::Fails(Trap, Scan, "indirect call type mismatch");
    integer_divide_by_zero: json!({}), scan_module("(i32.div_s (i32.const 1) (i32.const 0))")
        => Expect::Fails(Trap, Scan, "integer divide by zero");
    unreachable_in_scan: json!({}), scan_module("unreachable")
        => Expect::Fails(Trap, Scan, "unreachable");

    // ---- env imports with bad pointers (memory is 2 pages once the file is in)
    report_finding_name_out_of_bounds: json!({}), scan_module(
        "(call $report_finding (i32.const 131070) (i32.const 10) (i32.const 1) (i32.const 0) (i32.const 0)) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "report_finding threat name: 10 bytes at address 131070 lie outside guest memory");
    report_finding_wrapping_pointer: json!({}), scan_module(
        "(call $report_finding (i32.const -1) (i32.const 2) (i32.const 1) (i32.const 0) (i32.const 0)) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "report_finding threat name: 2 bytes at address 4294967295");
    report_finding_negative_length: json!({}), scan_module(
        "(call $report_finding (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const -1)) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "report_finding detail: 4294967295 bytes");
    log_message_huge_length: json!({}), scan_module(
        "(call $log_message (i32.const 2) (i32.const 16) (i32.const 2147483647)) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "log_message message");
    get_file_path_out_of_bounds: json!({}), scan_module(
        "(drop (call $get_file_path (i32.const 131071) (i32.const 2))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "get_file_path buffer");
    get_file_type_wrapping: json!({}), scan_module(
        "(drop (call $get_file_type (i32.const 2147483647) (i32.const 2147483647))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "get_file_type buffer");

    // ---- floods
    report_finding_flood: json!({}), scan_module(
        "(local $i i32) (loop $l (call $report_finding (i32.const 0) (i32.const 11) (i32.const 40) (i32.const 16) (i32.const 6))
           (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100000)))) (i32.const 40)")
        => Expect::Scores(40, |run, report| {
            assert_eq!(threats_of(report, "Hostile").len(), plugbox::limits::MAX_FINDINGS_PER_SCAN);
            assert_eq!(run.dropped.findings, 99_000);
        });
    log_message_flood: json!({}), scan_module(
        "(local $i i32) (loop $l (call $log_message (i32.const 4) (i32.const 0) (i32.const 4096))
           (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100000)))) (i32.const 0)")
        => Expect::Scores(0, |run, _| {
            // 15 messages fit whole with their "[Hostile] " prefix, the 16th is cut.
            assert_eq!(run.dropped.log_messages, 100_000 - 16);
            let kept = plugbox::limits::MAX_LOG_BYTES_PER_SCAN as u64 - 16 * 10;
            assert_eq!(run.dropped.log_bytes, 100_000 * 4096 - kept);
        });

    // ---- alloc
    alloc_returns_an_out_of_bounds_pointer: json!({}), module(1, &format!(r#"(func (export "alloc") (param i32) (result i32) (i32.const 70000)) {SCAN0}"#))
        => Expect::Fails(Abi, Transfer, "alloc(30) returned address 70000 but guest memory is 65536 bytes");
    alloc_returns_a_range_past_the_end: json!({}), module(1, &format!(r#"(func (export "alloc") (param i32) (result i32) (i32.const 65520)) {SCAN0}"#))
        => Expect::Fails(Abi, Transfer, "alloc(30) returned address 65520");
    alloc_returns_null: json!({}), module(1, &format!(r#"(func (export "alloc") (param i32) (result i32) (i32.const 0)) {SCAN0}"#))
        => Expect::Fails(Abi, Transfer, "alloc(30) returned a null pointer");
    alloc_traps: json!({}), module(1, &format!(r#"(func (export "alloc") (param i32) (result i32) unreachable) {SCAN0}"#))
        => Expect::Fails(Trap, Transfer, "unreachable");

    // ---- scores and names
    negative_score: json!({}), scan_module("(i32.const -2147483648)")
        => Expect::Scores(0, |_, report| assert!(threats_of(report, "Hostile").is_empty()));
    score_above_100: json!({}), scan_module("(i32.const 2147483647)")
        => Expect::Scores(100, |_, report| {
            assert_eq!(threats_of(report, "Hostile"), ["Plugin.Hostile"]);
            assert_eq!(report.findings[0].score, 100);
        });
    plugin_name_claims_a_huge_length: json!({}), module(1, &format!(r#"(data (i32.const 0) "Claimed Name")
        (func (export "plugin_name") (param $buf i32) (param $len i32) (result i32)
          (memory.copy (local.get $buf) (i32.const 0) (i32.const 12)) (i32.const 2147483647)) {SCAN0}"#))
        => Expect::Scores(0, no_check);
    plugin_name_claims_a_negative_length: json!({}), module(1, &format!(r#"(func (export "plugin_name") (param i32 i32) (result i32) (i32.const -5)) {SCAN0}"#))
        => Expect::Scores(0, no_check);

    // ---- exports
    memory_exported_under_another_name: json!({}), format!(r#"(module (memory (export "mem") 1) {SCAN0})"#)
        => Expect::Load("missing required export `memory`");
    no_memory_at_all: json!({}), format!("(module {SCAN0})")
        => Expect::Load("missing required export `memory`");
}

#[test]
fn plugin_name_lengths_are_bounded_when_read() {
    let plugins = Plugins::new();
    plugins.add(
        "claims",
        "Claims",
        json!({}),
        &module(
            1,
            &format!(
                r#"(func (export "plugin_name") (param $buf i32) (param $len i32) (result i32)
                  (memory.fill (local.get $buf) (i32.const 65) (local.get $len)) (i32.const 2147483647))
                (func (export "plugin_version") (param i32 i32) (result i32) (i32.const -5)) {SCAN0}"#
            ),
        ),
    );
    let registry = plugins.registry();
    let plugin = &registry.plugins()[0];
    assert_eq!(plugin.guest_name().unwrap(), "A".repeat(256));
    assert_eq!(plugin.guest_version(), Some(""));
}
