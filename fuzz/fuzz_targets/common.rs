//! Shared by the module targets: a small-limits manifest, and one scan that must end with a
//! report, whatever the module does.

use plugbox::manifest::{Manifest, ManifestRules};
use plugbox::{HostConfig, Registry, RunStatus};

const MANIFEST: &str = r#"{
  "name": "Fuzzed", "version": "0.0.0", "author": "fuzz", "description": "fuzz",
  "wasm_file": "fuzz.wasm", "platforms": ["all"], "file_types": ["all"],
  "min_engine_version": "0.0.0",
  "permissions": {"max_memory_mb": 4, "max_exec_ms": 20}
}"#;

pub fn load_and_scan(wasm: &[u8]) {
    let rules = ManifestRules { file_types: &["unknown"] };
    let manifest = Manifest::parse(MANIFEST.as_bytes(), "fuzz.json".as_ref(), rules).unwrap();
    let mut registry = Registry::new(HostConfig::default());
    if registry.add_plugin(manifest, wasm).is_err() {
        assert_eq!(registry.failures().len(), 1);
        assert!(!registry.failures()[0].to_string().is_empty());
        return;
    }
    let report = registry.scan(b"fuzz input MALICIOUS_MARKER", "/fuzz/input", "unknown");
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    assert!(run.peak_memory_bytes <= 4 << 20, "memory cap broken: {run:?}");
    if let RunStatus::Ok { score } = run.status {
        assert!(score <= 100);
    }
    for finding in &report.findings {
        assert!(finding.score <= 100);
        assert!(finding.threat.len() <= plugbox::findings::MAX_THREAT_NAME_BYTES);
        assert!(finding.detail.len() <= plugbox::findings::MAX_DETAIL_BYTES);
    }
}
