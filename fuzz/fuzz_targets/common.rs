//! Shared by the module targets: a small-limits manifest, and one scan that must end with a
//! report, in bounded time, whatever the module does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use plugbox::{HostConfig, Registry, RunStatus};

fn manifest(filesystem: bool) -> String {
    format!(
        r#"{{
  "name": "Fuzzed", "version": "0.0.0", "author": "fuzz", "description": "fuzz",
  "wasm_file": "fuzz.wasm", "platforms": ["all"], "file_types": ["all"],
  "min_engine_version": "0.0.0",
  "permissions": {{"max_memory_mb": 4, "max_exec_ms": 20, "filesystem": {filesystem}}}
}}"#
    )
}

/// The budget is 20 ms per call and a load makes at most a handful of calls; a load or scan
/// this slow means a host call (or the host between calls) did not keep to the deadline.
const SLOW: Duration = Duration::from_secs(2);

fn check_time(what: &str, started: Instant) {
    let took = started.elapsed();
    assert!(
        took < SLOW,
        "{what} took {took:?} (budget 20 ms per call): something ignores the deadline"
    );
}

/// A plugin directory per process, for plugins with `permissions.filesystem`: the manifest,
/// the module (rewritten for each input), and a few entries to open, read and list.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let parent = std::env::temp_dir().join("plugbox-fuzz");
        // Fork mode starts a process per job: remove the directories of finished ones.
        #[cfg(target_os = "linux")]
        for old in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            if !Path::new("/proc").join(old.file_name()).exists() {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let dir = parent.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("plugin.json"), manifest(true)).unwrap();
        std::fs::write(dir.join("a.txt"), vec![b'a'; 70_000]).unwrap();
        std::fs::write(dir.join("sub/b.txt"), "b\n").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("..", dir.join("up")).unwrap();
            std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        }
        dir
    })
}

#[allow(dead_code)] // host_calls uses only `load_and_scan_with`
pub fn load_and_scan(wasm: &[u8]) {
    load_and_scan_with(wasm, false);
}

/// With `filesystem`, the plugin is loaded from [`plugin_dir`] with its read-only preopen.
pub fn load_and_scan_with(wasm: &[u8], filesystem: bool) {
    let registry = Registry::new(HostConfig::default());
    let started = Instant::now();
    let loaded = if filesystem {
        std::fs::write(plugin_dir().join("fuzz.wasm"), wasm).unwrap();
        registry.load_plugin(plugin_dir()).is_ok()
    } else {
        registry
            .add_plugin(manifest(false).as_bytes(), wasm)
            .is_ok()
    };
    check_time("load", started);
    if !loaded {
        assert_eq!(registry.failures().len(), 1);
        assert!(!registry.failures()[0].to_string().is_empty());
        return;
    }
    let started = Instant::now();
    let report = registry.scan(
        plugbox::Input::new(b"fuzz input MALICIOUS_MARKER")
            .path("/fuzz/input")
            .file_type("unknown"),
    );
    check_time("scan", started);
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    assert!(
        run.peak_memory_bytes <= 4 << 20,
        "memory cap broken: {run:?}"
    );
    if let RunStatus::Ok { score } = run.status {
        assert!(score <= 100);
    }
    for finding in &report.findings {
        assert!(finding.score <= 100);
        assert!(finding.threat.len() <= plugbox::limits::MAX_THREAT_NAME_BYTES);
        assert!(finding.detail.len() <= plugbox::limits::MAX_DETAIL_BYTES);
    }
}
