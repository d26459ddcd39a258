//! Test fixtures: plugin directories written into a temporary folder from WAT sources.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use plugbox::abi::{ValueType, host_imports};
use plugbox::{HostConfig, Registry, ScanReport};
use serde_json::{Value, json};

/// The bundled example plugin's source.
pub const MARKER_WAT: &str =
    include_str!("../../examples/plugins/marker-scanner/marker_scanner.wat");

/// A plugins directory in a temporary folder.
pub struct Plugins {
    pub root: tempfile::TempDir,
}

impl Plugins {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// Writes `dir/plugin.json` (a valid manifest named `name`, with `overrides` merged in)
    /// and `dir/plugin.wasm` compiled from `wat`.
    pub fn add(&self, dir: &str, name: &str, overrides: Value, wat: &str) -> PathBuf {
        let path = self.root.path().join(dir);
        std::fs::create_dir_all(&path).unwrap();
        let mut manifest = manifest(name);
        merge(&mut manifest, overrides);
        std::fs::write(path.join("plugin.json"), manifest.to_string()).unwrap();
        std::fs::write(path.join("plugin.wasm"), wat::parse_str(wat).unwrap()).unwrap();
        path
    }

    /// Adds a well-behaved marker plugin named `Good` in `dir`.
    pub fn add_good(&self, dir: &str) -> PathBuf {
        self.add(dir, "Good", json!({}), MARKER_WAT)
    }

    /// Adds a well-behaved marker plugin named `name` in `dir`.
    pub fn add_good_named(&self, dir: &str, name: &str) -> PathBuf {
        self.add(dir, name, json!({}), MARKER_WAT)
    }

    pub fn registry(&self) -> Registry {
        let registry = Registry::new(HostConfig::default());
        registry.load_dir(self.root.path()).unwrap();
        registry
    }
}

pub fn manifest(name: &str) -> Value {
    json!({
        "name": name,
        "version": "1.0.0",
        "author": "tests",
        "description": "test plugin",
        "wasm_file": "plugin.wasm",
        "platforms": ["all"],
        "file_types": ["all"],
        "min_engine_version": "0.1.0",
        "permissions": {"max_memory_mb": 16, "max_exec_ms": 1000}
    })
}

fn merge(base: &mut Value, overrides: Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                match base.get_mut(&key) {
                    Some(slot) if value.is_object() => merge(slot, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overrides) => *base = overrides,
    }
}

/// A WAT module with the env imports, an exported memory of `pages`, and `body` (functions
/// and data) spliced in.
pub fn module(pages: u32, body: &str) -> String {
    format!(
        r#"(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "env" "log_message" (func $log_message (param i32 i32 i32)))
  (import "env" "get_file_path" (func $get_file_path (param i32 i32) (result i32)))
  (import "env" "get_file_type" (func $get_file_type (param i32 i32) (result i32)))
  (memory (export "memory") {pages})
  {body})"#
    )
}

/// A module whose `scan` is `scan_body` (params `$ptr`, `$len`, result i32).
pub fn scan_module(scan_body: &str) -> String {
    module(
        1,
        &format!(
            r#"(data (i32.const 0) "Test.Threat") (data (i32.const 16) "detail")
  (func (export "scan") (param $ptr i32) (param $len i32) (result i32) {scan_body})"#
        ),
    )
}

/// WAT import declarations, named `$name`, of the WASI functions `keep` selects.
pub fn wasi_imports(keep: impl Fn(&str) -> bool) -> String {
    let types = |keyword: &str, ts: &[ValueType]| {
        let list: String = ts.iter().map(|t| format!(" {t}")).collect();
        format!("({keyword}{list})")
    };
    host_imports()
        .iter()
        .filter(|s| s.module() == "wasi_snapshot_preview1" && keep(s.name()))
        .map(|s| {
            format!(
                r#"(import "wasi_snapshot_preview1" "{0}" (func ${0} {1} {2}))"#,
                s.name(),
                types("param", s.params()),
                types("result", s.results())
            )
        })
        .collect()
}

pub const MARKED: &[u8] = b"prefix MALICIOUS_MARKER suffix";

pub fn scan(registry: &Registry, data: &[u8]) -> ScanReport {
    registry.scan(
        plugbox::Input::new(data)
            .path("/samples/file.bin")
            .file_type("unknown"),
    )
}

/// Findings of the plugin named `plugin`.
pub fn threats_of(report: &ScanReport, plugin: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.plugin == plugin)
        .map(|f| f.threat.clone())
        .collect()
}

/// The run of the plugin named `plugin`.
pub fn run_of<'a>(report: &'a ScanReport, plugin: &str) -> &'a plugbox::PluginRun {
    report
        .runs
        .iter()
        .find(|r| r.plugin == plugin)
        .unwrap_or_else(|| panic!("no run of {plugin} in {report:?}"))
}

/// Asserts the well-behaved `Good` plugin still found the marker.
pub fn assert_good_found_marker(report: &ScanReport) {
    assert_eq!(
        threats_of(report, "Good"),
        ["Custom.MaliciousMarker"],
        "the well-behaved plugin lost its finding: {report:?}"
    );
}

/// The load failure for the plugin directory named `dir`, as text.
pub fn load_error(registry: &Registry, dir: &str) -> String {
    registry
        .failures()
        .iter()
        .find(|f| f.dir().file_name().unwrap() == dir)
        .unwrap_or_else(|| panic!("{dir} did not fail to load: {:?}", registry.failures()))
        .to_string()
}

/// The longest a call with `budget` may take in a test: the budget, plus as much again, plus
/// half a second. ABI.md documents the real overshoot (about one 1 ms fuel slice, or one
/// host step); the slack is for CI, which runs the suite in parallel on 2 loaded cores.
pub fn within_budget(budget: std::time::Duration) -> std::time::Duration {
    2 * budget + std::time::Duration::from_millis(500)
}

/// Asserts that something bounded by `budget` took no longer than [`within_budget`].
pub fn assert_within_budget(elapsed: std::time::Duration, budget: std::time::Duration, what: &str) {
    assert!(
        elapsed <= within_budget(budget),
        "{what} took {elapsed:?} under a budget of {budget:?}"
    );
}

/// A cancel handle, and the thread that cancels it after `delay`.
pub fn cancel_after(
    delay: std::time::Duration,
) -> (plugbox::CancelHandle, std::thread::JoinHandle<()>) {
    let cancel = plugbox::CancelHandle::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            cancel.cancel();
        })
    };
    (cancel, canceller)
}
