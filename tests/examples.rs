//! The bundled example plugins: the committed `.wasm` files load, detect their markers in
//! `examples/samples`, and carry the imports and exports of the toolchains that built them.
//! `.ci/run` runs these tests again after `examples/build.sh` rebuilds the modules.

use std::collections::BTreeSet;

use plugbox::{HostConfig, Registry, RunStatus};

const PLUGINS: &str = "examples/plugins";

fn registry() -> Registry {
    let registry = Registry::new(HostConfig::default());
    registry.load_dir(PLUGINS.as_ref()).unwrap();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    registry
}

fn scan_sample(registry: &Registry, name: &str) -> plugbox::ScanReport {
    let path = format!("examples/samples/{name}");
    let data = std::fs::read(&path).unwrap();
    let report = registry.scan(plugbox::Input::new(&data).path(&path));
    for run in &report.runs {
        assert!(matches!(run.status, RunStatus::Ok { .. }), "{run:?}");
    }
    report
}

fn found(report: &plugbox::ScanReport) -> BTreeSet<(String, String, u32)> {
    report
        .findings
        .iter()
        .map(|f| (f.plugin.clone(), f.threat.clone(), f.score))
        .collect()
}

fn set(items: &[(&str, &str, u32)]) -> BTreeSet<(String, String, u32)> {
    items
        .iter()
        .map(|(p, t, s)| (p.to_string(), t.to_string(), *s))
        .collect()
}

#[test]
fn every_example_plugin_detects_its_marker() {
    let registry = registry();
    let names: Vec<_> = registry
        .plugins()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "AssemblyScript Marker Scanner",
            "C Marker Scanner",
            "Marker Find",
            "Marker Scanner",
            "Rust Marker Find",
            "Rust Marker Scanner",
            "Signature List"
        ]
    );
    assert_eq!(
        found(&scan_sample(&registry, "marked.txt")),
        set(&[
            (
                "AssemblyScript Marker Scanner",
                "Custom.MaliciousMarker",
                85
            ),
            ("C Marker Scanner", "Custom.MaliciousMarker", 85),
            ("Marker Find", "Custom.MaliciousMarker", 85),
            ("Marker Scanner", "Custom.MaliciousMarker", 85),
            ("Rust Marker Find", "Custom.MaliciousMarker", 85),
            ("Rust Marker Scanner", "Custom.MaliciousMarker", 85),
            ("Signature List", "Signature.MaliciousMarker", 70),
        ])
    );
    assert_eq!(
        found(&scan_sample(&registry, "installer.sh")),
        set(&[("Signature List", "Signature.CurlPipeShell", 70)])
    );
    assert!(found(&scan_sample(&registry, "clean.txt")).is_empty());
}

#[test]
fn details_are_built_by_each_toolchain() {
    let registry = registry();
    let report = scan_sample(&registry, "marked.txt");
    let detail = |plugin: &str| {
        report
            .findings
            .iter()
            .find(|f| f.plugin == plugin)
            .unwrap()
            .detail
            .clone()
    };
    assert_eq!(
        detail("Rust Marker Scanner"),
        "Found MALICIOUS_MARKER string at offset 46 of 78 bytes"
    );
    assert_eq!(
        detail("Rust Marker Find"),
        "Found MALICIOUS_MARKER at offset 46"
    );
    assert_eq!(
        detail("C Marker Scanner"),
        "Found MALICIOUS_MARKER at offset 46"
    );
    assert_eq!(
        detail("AssemblyScript Marker Scanner"),
        "Found MALICIOUS_MARKER at offset 46"
    );
    assert_eq!(
        detail("Signature List"),
        "matched signature \"MALICIOUS_MARKER\" at offset 46"
    );
}

fn module(path: &str) -> wasmi::Module {
    let wasm = std::fs::read(format!("{PLUGINS}/{path}")).unwrap();
    wasmi::Module::new(&wasmi::Engine::default(), wasm).unwrap()
}

fn imports(path: &str) -> BTreeSet<String> {
    module(path)
        .imports()
        .map(|i| format!("{}.{}", i.module(), i.name()))
        .collect()
}

#[test]
fn examples_carry_their_toolchains_imports() {
    let rust = imports("rust-marker/rust_marker.wasm");
    for wasi in ["fd_write", "environ_get", "environ_sizes_get", "proc_exit"] {
        assert!(
            rust.contains(&format!("wasi_snapshot_preview1.{wasi}")),
            "{rust:?}"
        );
    }
    let c = imports("c-marker/c_marker.wasm");
    assert!(c.contains("wasi_snapshot_preview1.fd_write"), "{c:?}");
    assert!(
        module("c-marker/c_marker.wasm")
            .get_export("_initialize")
            .is_some()
    );
    let sigs = imports("signature-list/signature_list.wasm");
    for wasi in ["path_open", "fd_prestat_get", "fd_read"] {
        assert!(
            sigs.contains(&format!("wasi_snapshot_preview1.{wasi}")),
            "{sigs:?}"
        );
    }
    assert!(imports("as-marker/as_marker.wasm").contains("env.abort"));
    assert!(imports("marker-find/marker_find.wasm").contains("plugbox.find"));
    // The guest crate on wasm32-unknown-unknown with std: `env` and `plugbox` only, and the
    // `scan_file` form writes no `alloc` export.
    let guest = imports("rust-find/rust_find.wasm");
    assert_eq!(
        guest,
        [
            "env.get_file_path",
            "env.get_file_type",
            "env.log_message",
            "env.report_finding",
            "plugbox.file_size",
            "plugbox.find",
        ]
        .map(String::from)
        .into(),
    );
    let rust_find = module("rust-find/rust_find.wasm");
    for export in ["scan", "plugin_name", "plugin_version", "memory"] {
        assert!(rust_find.get_export(export).is_some(), "{export}");
    }
    assert!(rust_find.get_export("alloc").is_none());
}

#[test]
fn signature_list_needs_its_filesystem_permission() {
    // The same plugin without `filesystem: true` cannot read its list, and on_load refuses.
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("sigs");
    std::fs::create_dir(&plugin).unwrap();
    for file in ["signature_list.wasm", "signatures.txt"] {
        std::fs::copy(
            format!("{PLUGINS}/signature-list/{file}"),
            plugin.join(file),
        )
        .unwrap();
    }
    let manifest =
        std::fs::read_to_string(format!("{PLUGINS}/signature-list/plugin.json")).unwrap();
    std::fs::write(
        plugin.join("plugin.json"),
        manifest.replace("\"filesystem\": true", "\"filesystem\": false"),
    )
    .unwrap();
    let registry = Registry::new(HostConfig::default());
    registry.load_dir(dir.path()).unwrap();
    assert_eq!(registry.failures().len(), 1);
    assert!(
        registry.failures()[0]
            .to_string()
            .contains("on_load returned 1")
    );
}

#[test]
fn committed_marker_scanner_wasm_matches_its_wat_source() {
    let dir = std::path::Path::new("examples/plugins/marker-scanner");
    let built = wat::parse_file(dir.join("marker_scanner.wat")).unwrap();
    let committed = std::fs::read(dir.join("marker_scanner.wasm")).unwrap();
    assert!(
        built == committed,
        "marker_scanner.wasm is stale: run examples/build.sh"
    );
}
