//! What an embedder relies on beyond the contract: the host's ceilings on every plugin,
//! cancelling a scan from another thread, typed inputs, and outcome accessors.

mod common;

use std::time::{Duration, Instant};

use common::*;
use plugbox::{CancelHandle, FailureKind, HostConfig, Input, Registry, Stage};
use serde_json::json;

const LOOP: &str = "(loop $l (br $l))";

/// A plugin that grows its memory to `pages` 64 KiB pages in `scan`; returns 1 if it could.
fn grower(pages: u32) -> String {
    scan_module(&format!(
        "(if (i32.eq (memory.grow (i32.const {pages})) (i32.const -1)) (then (return (i32.const 0)))) (i32.const 1)"
    ))
}

fn registry_with(plugins: &Plugins, config: HostConfig) -> Registry {
    let registry = Registry::new(config);
    registry.load_dir(plugins.path()).unwrap();
    registry
}

#[test]
fn the_memory_ceiling_lowers_what_a_manifest_asks_for() {
    let plugins = Plugins::new();
    // Asks for 64 MiB and grows by 32 MiB: allowed by its manifest, not by the host.
    plugins.add(
        "grower",
        "Grower",
        json!({"permissions": {"max_memory_mb": 64}}),
        &grower(512),
    );
    let unlimited = plugins.registry();
    assert_eq!(unlimited.plugins()[0].grants().max_memory_mb, 64);
    assert_eq!(run_of(&scan(&unlimited, b"x"), "Grower").score(), Some(1));

    let capped = registry_with(&plugins, HostConfig::default().with_max_memory_mb(16));
    let plugin = &capped.plugins()[0];
    assert_eq!(plugin.manifest().permissions().max_memory_mb, 64);
    assert_eq!(plugin.grants().max_memory_mb, 16);
    let report = scan(&capped, b"x");
    let run = run_of(&report, "Grower");
    assert_eq!(
        run.score(),
        Some(0),
        "the growth past 16 MiB must fail: {run:?}"
    );
    assert!(run.peak_memory_bytes <= 16 << 20, "{run:?}");
}

#[test]
fn the_time_ceiling_lowers_what_a_manifest_asks_for() {
    let plugins = Plugins::new();
    plugins.add(
        "loop",
        "Loop",
        json!({"permissions": {"max_exec_ms": 600000}}),
        &scan_module(&format!("{LOOP} (i32.const 0)")),
    );
    let registry = registry_with(&plugins, HostConfig::default().with_max_exec_ms(100));
    assert_eq!(registry.plugins()[0].grants().max_exec_ms, 100);
    let started = Instant::now();
    let report = scan(&registry, b"x");
    assert_within_budget(
        started.elapsed(),
        Duration::from_millis(100),
        "a capped loop",
    );
    let failure = run_of(&report, "Loop").failure().unwrap().clone();
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(failure.reason.contains("100 ms"), "{failure}");
}

#[test]
fn a_host_can_refuse_every_plugin_its_directory() {
    let plugins = Plugins::new();
    // path_open of "plugin.json" in the preopen (fd 3): 0 when it opens, an errno otherwise.
    let body = format!(
        r#"{imports}
  (memory (export "memory") 1)
  (data (i32.const 0) "plugin.json")
  (func (export "scan") (param i32 i32) (result i32)
    (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 11)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 64))
    (i32.eqz)
    (if (result i32) (then (i32.const 50)) (else (i32.const 0))))"#,
        imports = wasi_imports(|name| name == "path_open")
    );
    plugins.add(
        "reader",
        "Reader",
        json!({"permissions": {"filesystem": true}}),
        &format!("(module {body})"),
    );
    let granted = plugins.registry();
    assert!(granted.plugins()[0].grants().filesystem);
    assert_eq!(run_of(&scan(&granted, b"x"), "Reader").score(), Some(50));

    let refused = registry_with(&plugins, HostConfig::default().with_filesystem(false));
    let plugin = &refused.plugins()[0];
    assert!(plugin.manifest().permissions().filesystem && !plugin.grants().filesystem);
    assert_eq!(run_of(&scan(&refused, b"x"), "Reader").score(), Some(0));
}

#[test]
fn ceilings_stay_within_what_manifests_may_ask_for() {
    let config = HostConfig::default()
        .with_max_memory_mb(0)
        .with_max_exec_ms(u32::MAX);
    assert_eq!(
        config.max_memory_mb(),
        plugbox::limits::MAX_MEMORY_MB_RANGE.0
    );
    assert_eq!(config.max_exec_ms(), plugbox::limits::MAX_EXEC_MS_RANGE.1);
}

#[test]
fn cancelling_ends_a_running_scan_promptly_and_keeps_earlier_findings() {
    let plugins = Plugins::new();
    plugins.add_good("a-good");
    plugins.add(
        "b-loop",
        "Loop",
        json!({"permissions": {"max_exec_ms": 600000}}),
        &scan_module(&format!("{LOOP} (i32.const 0)")),
    );
    plugins.add_good_named("c-good", "Later");
    let registry = plugins.registry();
    // Long enough for the first plugin to finish and the loop to start, even on a loaded CI.
    let (cancel, canceller) = cancel_after(Duration::from_millis(500));
    let started = Instant::now();
    let report = registry.scan_cancellable(Input::new(MARKED), &cancel);
    let elapsed = started.elapsed();
    canceller.join().unwrap();
    // Without the cancellation the loop would run for ten minutes.
    assert_within_budget(elapsed, Duration::from_millis(500), "a cancelled scan");
    assert_good_found_marker(&report);
    let failure = run_of(&report, "Loop").failure().unwrap();
    assert_eq!(failure.kind, FailureKind::Cancelled);
    assert_eq!(failure.stage, Stage::Scan);
    let later = run_of(&report, "Later").failure().unwrap();
    assert_eq!(later.kind, FailureKind::Cancelled);
    assert!(later.reason.contains("before this plugin ran"), "{later}");
    assert!(threats_of(&report, "Later").is_empty());
    assert_eq!(report.failures().count(), 2);
    assert!(!report.is_complete());
}

#[test]
fn cancelling_wakes_a_plugin_sleeping_in_poll_oneoff() {
    let plugins = Plugins::new();
    // One clock subscription of 60 s (relative), then return 1.
    let body = format!(
        r#"{imports}
  (memory (export "memory") 1)
  (func (export "scan") (param i32 i32) (result i32)
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 60000000000))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.const 1))"#,
        imports = wasi_imports(|name| name == "poll_oneoff")
    );
    plugins.add(
        "sleeper",
        "Sleeper",
        json!({"permissions": {"max_exec_ms": 600000}}),
        &format!("(module {body})"),
    );
    let registry = plugins.registry();
    let (cancel, canceller) = cancel_after(Duration::from_millis(200));
    let started = Instant::now();
    let report = registry.scan_cancellable(Input::new(b"x"), &cancel);
    canceller.join().unwrap();
    assert_within_budget(
        started.elapsed(),
        Duration::from_millis(200),
        "a cancelled sleep",
    );
    let failure = run_of(&report, "Sleeper").failure().unwrap();
    assert_eq!(failure.kind, FailureKind::Cancelled, "{failure}");
}

#[test]
fn a_timeout_under_a_cancel_handle_stays_a_timeout() {
    let plugins = Plugins::new();
    plugins.add(
        "loop",
        "Loop",
        json!({"permissions": {"max_exec_ms": 100}}),
        &scan_module(&format!("{LOOP} (i32.const 0)")),
    );
    let registry = plugins.registry();
    let cancel = CancelHandle::new();
    let report = registry.scan_cancellable(Input::new(b"x"), &cancel);
    let failure = run_of(&report, "Loop").failure().unwrap();
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
}

#[test]
fn a_plugin_from_memory_asking_for_its_directory_is_refused_under_any_host() {
    let mut json = manifest("InMemory");
    json["permissions"]["filesystem"] = true.into();
    let wasm = wat::parse_str(MARKER_WAT).unwrap();
    for config in [
        HostConfig::default(),
        HostConfig::default().with_filesystem(false),
    ] {
        let registry = Registry::new(config);
        let error = registry
            .add_plugin(json.to_string().as_bytes(), &wasm)
            .unwrap_err();
        assert!(
            error.to_string().contains("no directory to grant"),
            "{error}"
        );
    }
}

#[test]
fn a_cancelled_handle_runs_no_plugin_and_an_unused_one_changes_nothing() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    let registry = plugins.registry();
    let unused = CancelHandle::new();
    assert_good_found_marker(&registry.scan_cancellable(Input::new(MARKED), &unused));

    let cancelled = CancelHandle::new();
    cancelled.cancel();
    let report = registry.scan_cancellable(Input::new(MARKED), &cancelled);
    assert!(report.findings.is_empty());
    let (plugin, failure) = report.failures().next().unwrap();
    assert_eq!((plugin, failure.kind), ("Good", FailureKind::Cancelled));
    // One handle can serve many scans: it stays cancelled.
    let again = registry.scan_cancellable(Input::new(MARKED), &cancelled);
    assert_eq!(again.failures().count(), 1);
}

#[test]
fn inputs_are_typed_by_detection_unless_the_host_names_the_type() {
    let plugins = Plugins::new();
    plugins.add(
        "pdf-only",
        "PdfOnly",
        json!({"file_types": ["pdf"]}),
        MARKER_WAT,
    );
    let registry = plugins.registry();
    let pdf = b"%PDF-1.7 MALICIOUS_MARKER";
    assert_eq!(Input::new(pdf).file_type_name(), "pdf");
    assert_eq!(registry.scan(Input::new(pdf)).runs.len(), 1);
    // The host's type wins over detection.
    assert!(
        registry
            .scan(Input::new(pdf).file_type("elf"))
            .runs
            .is_empty()
    );
    assert_eq!(
        registry
            .scan(Input::new(MARKED).file_type("pdf"))
            .max_score(),
        85
    );
}

#[test]
fn loading_returns_owned_plugins_and_failures() {
    let plugins = Plugins::new();
    let good = plugins.add_good("good");
    let registry = Registry::new(HostConfig::default());
    let first = registry.load_plugin(&good).unwrap();
    // The registry is not borrowed by what loading returned.
    let duplicate = registry.load_plugin(&good).unwrap_err();
    assert_eq!(first.name(), "Good");
    assert!(
        duplicate.to_string().contains("already taken"),
        "{duplicate}"
    );
    assert_eq!(registry.failures().len(), 1);
    assert_eq!(registry.plugin("Good").unwrap().name(), first.name());
    assert!(registry.plugin("Missing").is_none());
}

#[test]
fn outcome_accessors_need_no_matching() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    plugins.add("trap", "Trap", json!({}), &scan_module("(unreachable)"));
    plugins.add(
        "small",
        "Small",
        json!({"permissions": {"max_memory_mb": 1}}),
        MARKER_WAT,
    );
    let registry = plugins.registry();
    let big = vec![b'x'; 2 << 20];
    let report = scan(&registry, &big);
    assert_eq!(run_of(&report, "Good").score(), Some(0));
    let failures: Vec<_> = report.failures().map(|(p, f)| (p, f.kind)).collect();
    assert_eq!(failures, [("Trap", FailureKind::Trap)]);
    let skipped: Vec<_> = report.skipped().map(|(p, _)| p).collect();
    assert_eq!(skipped, ["Small"]);
    assert!(!report.is_complete());
}
