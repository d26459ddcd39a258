//! The sandbox's limits (CONTRACT §5): time, memory, stack. Each hostile plugin sits beside a
//! well-behaved one that must still report its finding.

mod common;

use std::time::{Duration, Instant};

use common::*;
use plugbox::{FailureKind, RunStatus, Stage};
use serde_json::json;

const LOOP: &str = "(loop $l (br $l))";

fn failure_of(report: &plugbox::ScanReport, plugin: &str) -> plugbox::Failure {
    run_of(report, plugin)
        .failure()
        .unwrap_or_else(|| panic!("{plugin} did not fail: {report:?}"))
        .clone()
}

#[test]
fn endless_loop_in_scan_ends_as_a_timeout_within_twice_the_budget() {
    let plugins = Plugins::new();
    plugins.add(
        "loop",
        "Loop",
        json!({"permissions": {"max_exec_ms": 200}}),
        &scan_module(&format!("{LOOP} (i32.const 0)")),
    );
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    let started = Instant::now();
    let report = scan(&registry, MARKED);
    let elapsed = started.elapsed();
    let failure = failure_of(&report, "Loop");
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(failure.stage, Stage::Scan);
    assert!(failure.reason.contains("200 ms"), "{failure}");
    // `elapsed` covers both plugins and the Loop plugin's instantiation: an upper bound.
    let budget = Duration::from_millis(200);
    assert!(elapsed >= budget, "stopped early: {elapsed:?}");
    assert_within_budget(elapsed, budget, "an endless loop");
    eprintln!(
        "timeout overshoot: at most {:?} over a 200 ms budget",
        elapsed - budget
    );
    assert_good_found_marker(&report);
}

#[test]
fn endless_loop_in_alloc_ends_as_a_timeout() {
    let plugins = Plugins::new();
    plugins.add(
        "loop",
        "LoopAlloc",
        json!({"permissions": {"max_exec_ms": 100}}),
        &module(
            1,
            &format!(
                r#"(func (export "alloc") (param i32) (result i32) {LOOP} (i32.const 0))
                (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#
            ),
        ),
    );
    plugins.add_good("zz-good");
    let report = scan(&plugins.registry(), MARKED);
    let failure = failure_of(&report, "LoopAlloc");
    assert_eq!(
        (failure.kind, failure.stage),
        (FailureKind::Timeout, Stage::Transfer)
    );
    assert_good_found_marker(&report);
}

fn loops_at_load(export: &str, signature: &str) -> String {
    module(
        1,
        &format!(
            r#"(func (export "{export}") {signature} {LOOP} {})
            (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#,
            if signature.contains("result") {
                "(i32.const 0)"
            } else {
                ""
            }
        ),
    )
}

#[test]
fn endless_loops_at_load_are_timeouts_and_do_not_stop_other_plugins() {
    let plugins = Plugins::new();
    let budget = json!({"permissions": {"max_exec_ms": 100}});
    plugins.add(
        "on-load",
        "OnLoad",
        budget.clone(),
        &loops_at_load("on_load", "(result i32)"),
    );
    plugins.add(
        "initialize",
        "Init",
        budget.clone(),
        &loops_at_load("_initialize", ""),
    );
    plugins.add(
        "name",
        "Name",
        budget.clone(),
        &loops_at_load("plugin_name", "(param i32 i32) (result i32)"),
    );
    plugins.add(
        "start",
        "Start",
        budget,
        &module(
            1,
            &format!(
                r#"(func $start {LOOP}) (start $start)
                (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#
            ),
        ),
    );
    plugins.add_good("zz-good");
    let started = Instant::now();
    let registry = plugins.registry();
    let elapsed = started.elapsed();
    for (dir, stage) in [
        ("on-load", "on_load"),
        ("initialize", "_initialize"),
        ("name", "plugin_name/plugin_version"),
        ("start", "instantiation"),
    ] {
        let error = load_error(&registry, dir);
        assert!(
            error.contains(&format!(
                "{stage} failed: exceeded its time budget of 100 ms"
            )),
            "{dir}: {error}"
        );
    }
    // Four plugins, each stopped at its 100 ms budget.
    assert_within_budget(
        elapsed,
        4 * Duration::from_millis(100),
        "loading four loops",
    );
    assert_eq!(registry.plugins().len(), 1);
    assert_good_found_marker(&scan(&registry, MARKED));
}

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    // Cap 1 MiB = 16 pages. The host grows 1 page for the file, so 14 more fit and the next
    // one is refused. Score: 10 if the first grow worked, +20 if the second returned -1.
    let plugins = Plugins::new();
    plugins.add(
        "grow",
        "Grow",
        json!({"permissions": {"max_memory_mb": 1}}),
        &scan_module(
            "(i32.add
               (select (i32.const 10) (i32.const 0) (i32.ne (memory.grow (i32.const 14)) (i32.const -1)))
               (select (i32.const 20) (i32.const 0) (i32.eq (memory.grow (i32.const 1)) (i32.const -1))))",
        ),
    );
    plugins.add_good("zz-good");
    let report = scan(&plugins.registry(), MARKED);
    assert_eq!(run_of(&report, "Grow").status, RunStatus::Ok { score: 30 });
    assert_eq!(run_of(&report, "Grow").peak_memory_bytes, 1 << 20);
    assert_good_found_marker(&report);
}

#[test]
fn growing_in_a_loop_stops_at_the_cap() {
    let plugins = Plugins::new();
    plugins.add(
        "bomb",
        "Bomb",
        json!({"permissions": {"max_memory_mb": 2}}),
        &scan_module(
            "(block $done (loop $l (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
             (memory.size)",
        ),
    );
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(
        run_of(&report, "Bomb").status,
        RunStatus::Ok { score: 32 }.clamped()
    );
    assert_eq!(run_of(&report, "Bomb").peak_memory_bytes, 2 << 20);
}

trait Clamped {
    fn clamped(self) -> Self;
}
impl Clamped for RunStatus {
    fn clamped(self) -> Self {
        match self {
            RunStatus::Ok { score } => RunStatus::Ok {
                score: score.min(100),
            },
            other => other,
        }
    }
}

#[test]
fn declared_initial_memory_above_the_cap_is_refused_at_load() {
    let plugins = Plugins::new();
    plugins.add(
        "big",
        "Big",
        json!({"permissions": {"max_memory_mb": 1}}),
        &module(
            17,
            r#"(func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#,
        ),
    );
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    let error = load_error(&registry, "big");
    assert!(
        error.contains("needs 1114112 bytes of linear memory") && error.contains("cap is 1048576"),
        "{error}"
    );
    assert_good_found_marker(&scan(&registry, MARKED));
}

#[test]
fn file_larger_than_the_cap_is_skipped_for_that_plugin_only() {
    let plugins = Plugins::new();
    plugins.add(
        "small",
        "Small",
        json!({"permissions": {"max_memory_mb": 1}}),
        MARKER_WAT,
    );
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    let mut big = vec![b'.'; 2 << 20];
    big[1 << 20..(1 << 20) + 16].copy_from_slice(b"MALICIOUS_MARKER");
    let report = scan(&registry, &big);
    match &run_of(&report, "Small").status {
        RunStatus::Skipped { reason } => {
            assert!(
                reason.contains("2097152 bytes") && reason.contains("max_memory_mb = 1"),
                "{reason}"
            )
        }
        other => panic!("expected a skip, got {other:?}"),
    }
    assert_good_found_marker(&report);
}

#[test]
fn file_that_fits_the_cap_but_not_beside_the_module_is_skipped() {
    // 15 of 16 allowed pages are the module's own; a 100 KB file needs 2 more.
    let plugins = Plugins::new();
    plugins.add(
        "tight",
        "Tight",
        json!({"permissions": {"max_memory_mb": 1}}),
        &module(
            15,
            r#"(func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#,
        ),
    );
    let report = scan(&plugins.registry(), &vec![0u8; 100_000]);
    match &run_of(&report, "Tight").status {
        RunStatus::Skipped { reason } => assert!(reason.contains("cap is 1048576"), "{reason}"),
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[test]
fn deep_recursion_traps_and_the_host_lives() {
    let plugins = Plugins::new();
    plugins.add(
        "rec",
        "Recursion",
        json!({}),
        &module(
            1,
            r#"(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))
            (func $ping (param i32) (result i32) (call $pong (local.get 0)))
            (func $pong (param i32) (result i32) (call $ping (local.get 0)))
            (func (export "scan") (param $ptr i32) (param $len i32) (result i32)
              (if (result i32) (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 77))
                (then (call $ping (i32.const 0)))
                (else (call $down (i32.const 0)))))"#,
        ),
    );
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    for data in [&b"direct"[..], MARKED, b"Mutual"] {
        let report = scan(&registry, data);
        let failure = failure_of(&report, "Recursion");
        assert_eq!(failure.kind, FailureKind::Trap);
        assert!(failure.reason.contains("stack"), "{failure}");
    }
    assert_good_found_marker(&scan(&registry, MARKED));
}

#[test]
fn table_growth_is_capped() {
    let plugins = Plugins::new();
    plugins.add(
        "table",
        "Table",
        json!({}),
        &module(
            1,
            r#"(table 0 funcref)
            (func (export "scan") (param i32 i32) (result i32)
              (i32.eq (table.grow (ref.null func) (i32.const 1000000)) (i32.const -1)))"#,
        ),
    );
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(run_of(&report, "Table").status, RunStatus::Ok { score: 1 });
}

/// Regression: under lazy translation, wasmi 2.0 reports running out of fuel while
/// translating a callee as a non-resumable error (wasmi PR #2032), so a sliced call into a
/// large function failed at once as a "timeout". Modules are now compiled eagerly at load.
#[test]
fn a_call_into_a_large_function_survives_fuel_slicing() {
    let big_body = "(local.set $x (i32.add (local.get $x) (i32.const 1)))".repeat(20_000);
    let plugins = Plugins::new();
    plugins.add(
        "big",
        "Big",
        json!({}),
        &module(
            1,
            &format!(
                r#"(func $big (param $x i32) (result i32) {big_body} (local.get $x))
                (func (export "scan") (param i32 i32) (result i32) (call $big (i32.const 0)) (drop) (i32.const 5))"#
            ),
        ),
    );
    let report = scan(&plugins.registry(), b"x");
    assert_eq!(
        run_of(&report, "Big").status,
        RunStatus::Ok { score: 5 },
        "{report:?}"
    );
}

/// The start function is moved into an export at load and runs under sliced fuel like any
/// other call, so it ends near its budget.
#[test]
fn endless_start_function_ends_near_its_budget() {
    let plugins = Plugins::new();
    plugins.add(
        "start",
        "Start",
        json!({"permissions": {"max_exec_ms": 200}}),
        &module(
            1,
            &format!(
                r#"(func $start {LOOP}) (start $start)
                (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#
            ),
        ),
    );
    let started = Instant::now();
    let registry = plugins.registry();
    let elapsed = started.elapsed();
    assert!(
        load_error(&registry, "start")
            .contains("instantiation failed: exceeded its time budget of 200 ms")
    );
    assert!(
        elapsed >= Duration::from_millis(200),
        "stopped early: {elapsed:?}"
    );
    assert_within_budget(
        elapsed,
        Duration::from_millis(200),
        "an endless start function",
    );
    eprintln!("start-function timeout: {elapsed:?} for a 200 ms budget");
}
