//! Limits that hold inside host calls (issue 8). Each hostile module is loaded beside two
//! well-behaved plugins, a plain one and one whose start function does real work, and the
//! findings of both must survive on every file of a multi-file scan.

use std::time::{Duration, Instant};

use plugbox::{Registry, ScanReport};

use super::*;

/// Files scanned by each test: per-file instantiation must hold up on every one.
const FILES: usize = 3;

/// Loop iterations of the well-behaved start function: tens of milliseconds of work, a good
/// part of what a start function may need, well inside its 1000 ms budget.
const START_WORK: u32 = 3_000_000;

/// A well-behaved plugin whose start function does real work; it reports `Start.Done` on
/// every file, but only if its start function ran to the end.
fn good_start_wat() -> String {
    module(
        1,
        &format!(
            r#"(data (i32.const 0) "Start.Done")
  (global $sum (mut i32) (i32.const 0))
  (func $start (local $i i32)
    (loop $l
      (global.set $sum (i32.add (global.get $sum) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {START_WORK})))))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32)
    (if (result i32) (i32.eq (global.get $sum) (i32.const {START_WORK}))
      (then (call $report_finding (i32.const 0) (i32.const 10) (i32.const 50) (i32.const 0) (i32.const 0))
            (i32.const 50))
      (else (i32.const 0))))"#
        ),
    )
}

/// What loading and scanning next to the well-behaved plugins came to.
struct Outcome {
    registry: Registry,
    reports: Vec<ScanReport>,
    /// How long loading the hostile plugin took.
    load: Duration,
    /// How long the hostile plugin's run took on each file.
    runs: Vec<Duration>,
}

impl Outcome {
    fn hostile_runs(&self) -> impl Iterator<Item = &plugbox::PluginRun> {
        self.reports.iter().map(|report| run_of(report, "Hostile"))
    }
}

/// Loads `wat` as plugin `Hostile` (manifest `overrides`) between the two well-behaved
/// plugins, scans [`FILES`] files, and checks that the well-behaved plugins found what they
/// should on every one.
fn beside_good(overrides: Value, wat: &str) -> Outcome {
    let plugins = Plugins::new();
    let hostile = plugins.add("hostile", "Hostile", overrides, wat);
    beside_good_in(plugins, &hostile)
}

fn beside_good_in(plugins: Plugins, hostile: &std::path::Path) -> Outcome {
    let good = plugins.add_good("zz-good");
    let good_start = plugins.add("zz-start", "GoodStart", json!({}), &good_start_wat());
    let registry = Registry::new(plugbox::HostConfig::default());
    let started = Instant::now();
    let _ = registry.load_plugin(hostile);
    let load = started.elapsed();
    registry.load_plugin(&good).unwrap();
    registry.load_plugin(&good_start).unwrap();
    let mut reports = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..FILES {
        let report = scan(&registry, MARKED);
        assert_good_found_marker(&report);
        assert_eq!(
            threats_of(&report, "GoodStart"),
            ["Start.Done"],
            "the plugin with a start function lost its finding: {report:?}"
        );
        if let Some(run) = report.runs.iter().find(|r| r.plugin == "Hostile") {
            runs.push(Duration::from_micros(run.cost.micros));
        }
        reports.push(report);
    }
    Outcome {
        registry,
        reports,
        load,
        runs,
    }
}

/// A module with the env imports, the named WASI imports, `pages` of memory and `body`.
fn wasi_module(wasi: &[&str], pages: u32, body: &str) -> String {
    let imports = wasi_imports(|name| wasi.contains(&name));
    format!(
        r#"(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "env" "log_message" (func $log_message (param i32 i32 i32)))
  {imports}
  (memory (export "memory") {pages})
  {body})"#
    )
}

/// `(call $sleep (i64 ns))`: sleeps through `poll_oneoff` on the monotonic clock.
const SLEEP_FN: &str = r#"(func $sleep (param $ns i64)
    (i64.store (i32.const 1024) (i64.const 0))
    (i32.store8 (i32.const 1032) (i32.const 0))
    (i32.store (i32.const 1040) (i32.const 1))
    (i64.store (i32.const 1048) (local.get $ns))
    (i64.store (i32.const 1056) (i64.const 0))
    (i32.store16 (i32.const 1064) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 1024) (i32.const 1100) (i32.const 1) (i32.const 1140))))"#;

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

// ---- 1. every host call runs under a deadline, start functions included

#[test]
fn start_function_sleeping_past_its_budget_fails_in_time() {
    for ns in [3_000_000_000u64, u64::MAX] {
        let wat = wasi_module(
            &["poll_oneoff"],
            1,
            &format!("{SLEEP_FN} (func $s (call $sleep (i64.const {ns}))) (start $s) {SCAN0}"),
        );
        let outcome = beside_good(budget(50), &wat);
        let error = load_error(&outcome.registry, "hostile");
        assert!(
            error.contains("instantiation failed: exceeded its time budget of 50 ms"),
            "{error}"
        );
        assert_within_budget(outcome.load, millis(50), "a start function sleeping");
    }
}

#[test]
fn initialize_sleeping_past_its_budget_fails_in_time() {
    let wat = wasi_module(
        &["poll_oneoff"],
        1,
        &format!(
            r#"{SLEEP_FN} (func (export "_initialize") (call $sleep (i64.const 3000000000))) {SCAN0}"#
        ),
    );
    let outcome = beside_good(budget(50), &wat);
    assert!(load_error(&outcome.registry, "hostile").contains("_initialize failed: exceeded"));
    assert_within_budget(outcome.load, millis(50), "_initialize sleeping");
}

// ---- 2. host work per call is bounded by what it can produce, and by the deadline

#[test]
fn fd_write_of_400_iovecs_of_16_mib_reads_only_the_log_volume() {
    // 400 iovecs, each the whole first 16 MiB of memory (no newline in it), in one call.
    let wat = wasi_module(
        &["fd_write"],
        257,
        r#"(func (export "scan") (param i32 i32) (result i32) (local $i i32)
    (loop $l
      (i32.store (i32.add (i32.const 16777216) (i32.mul (local.get $i) (i32.const 8))) (i32.const 0))
      (i32.store (i32.add (i32.const 16777220) (i32.mul (local.get $i) (i32.const 8))) (i32.const 16777216))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 400))))
    (call $fd_write (i32.const 1) (i32.const 16777216) (i32.const 400) (i32.const 16781000)))"#,
    );
    let outcome = beside_good(
        json!({"permissions": {"max_exec_ms": 50, "max_memory_mb": 32}}),
        &wat,
    );
    for (run, time) in outcome.hostile_runs().zip(&outcome.runs) {
        assert_eq!(run.status, RunStatus::Ok { score: 0 }, "{run:?}");
        // Messages of 4096 bytes with a 10-byte "[Hostile] " prefix fill the 64 KiB volume.
        let kept = plugbox::limits::MAX_LOG_BYTES_PER_SCAN as u64 - 16 * 10;
        assert_eq!(run.dropped.log_bytes, 400 * (16 << 20) - kept);
        assert_within_budget(*time, millis(50), "fd_write of 6.4 GB");
    }
    eprintln!("fd_write of 400 x 16 MiB: runs took {:?}", outcome.runs);
}

#[test]
fn random_get_over_a_large_memory_stops_at_the_deadline() {
    // 64 MiB of randomness per call, in a loop: each call alone takes the host about 200 ms,
    // and the loop costs the guest almost no fuel. The calls stop at the deadline instead.
    let wat = wasi_module(
        &["random_get"],
        1025,
        r#"(func (export "scan") (param i32 i32) (result i32)
    (loop $l (drop (call $random_get (i32.const 0) (i32.const 67108864))) (br $l))
    (i32.const 0))"#,
    );
    let outcome = beside_good(
        json!({"permissions": {"max_exec_ms": 50, "max_memory_mb": 80}}),
        &wat,
    );
    for (run, time) in outcome.hostile_runs().zip(&outcome.runs) {
        let failure = run.failure().unwrap_or_else(|| panic!("{run:?}"));
        assert_eq!((failure.kind, failure.stage), (Timeout, Scan), "{failure}");
        assert_within_budget(*time, millis(50), "a loop of random_get over 64 MiB");
    }
    eprintln!("random_get loop under 50 ms: runs took {:?}", outcome.runs);
}

#[test]
fn directory_listings_are_capped() {
    // The guest lists its directory of 1,500 files, a few entries per call, and counts them.
    let plugins = Plugins::new();
    let wat = wasi_module(
        &["fd_readdir"],
        1,
        r#"(func (export "scan") (param i32 i32) (result i32)
    (local $cookie i64) (local $count i32) (local $used i32)
    (block $done (loop $l
      ;; one 64-byte buffer per call: the first record, its name cut; its d_next continues
      (drop (call $fd_readdir (i32.const 3) (i32.const 2048) (i32.const 64) (local.get $cookie) (i32.const 4000)))
      (local.set $used (i32.load (i32.const 4000)))
      (br_if $done (i32.eqz (local.get $used)))
      (local.set $cookie (i64.load (i32.const 2048)))
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (br $l)))
    ;; scores stop at 100: a sixteenth of the count
    (i32.shr_u (local.get $count) (i32.const 4)))"#,
    );
    let hostile = plugins.add(
        "hostile",
        "Hostile",
        json!({"permissions": {"filesystem": true, "max_exec_ms": 5000}}),
        &wat,
    );
    for i in 0..1500 {
        std::fs::write(hostile.join(format!("f{i:04}")), "").unwrap();
    }
    let outcome = beside_good_in(plugins, &hostile);
    for run in outcome.hostile_runs() {
        // 1,502 entries (the files, plugin.json, plugin.wasm); the listing shows the cap.
        let listed = plugbox::limits::MAX_DIR_ENTRIES as u32;
        assert_eq!(run.status, RunStatus::Ok { score: listed / 16 }, "{run:?}");
    }
}

// ---- 3. no state one plugin can influence changes another plugin's outcome

#[test]
fn a_plugin_sleeping_between_spins_does_not_starve_another_start_function() {
    // Alternates 5 ms sleeps with short spins: a fuel rate learnt across plugins, host time
    // included, would fall with every round, and the next plugin's start function would get
    // too little fuel.
    let wat = wasi_module(
        &["poll_oneoff"],
        1,
        &format!(
            r#"{SLEEP_FN}
  (func (export "scan") (param i32 i32) (result i32) (local $round i32) (local $i i32)
    (loop $rounds
      (call $sleep (i64.const 5000000))
      (local.set $i (i32.const 0))
      (loop $spin
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $spin (i32.lt_u (local.get $i) (i32.const 200000))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 40))))
    (i32.const 0))"#
        ),
    );
    let outcome = beside_good(json!({"permissions": {"max_exec_ms": 5000}}), &wat);
    for run in outcome.hostile_runs() {
        assert_eq!(run.status, RunStatus::Ok { score: 0 }, "{run:?}");
    }
}

// ---- 4. only regular files are read, opened once, size-bounded

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) -> bool {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    if !made.is_ok_and(|status| status.success()) {
        eprintln!("skipped: mkfifo is not available");
        return false;
    }
    true
}

#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_plugin_json_or_module_is_refused_without_blocking() {
    let plugins = Plugins::new();
    let fifo_json = plugins.path().join("fifo-json");
    std::fs::create_dir(&fifo_json).unwrap();
    if !mkfifo(&fifo_json.join("plugin.json")) {
        return;
    }
    let zero_json = plugins.path().join("zero-json");
    std::fs::create_dir(&zero_json).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero_json.join("plugin.json")).unwrap();
    let fifo_wasm = plugins.add("fifo-wasm", "FifoWasm", json!({}), MARKER_WAT);
    std::fs::remove_file(fifo_wasm.join("plugin.wasm")).unwrap();
    assert!(mkfifo(&fifo_wasm.join("plugin.wasm")));
    plugins.add_good("zz-good");
    let started = Instant::now();
    let registry = plugins.registry();
    assert_within_budget(started.elapsed(), millis(0), "loading");
    assert!(load_error(&registry, "fifo-json").contains("is a FIFO"));
    assert!(load_error(&registry, "zero-json").contains("is a character device"));
    assert!(load_error(&registry, "fifo-wasm").contains("is not a regular file: it is a FIFO"));
    assert_good_found_marker(&scan(&registry, MARKED));
}

#[cfg(unix)]
#[test]
fn path_open_on_a_fifo_in_the_plugin_directory_fails_at_once() {
    let plugins = Plugins::new();
    let wat = wasi_module(
        &["path_open"],
        1,
        r#"(data (i32.const 100) "pipe")
  (func (export "scan") (param i32 i32) (result i32)
    (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 4)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))"#,
    );
    let hostile = plugins.add(
        "hostile",
        "Hostile",
        json!({"permissions": {"filesystem": true, "max_exec_ms": 100}}),
        &wat,
    );
    if !mkfifo(&hostile.join("pipe")) {
        return;
    }
    let outcome = beside_good_in(plugins, &hostile);
    for (run, time) in outcome.hostile_runs().zip(&outcome.runs) {
        // EACCES (2): the object exists, and the guest may not open it.
        assert_eq!(run.status, RunStatus::Ok { score: 2 }, "{run:?}");
        assert_within_budget(*time, millis(100), "path_open on a FIFO");
    }
}

// ---- 5. manifest strings are bounded, plugin names unique

#[test]
fn a_huge_or_unprintable_plugin_name_is_refused() {
    for (name, reason) in [
        (
            "N".repeat(500_000),
            "is 500000 bytes long; at most 128 bytes",
        ),
        (
            "Evil\u{1b}[2J".to_owned(),
            "contains the control or invisible character \\u{1b}",
        ),
        // Would pass for the well-behaved plugin's name.
        (
            "Good\u{200b}".to_owned(),
            "contains the control or invisible character \\u{200b}",
        ),
    ] {
        let plugins = Plugins::new();
        plugins.add("hostile", &name, json!({}), MARKER_WAT);
        plugins.add_good("zz-good");
        let registry = plugins.registry();
        let error = load_error(&registry, "hostile");
        assert!(
            error.contains("field `name`") && error.contains(reason),
            "{error}"
        );
        assert_good_found_marker(&scan(&registry, MARKED));
    }
}

#[test]
fn a_second_plugin_with_a_taken_name_is_refused_naming_both() {
    let plugins = Plugins::new();
    // Loads first (name order) and takes the well-behaved plugin's name.
    plugins.add(
        "a-impostor",
        "Good",
        json!({}),
        &scan_module("(i32.const 0)"),
    );
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    let error = load_error(&registry, "zz-good");
    assert!(
        error.contains("the name 'Good' is already taken") && error.contains("a-impostor"),
        "{error}"
    );
    assert_eq!(registry.plugins().len(), 1);
}

// ---- 6. caps count messages, empty ones included

#[test]
fn empty_log_messages_count_against_the_caps() {
    let outcome = beside_good(
        json!({}),
        &scan_module(
            "(local $i i32) (loop $l (call $log_message (i32.const 2) (i32.const 0) (i32.const 0))
               (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 200000))))
             (i32.const 0)",
        ),
    );
    let cap = plugbox::limits::MAX_LOG_MESSAGES_PER_SCAN as u64;
    for run in outcome.hostile_runs() {
        assert_eq!(run.dropped.log_messages, 200_000 - cap, "{run:?}");
    }
}

#[test]
fn a_write_of_newlines_counts_against_the_message_cap() {
    // One fd_write of 200,000 newlines: 1024 (empty) lines are logged, the rest counted.
    let wat = wasi_module(
        &["fd_write"],
        4,
        r#"(func (export "scan") (param i32 i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 10) (i32.const 200000))
    (i32.store (i32.const 200000) (i32.const 0))
    (i32.store (i32.const 200004) (i32.const 200000))
    (call $fd_write (i32.const 1) (i32.const 200000) (i32.const 1) (i32.const 200008)))"#,
    );
    let outcome = beside_good(json!({}), &wat);
    let cap = plugbox::limits::MAX_LOG_MESSAGES_PER_SCAN as u64;
    for run in outcome.hostile_runs() {
        assert_eq!(run.status, RunStatus::Ok { score: 0 }, "{run:?}");
        assert_eq!(run.dropped.log_bytes, 200_000 - cap, "{run:?}");
    }
}

// ---- 7. guest-controlled arithmetic never overflows in the host

#[test]
fn poll_oneoff_subscriptions_across_2_gib_do_not_overflow() {
    // Two clock subscriptions at 2^31 - 48: the second starts at 2^31, past i32::MAX. The
    // memory is 2 GiB and one page; both fire at once and land at address 0.
    let wat = wasi_module(
        &["poll_oneoff"],
        32769,
        r#"(func (export "scan") (param i32 i32) (result i32)
    (drop (call $poll_oneoff (i32.const 2147483600) (i32.const 0) (i32.const 2) (i32.const 100)))
    (i32.load (i32.const 100)))"#,
    );
    let outcome = beside_good(json!({"permissions": {"max_memory_mb": 2049}}), &wat);
    for run in outcome.hostile_runs() {
        assert_eq!(run.status, RunStatus::Ok { score: 2 }, "{run:?}");
    }
}

// ---- 8. what the load-time instance reports is kept

#[test]
fn findings_reported_by_on_load_are_kept() {
    let wat = module(
        1,
        &format!(
            r#"(data (i32.const 0) "Load.Finding")
  (func (export "on_load") (result i32)
    (call $report_finding (i32.const 0) (i32.const 12) (i32.const 30) (i32.const 0) (i32.const 0))
    (call $log_message (i32.const 2) (i32.const 0) (i32.const 0))
    (i32.const 0))
  {SCAN0}"#
        ),
    );
    let outcome = beside_good(json!({}), &wat);
    let plugin = outcome.registry.plugin("Hostile").unwrap();
    let threats: Vec<_> = plugin.load_findings().iter().map(|f| &f.threat).collect();
    assert_eq!(threats, ["Load.Finding"]);
    assert_eq!(plugin.load_dropped(), Default::default());
}

#[test]
fn a_text_module_with_a_byte_order_mark_gets_the_compile_hint() {
    let plugins = Plugins::new();
    let dir = plugins.add("hostile", "Hostile", json!({}), MARKER_WAT);
    std::fs::write(dir.join("plugin.wasm"), format!("\u{feff}{MARKER_WAT}")).unwrap();
    let outcome = beside_good_in(plugins, &dir);
    let error = load_error(&outcome.registry, "hostile");
    assert!(error.contains("is WebAssembly text format"), "{error}");
}

#[test]
fn invalid_utf8_cannot_grow_a_finding_past_its_caps() {
    // 4 KiB of invalid UTF-8 as threat name and detail: each byte would decode to three.
    let outcome = beside_good(
        json!({}),
        &scan_module(
            "(memory.fill (i32.const 0) (i32.const 255) (i32.const 8192))
             (call $report_finding (i32.const 0) (i32.const 4096) (i32.const 60) (i32.const 0) (i32.const 8192))
             (i32.const 60)",
        ),
    );
    for report in &outcome.reports {
        let finding = report
            .findings
            .iter()
            .find(|f| f.plugin == "Hostile")
            .unwrap();
        assert!(finding.threat.len() <= plugbox::limits::MAX_THREAT_NAME_BYTES);
        assert!(finding.detail.len() <= plugbox::limits::MAX_DETAIL_BYTES);
    }
}

#[test]
fn a_start_function_of_the_wrong_type_is_refused_at_load() {
    // Validation checks a start function's type in the start section; once it is moved into
    // an export, the host checks it. `wat` checks no types.
    for start in [
        "(func $s (param i32)) (start $s)",
        "(func $s (result i32) (i32.const 1)) (start $s)",
    ] {
        let outcome = beside_good(json!({}), &module(1, &format!("{start} {SCAN0}")));
        let error = load_error(&outcome.registry, "hostile");
        assert!(
            error.contains("a start function takes and returns nothing"),
            "{error}"
        );
    }
}

#[test]
fn a_loop_of_cheap_host_calls_ends_at_the_deadline() {
    // Each call costs the guest a few fuel and the host 4096 descriptor lookups: fuel alone
    // would let it run for seconds; the deadline check on entry of every host call does not.
    let wat = wasi_module(
        &["poll_oneoff"],
        8,
        r#"(func (export "scan") (param i32 i32) (result i32) (local $i i32)
    (loop $subs
      (i32.store8 (i32.add (i32.mul (local.get $i) (i32.const 48)) (i32.const 8)) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $subs (i32.lt_u (local.get $i) (i32.const 4096))))
    (loop $poll
      (drop (call $poll_oneoff (i32.const 0) (i32.const 200000) (i32.const 4096) (i32.const 400000)))
      (br $poll))
    (i32.const 0))"#,
    );
    let outcome = beside_good(budget(50), &wat);
    for (run, time) in outcome.hostile_runs().zip(&outcome.runs) {
        let failure = run.failure().unwrap_or_else(|| panic!("{run:?}"));
        assert_eq!((failure.kind, failure.stage), (Timeout, Scan), "{failure}");
        assert_within_budget(*time, millis(50), "a loop of poll_oneoff calls");
    }
    eprintln!("poll_oneoff loop under 50 ms: runs took {:?}", outcome.runs);
}
