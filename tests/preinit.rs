//! Pre-initialisation: a plugin's start function and `_initialize` run once at load, and
//! every scan's fresh instance starts from the state they left. Each test loads the same
//! plugin with and without it and asserts identical results; the tests that matter most
//! are the plugins whose initialisation must NOT be carried over (it sees the file, the
//! clock, reports, logs, leaves a file open, changes a table), whose results would differ
//! if it were.

mod common;

use std::path::Path;

use common::{Plugins, module, wasi_imports};
use plugbox::{HostConfig, Input, Registry};
use serde_json::json;

/// What a plugin's scan of one input came to, everything but its cost.
type Outcome = (String, usize, String, Vec<(String, u32, String)>);

fn registry(pre_initialize: bool, dir: &Path) -> (Registry, bool) {
    let registry = Registry::new(HostConfig::default().with_pre_initialization(pre_initialize));
    let plugin = registry.load_plugin(dir).unwrap();
    let pre_initialized = plugin.is_pre_initialized();
    (registry, pre_initialized)
}

fn outcome(registry: &Registry, path: &str, data: &[u8]) -> Vec<Outcome> {
    let report = registry.scan(Input::new(data).path(path));
    report
        .runs
        .iter()
        .map(|run| {
            let findings = report
                .findings
                .iter()
                .filter(|f| f.plugin == run.plugin)
                .map(|f| (f.threat.clone(), f.score, f.detail.clone()))
                .collect();
            (
                format!("{:?}", run.status),
                run.peak_memory_bytes,
                format!("{:?}", run.dropped),
                findings,
            )
        })
        .collect()
}

/// Scans the same inputs, twice each, with and without pre-initialisation; asserts the
/// outcomes are the same, and returns them and whether the plugin was pre-initialised.
fn both_ways(dir: &Path, inputs: &[(&str, &[u8])]) -> (Vec<Vec<Outcome>>, bool) {
    let (fresh, off) = registry(false, dir);
    assert!(!off, "pre-initialisation was turned off");
    let (fast, pre_initialized) = registry(true, dir);
    let mut outcomes = Vec::new();
    for &(path, data) in inputs.iter().chain(inputs) {
        let expected = outcome(&fresh, path, data);
        assert_eq!(outcome(&fast, path, data), expected, "{path}");
        outcomes.push(expected);
    }
    (outcomes, pre_initialized)
}

fn score(outcome: &[Outcome]) -> &str {
    &outcome[0].0
}

const INPUTS: &[(&str, &[u8])] = &[
    ("empty", b""),
    ("short", b"0123456789"),
    ("marked", common::MARKED),
];

#[test]
fn every_bundled_example_gives_the_same_results_either_way() {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir("examples/samples")
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    files.push(("empty".into(), Vec::new()));
    let mut big = vec![0x5a; 256 * 1024];
    big[200_000..200_016].copy_from_slice(b"MALICIOUS_MARKER");
    files.push(("big".into(), big));
    let inputs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), &d[..])).collect();
    let mut pre_initialized = Vec::new();
    for entry in std::fs::read_dir("examples/plugins").unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("plugin.json").exists() {
            continue;
        }
        let (outcomes, fast) = both_ways(&dir, &inputs);
        assert!(
            outcomes.iter().any(|o| !o[0].3.is_empty()),
            "{} found nothing anywhere: the comparison would prove little",
            dir.display()
        );
        if fast {
            pre_initialized.push(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    pre_initialized.sort();
    // The plugins with initialisation to skip: AssemblyScript's start function, wasi-libc's
    // `_initialize` (signature-list reads its list there).
    for expected in ["as-marker", "c-marker", "signature-list"] {
        assert!(
            pre_initialized.iter().any(|p| p == expected),
            "{expected} is not pre-initialised: {pre_initialized:?}"
        );
    }
}

/// A start function and `_initialize` that write memory, grow it and set globals; a scan
/// that changes them again and returns what it saw.
const STATEFUL: &str = r#"
  (global $counter (mut i32) (i32.const 0))
  (global $grown (mut i32) (i32.const -1))
  (func $start
    (i32.store (i32.const 100) (i32.const 7))
    (global.set $grown (memory.grow (i32.const 2)))
    (i32.store (i32.const 70000) (i32.const 3))
    (global.set $counter (i32.const 5)))
  (start $start)
  (func (export "_initialize")
    (global.set $counter (i32.add (global.get $counter) (i32.const 10))))
  (func (export "scan") (param $ptr i32) (param $len i32) (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
    (i32.store (i32.const 70000) (i32.add (i32.load (i32.const 70000)) (i32.const 1)))
    ;; 16 + 8 + 4 + 1 (the old size) + memory.size (3, more when the host grew it for data)
    (i32.add
      (i32.add (global.get $counter) (i32.load (i32.const 100)))
      (i32.add
        (i32.add (i32.load (i32.const 70000)) (global.get $grown))
        (memory.size))))"#;

#[test]
fn what_initialisation_leaves_is_given_to_every_instance_and_nothing_else() {
    let plugins = Plugins::new();
    let dir = plugins.add("state", "State", json!({}), &module(1, STATEFUL));
    let (outcomes, pre_initialized) = both_ways(&dir, INPUTS);
    assert!(pre_initialized);
    // The same every time: no scan sees another's changes.
    assert_eq!(score(&outcomes[0]), "Ok { score: 32 }");
    assert_eq!(score(&outcomes[3]), "Ok { score: 32 }");
    assert_eq!(score(&outcomes[1]), "Ok { score: 33 }");
    assert_eq!(
        outcomes[0][0].1,
        3 * 65536,
        "peak memory counts the pages init grew"
    );
}

/// Asserts that a plugin whose initialisation is `init` (the start function) is not
/// pre-initialised and gives the same results either way; returns the outcomes.
fn not_pre_initialized(plugins: &Plugins, name: &str, wat: &str) -> Vec<Vec<Outcome>> {
    let dir = plugins.add(
        name,
        name,
        json!({"permissions": {"filesystem": true}}),
        wat,
    );
    let (outcomes, pre_initialized) = both_ways(&dir, INPUTS);
    assert!(!pre_initialized, "{name} was pre-initialised");
    outcomes
}

#[test]
fn initialisation_that_sees_the_file_runs_in_every_instance() {
    let plugins = Plugins::new();
    let wat = module(
        1,
        r#"(global $seen (mut i32) (i32.const 0))
  (func $start (global.set $seen (call $get_file_path (i32.const 200) (i32.const 64))))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32) (global.get $seen))"#,
    );
    let outcomes = not_pre_initialized(&plugins, "path", &wat);
    // The path's length, as each file's own start function saw it.
    assert_eq!(score(&outcomes[0]), "Ok { score: 5 }");
    assert_eq!(score(&outcomes[1]), "Ok { score: 5 }");
    assert_eq!(score(&outcomes[2]), "Ok { score: 6 }");
}

#[test]
fn initialisation_that_reports_or_logs_runs_in_every_instance() {
    let plugins = Plugins::new();
    let reports = module(
        1,
        r#"(data (i32.const 0) "Init.Threat")
  (func (export "_initialize")
    (call $report_finding (i32.const 0) (i32.const 11) (i32.const 40) (i32.const 0) (i32.const 0)))
  (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#,
    );
    let outcomes = not_pre_initialized(&plugins, "reports", &reports);
    assert!(outcomes.iter().all(|o| o[0].3.len() == 1), "{outcomes:?}");
    let logs = module(
        1,
        r#"(data (i32.const 0) "hello")
  (func $start (call $log_message (i32.const 2) (i32.const 0) (i32.const 5)))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32) (i32.const 1))"#,
    );
    not_pre_initialized(&plugins, "logs", &logs);
}

#[test]
fn initialisation_that_reads_the_clock_runs_in_every_instance() {
    let plugins = Plugins::new();
    let wat = with_wasi(
        |n| n == "clock_time_get",
        r#"(func $start (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 200))))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32)
    (i64.ne (i64.load (i32.const 200)) (i64.const 0)))"#,
    );
    let outcomes = not_pre_initialized(&plugins, "clock", &wat);
    assert_eq!(score(&outcomes[0]), "Ok { score: 1 }");
}

/// [`module`] of one page with `body`, and the WASI imports `keep` selects.
fn with_wasi(keep: impl Fn(&str) -> bool, body: &str) -> String {
    module(1, body).replacen("(module", &format!("(module {}", wasi_imports(keep)), 1)
}

/// `path_open` of `plugin.json` in the plugin's directory (fd 3), the new fd at 300.
const OPEN_MANIFEST: &str = r#"
  (data (i32.const 0) "plugin.json")
  (func $open
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 11)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 300))))
  ;; Reads the first byte of the file at fd 300 to 320; iovec at 304.
  (func $read_first
    (i32.store (i32.const 304) (i32.const 320))
    (i32.store (i32.const 308) (i32.const 1))
    (drop (call $fd_read (i32.load (i32.const 300)) (i32.const 304) (i32.const 1) (i32.const 312))))"#;

#[test]
fn initialisation_may_read_its_own_directory_but_not_leave_files_open() {
    let plugins = Plugins::new();
    let wasi = |n: &str| matches!(n, "path_open" | "fd_read" | "fd_close");
    let reads = with_wasi(
        wasi,
        &format!(
            r#"{OPEN_MANIFEST}
  (func (export "_initialize")
    (call $open) (call $read_first) (drop (call $fd_close (i32.load (i32.const 300)))))
  ;; '{{' is 123.
  (func (export "scan") (param i32 i32) (result i32) (i32.sub (i32.load8_u (i32.const 320)) (i32.const 100)))"#
        ),
    );
    let dir = plugins.add(
        "reads",
        "reads",
        json!({"permissions": {"filesystem": true}}),
        &reads,
    );
    let (outcomes, pre_initialized) = both_ways(&dir, INPUTS);
    assert!(pre_initialized);
    assert_eq!(score(&outcomes[0]), "Ok { score: 23 }");

    let leaves_open = with_wasi(
        wasi,
        &format!(
            r#"{OPEN_MANIFEST}
  (func (export "_initialize") (call $open))
  ;; Reads through the descriptor initialisation left open.
  (func (export "scan") (param i32 i32) (result i32)
    (call $read_first) (i32.sub (i32.load8_u (i32.const 320)) (i32.const 100)))"#
        ),
    );
    let outcomes = not_pre_initialized(&plugins, "open", &leaves_open);
    assert_eq!(score(&outcomes[0]), "Ok { score: 23 }");
}

#[test]
fn initialisation_that_changes_a_table_runs_in_every_instance() {
    let plugins = Plugins::new();
    let wat = module(
        1,
        r#"(type $answer (func (result i32)))
  (table 2 funcref)
  (func $f (result i32) (i32.const 42))
  (elem (i32.const 0) $f)
  (func $start (table.copy (i32.const 1) (i32.const 0) (i32.const 1)))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32)
    (call_indirect (type $answer) (i32.const 1)))"#,
    );
    let outcomes = not_pre_initialized(&plugins, "table", &wat);
    assert_eq!(score(&outcomes[0]), "Ok { score: 42 }");
}

#[test]
fn modules_with_passive_segments_run_their_initialisation_in_every_instance() {
    let plugins = Plugins::new();
    let wat = module(
        1,
        r#"(data $later "\2a")
  (func $start (memory.init $later (i32.const 50) (i32.const 0) (i32.const 1)) (data.drop $later))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32) (i32.load8_u (i32.const 50)))"#,
    );
    let outcomes = not_pre_initialized(&plugins, "passive", &wat);
    assert_eq!(score(&outcomes[0]), "Ok { score: 42 }");
}

#[test]
fn pages_initialisation_grew_are_grown_again_in_each_instance() {
    // Init grows memory to 2 pages at load; each instance grows them again, through the cap.
    let plugins = Plugins::new();
    let wat = module(
        1,
        r#"(func $start (drop (memory.grow (i32.const 1))))
  (start $start)
  (func (export "scan") (param i32 i32) (result i32) (memory.size))"#,
    );
    let dir = plugins.add("grows", "grows", json!({}), &wat);
    let (outcomes, pre_initialized) = both_ways(&dir, INPUTS);
    assert!(pre_initialized);
    assert_eq!(score(&outcomes[0]), "Ok { score: 2 }");
}

/// `_initialize` reads the first byte of `data.txt` in the plugin's directory; `scan`
/// returns it.
fn reads_data_file(plugins: &Plugins) -> std::path::PathBuf {
    let wat = with_wasi(
        |n| matches!(n, "path_open" | "fd_read" | "fd_close"),
        r#"(data (i32.const 0) "data.txt")
  (func (export "_initialize")
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 8)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 300)))
    (i32.store (i32.const 304) (i32.const 320))
    (i32.store (i32.const 308) (i32.const 1))
    (drop (call $fd_read (i32.load (i32.const 300)) (i32.const 304) (i32.const 1) (i32.const 312)))
    (drop (call $fd_close (i32.load (i32.const 300)))))
  (func (export "scan") (param i32 i32) (result i32) (i32.load8_u (i32.const 320)))"#,
    );
    let dir = plugins.add(
        "data",
        "Data",
        json!({"permissions": {"filesystem": true}}),
        &wat,
    );
    std::fs::write(dir.join("data.txt"), "A").unwrap();
    dir
}

#[test]
fn a_data_file_read_while_initialising_reloads_the_plugin_when_it_changes() {
    let plugins = Plugins::new();
    reads_data_file(&plugins);
    let fresh = Registry::new(HostConfig::default().with_pre_initialization(false));
    fresh.load_dir(plugins.path()).unwrap();
    let fast = Registry::new(HostConfig::default());
    fast.load_dir(plugins.path()).unwrap();
    assert!(fast.plugins()[0].is_pre_initialized());
    assert_eq!(score(&outcome(&fast, "x", b"")), "Ok { score: 65 }");

    std::fs::write(plugins.path().join("data/data.txt"), "B").unwrap();
    let report = fast.reload().unwrap();
    assert_eq!(report.changed.len(), 1, "{report:?}");
    assert_eq!(score(&outcome(&fresh, "x", b"")), "Ok { score: 66 }");
    assert_eq!(score(&outcome(&fast, "x", b"")), "Ok { score: 66 }");
}

#[test]
fn a_watched_directory_left_alone_stops_reloading_once_past_the_racy_window() {
    let plugins = Plugins::new();
    reads_data_file(&plugins);
    let registry = Registry::new(HostConfig::default());
    registry.load_dir(plugins.path()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // Written just before the load: too recent to trust by stamp, so reloaded once...
    registry.reload().unwrap();
    // ... and then trusted.
    let report = registry.reload().unwrap();
    assert!(report.changed.is_empty(), "{report:?}");
}

#[test]
fn exports_the_host_adds_do_not_count_against_the_export_limit() {
    // MAX_EXPORTS (1000) declared exports, one of them mutable global's worth of state, and
    // initialisation (so the host adds its state export and the start export).
    let funcs: String = (0..997)
        .map(|i| format!("(export \"f{i}\" (func $scan))\n"))
        .collect();
    let wat = module(
        1,
        &format!(
            r#"(global $g (mut i32) (i32.const 0))
  (func $start (global.set $g (i32.const 9)))
  (start $start)
  (func (export "_initialize"))
  {funcs}(func $scan (export "scan") (param i32 i32) (result i32) (global.get $g))"#
        ),
    );
    let plugins = Plugins::new();
    let dir = plugins.add("many", "Many", json!({}), &wat);
    let (outcomes, pre_initialized) = both_ways(&dir, INPUTS);
    assert!(pre_initialized);
    assert_eq!(score(&outcomes[0]), "Ok { score: 9 }");
}

#[test]
fn initialisation_may_list_its_own_directory() {
    let plugins = Plugins::new();
    let wat = with_wasi(
        |n| matches!(n, "fd_readdir"),
        r#"(func (export "_initialize")
    (drop (call $fd_readdir (i32.const 3) (i32.const 1024) (i32.const 4096) (i64.const 0) (i32.const 900)))
    (i32.store (i32.const 904) (i32.load (i32.const 900))))
  (func (export "scan") (param i32 i32) (result i32) (i32.ne (i32.load (i32.const 904)) (i32.const 0)))"#,
    );
    let dir = plugins.add(
        "list",
        "List",
        json!({"permissions": {"filesystem": true}}),
        &wat,
    );
    let (outcomes, pre_initialized) = both_ways(&dir, INPUTS);
    assert!(pre_initialized);
    assert_eq!(score(&outcomes[0]), "Ok { score: 1 }");
}
