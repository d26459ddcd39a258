//! Loading (CONTRACT §1-§3): every broken plugin gets its specific error naming the file,
//! field or export, and the other plugins still load and scan.

mod common;

use common::*;
use plugbox::{HostConfig, LoadError, Registry};
use serde_json::json;

const SCAN: &str = r#"(func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#;

/// Loads `plugins` (plus a good plugin) and returns the registry, after checking the good
/// plugin loaded and still scans.
fn load_beside_good(plugins: &Plugins) -> Registry {
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    assert!(registry.plugins().iter().any(|p| p.name() == "Good"));
    assert_good_found_marker(&scan(&registry, MARKED));
    registry
}

#[test]
fn manifest_rules_each_get_a_specific_error() {
    let plugins = Plugins::new();
    let cases = [
        ("no-name", json!({"name": null}), "field `name`"),
        ("bad-version", json!({"version": "1.x"}), "field `version`"),
        (
            "no-platforms",
            json!({"platforms": []}),
            "field `platforms`",
        ),
        (
            "bad-platform",
            json!({"platforms": ["amiga"]}),
            "unknown name \"amiga\"",
        ),
        (
            "bad-type",
            json!({"file_types": ["exe"]}),
            "field `file_types`",
        ),
        (
            "bad-memory",
            json!({"permissions": {"max_memory_mb": 0}}),
            "field `permissions.max_memory_mb`",
        ),
        (
            "bad-exec",
            json!({"permissions": {"max_exec_ms": "fast"}}),
            "field `permissions.max_exec_ms`",
        ),
        (
            "bad-engine",
            json!({"min_engine_version": "latest"}),
            "field `min_engine_version`",
        ),
    ];
    for (dir, overrides, _) in &cases {
        plugins.add(dir, dir, overrides.clone(), MARKER_WAT);
    }
    let not_json = plugins.path().join("not-json");
    std::fs::create_dir(&not_json).unwrap();
    std::fs::write(not_json.join("plugin.json"), "{ nope").unwrap();
    let registry = load_beside_good(&plugins);
    for (dir, _, expected) in cases {
        let error = load_error(&registry, dir);
        assert!(
            error.contains(&format!("{dir}/plugin.json")) && error.contains(expected),
            "{dir}: {error}"
        );
    }
    assert!(load_error(&registry, "not-json").contains("not valid JSON"));
}

#[test]
fn oversized_manifest_is_refused_without_parsing() {
    let plugins = Plugins::new();
    let dir = plugins.path().join("huge");
    std::fs::create_dir(&dir).unwrap();
    let mut big = manifest("Huge").to_string();
    big.push_str(&" ".repeat(2 << 20));
    std::fs::write(dir.join("plugin.json"), big).unwrap();
    let registry = load_beside_good(&plugins);
    assert!(load_error(&registry, "huge").contains("a manifest may be at most"));
}

#[test]
fn unknown_manifest_keys_are_accepted() {
    let plugins = Plugins::new();
    plugins.add(
        "extra",
        "Extra",
        json!({"homepage": "x", "permissions": {"gpu": true}}),
        MARKER_WAT,
    );
    let registry = plugins.registry();
    assert_eq!(
        registry.plugins()[0].manifest().unknown_keys(),
        ["homepage", "permissions.gpu"]
    );
}

#[test]
fn import_and_export_problems_each_get_a_specific_error() {
    let plugins = Plugins::new();
    let cases = [
        (
            "unknown-import",
            r#"(module (import "env" "open_socket" (func (param i32))) (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#.to_string(),
            "imports `env.open_socket`",
        ),
        (
            "wasi-import",
            r#"(module (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#.to_string(),
            "imports `wasi_snapshot_preview1.sock_open`",
        ),
        (
            "wasi-unstable",
            r#"(module (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#.to_string(),
            "imports `wasi_unstable.fd_write`",
        ),
        (
            "wasi-signature",
            r#"(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#.to_string(),
            "import `wasi_snapshot_preview1.clock_time_get` has type func (i32, i32, i32) -> (i32); the host provides func (i32, i64, i32) -> (i32)",
        ),
        (
            "import-signature",
            r#"(module (import "env" "log_message" (func (param i32 i32))) (memory (export "memory") 1) (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#.to_string(),
            "import `env.log_message` has type func (i32, i32) -> ()",
        ),
        ("no-memory", format!("(module {SCAN})"), "missing required export `memory`"),
        (
            "memory-is-func",
            format!(r#"(module (memory 1) (func (export "memory")) {SCAN})"#),
            "export `memory` is func () -> (); expected a 32-bit linear memory",
        ),
        ("no-scan", module(1, ""), "missing required export `scan` (func (i32 ptr, i32 len) -> i32)"),
        (
            "scan-signature",
            module(1, r#"(func (export "scan") (param i32) (result i32) (i32.const 0))"#),
            "export `scan` is func (i32) -> (i32); expected func (i32 ptr, i32 len) -> i32",
        ),
        (
            "alloc-signature",
            module(1, &format!(r#"(func (export "alloc") (param i64) (result i32) (i32.const 0)) {SCAN}"#)),
            "export `alloc` is func (i64) -> (i32)",
        ),
        (
            "on-load-signature",
            module(1, &format!(r#"(func (export "on_load")) {SCAN}"#)),
            "export `on_load` is func () -> (); expected func () -> i32",
        ),
        (
            "on-load-refuses",
            module(1, &format!(r#"(func (export "on_load") (result i32) (i32.const 3)) {SCAN}"#)),
            "on_load returned 3",
        ),
    ];
    for (dir, wat, _) in &cases {
        plugins.add(dir, dir, json!({}), wat);
    }
    let registry = load_beside_good(&plugins);
    for (dir, _, expected) in cases {
        let error = load_error(&registry, dir);
        assert!(error.contains(expected), "{dir}: {error}");
    }
}

#[test]
fn wasm_file_must_stay_inside_the_plugin_directory() {
    let plugins = Plugins::new();
    let outside = plugins.path().join("outside.wasm");
    std::fs::write(&outside, wat::parse_str(MARKER_WAT).unwrap()).unwrap();
    plugins.add(
        "dotdot",
        "DotDot",
        json!({"wasm_file": "../outside.wasm"}),
        MARKER_WAT,
    );
    plugins.add(
        "absolute",
        "Absolute",
        json!({"wasm_file": outside.to_str().unwrap()}),
        MARKER_WAT,
    );
    let link = plugins.add(
        "symlink",
        "Symlink",
        json!({"wasm_file": "link.wasm"}),
        MARKER_WAT,
    );
    std::os::unix::fs::symlink(&outside, link.join("link.wasm")).unwrap();
    plugins.add(
        "missing",
        "Missing",
        json!({"wasm_file": "nope.wasm"}),
        MARKER_WAT,
    );
    // A symlink that stays inside the directory is fine.
    let inside = plugins.add(
        "inside-link",
        "InsideLink",
        json!({"wasm_file": "alias.wasm"}),
        MARKER_WAT,
    );
    std::os::unix::fs::symlink(inside.join("plugin.wasm"), inside.join("alias.wasm")).unwrap();
    let registry = load_beside_good(&plugins);
    assert!(load_error(&registry, "dotdot").contains("must not contain `..`"));
    assert!(load_error(&registry, "absolute").contains("not an absolute path"));
    assert!(load_error(&registry, "symlink").contains("outside the plugin directory"));
    assert!(load_error(&registry, "missing").contains("\"nope.wasm\": cannot be opened"));
    assert!(registry.plugins().iter().any(|p| p.name() == "InsideLink"));
}

#[test]
fn text_format_and_garbage_modules_get_specific_errors() {
    let plugins = Plugins::new();
    let text = plugins.add("text", "Text", json!({}), MARKER_WAT);
    std::fs::write(text.join("plugin.wasm"), MARKER_WAT).unwrap();
    let garbage = plugins.add("garbage", "Garbage", json!({}), MARKER_WAT);
    std::fs::write(garbage.join("plugin.wasm"), b"MZ\x90\0 not wasm").unwrap();
    let truncated = plugins.add("truncated", "Truncated", json!({}), MARKER_WAT);
    let wasm = wat::parse_str(MARKER_WAT).unwrap();
    std::fs::write(truncated.join("plugin.wasm"), &wasm[..wasm.len() / 2]).unwrap();
    let registry = load_beside_good(&plugins);
    let error = load_error(&registry, "text");
    assert!(
        error.contains("text format") && error.contains("compile it"),
        "{error}"
    );
    assert!(load_error(&registry, "garbage").contains("magic bytes"));
    assert!(load_error(&registry, "truncated").contains("not a valid WebAssembly module"));
}

#[test]
fn platform_engine_version_and_protocol_checks() {
    let plugins = Plugins::new();
    let other_os = if std::env::consts::OS == "windows" {
        "linux"
    } else {
        "windows"
    };
    plugins.add(
        "other-os",
        "OtherOs",
        json!({"platforms": [other_os]}),
        MARKER_WAT,
    );
    plugins.add(
        "this-os",
        "ThisOs",
        json!({"platforms": [std::env::consts::OS]}),
        MARKER_WAT,
    );
    plugins.add(
        "future",
        "Future",
        json!({"min_engine_version": "99.0.0"}),
        MARKER_WAT,
    );
    plugins.add(
        "protocol",
        "Protocol",
        json!({"protocol_version": 2}),
        MARKER_WAT,
    );
    let registry = load_beside_good(&plugins);
    // Another platform and a newer engine are skips, as the contract says, not failures.
    assert_eq!(registry.skipped().len(), 2, "{:?}", registry.skipped());
    assert!(matches!(
        registry.skipped()[1].error(),
        LoadError::PlatformMismatch { .. }
    ));
    assert!(registry.plugins().iter().any(|p| p.name() == "ThisOs"));
    let future = &registry.skipped()[0];
    assert!(matches!(future.error(), LoadError::EngineTooOld { .. }));
    let error = future.to_string();
    assert!(
        error.contains("needs plugbox 99.0.0 or newer")
            && error.contains(env!("CARGO_PKG_VERSION")),
        "{error}"
    );
    assert_eq!(
        registry.failures().len(),
        1,
        "only the protocol is a failure"
    );
    assert!(load_error(&registry, "protocol").contains("protocol_version 2 is not supported"));
}

#[test]
fn plugins_load_in_name_order_and_non_plugins_are_ignored() {
    let plugins = Plugins::new();
    plugins.add("b", "Second", json!({}), MARKER_WAT);
    plugins.add("a", "First", json!({}), MARKER_WAT);
    std::fs::create_dir(plugins.path().join("not-a-plugin")).unwrap();
    std::fs::write(plugins.path().join("README"), "x").unwrap();
    let registry = plugins.registry();
    let names: Vec<_> = registry
        .plugins()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(names, ["First", "Second"]);
    assert!(registry.failures().is_empty());
}

#[test]
fn missing_plugin_directory_is_an_error() {
    let registry = Registry::new(HostConfig::default());
    assert!(
        registry
            .load_dir("/nonexistent/plugbox/plugins".as_ref())
            .is_err()
    );
}

#[test]
fn name_and_version_are_read_without_overwriting_guest_data() {
    // plugin_version returns what sits in the last 256 bytes of the module's memory, where
    // the reference host would have written the name.
    let plugins = Plugins::new();
    plugins.add(
        "ident",
        "Ident",
        json!({}),
        &module(
            1,
            &format!(
                r#"(data (i32.const 0) "Ident Plugin") (data (i32.const 65280) "SENTINEL")
                (func (export "plugin_name") (param $buf i32) (param $len i32) (result i32)
                  (memory.copy (local.get $buf) (i32.const 0) (i32.const 12)) (i32.const 12))
                (func (export "plugin_version") (param $buf i32) (param $len i32) (result i32)
                  (memory.copy (local.get $buf) (i32.const 65280) (i32.const 8)) (i32.const 8))
                {SCAN}"#
            ),
        ),
    );
    let registry = plugins.registry();
    let plugin = &registry.plugins()[0];
    assert_eq!(plugin.guest_name(), Some("Ident Plugin"));
    assert_eq!(plugin.guest_version(), Some("SENTINEL"));
}

#[test]
fn initialize_runs_before_on_load_and_each_scan() {
    // _initialize sets a global that on_load and scan check.
    let plugins = Plugins::new();
    plugins.add(
        "init",
        "Init",
        json!({}),
        &module(
            1,
            r#"(global $ready (mut i32) (i32.const 0))
            (func (export "_initialize") (global.set $ready (i32.const 1)))
            (func (export "on_load") (result i32) (i32.sub (i32.const 1) (global.get $ready)))
            (func (export "scan") (param i32 i32) (result i32) (i32.mul (global.get $ready) (i32.const 9)))"#,
        ),
    );
    let registry = plugins.registry();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    assert_eq!(
        run_of(&scan(&registry, b"x"), "Init").status,
        plugbox::RunStatus::Ok { score: 9 }
    );
}

#[test]
fn host_defined_file_types_catch_manifest_typos() {
    let plugins = Plugins::new();
    plugins.add(
        "sbom",
        "Sbom",
        json!({"file_types": ["sbom-component"]}),
        MARKER_WAT,
    );
    plugins.add(
        "typo",
        "Typo",
        json!({"file_types": ["sbom-componnet"]}),
        MARKER_WAT,
    );
    let registry = Registry::new(HostConfig::default().with_file_types(["sbom-component"]));
    registry.load_dir(plugins.path()).unwrap();
    assert_eq!(registry.plugins().len(), 1);
    assert!(
        load_error(&registry, "typo")
            .contains("unknown name \"sbom-componnet\"; accepted: sbom-component, all")
    );
    let report = registry.scan(
        plugbox::Input::new(MARKED)
            .path("component")
            .file_type("sbom-component"),
    );
    assert_eq!(threats_of(&report, "Sbom"), ["Custom.MaliciousMarker"]);
}

#[test]
fn plugins_load_from_memory_without_filesystem_access() {
    let manifest = |filesystem: bool| {
        let mut json = manifest("InMemory");
        json["permissions"]["filesystem"] = filesystem.into();
        json.to_string().into_bytes()
    };
    let wasm = wat::parse_str(MARKER_WAT).unwrap();
    let registry = Registry::new(HostConfig::default());
    let plugin = registry.add_plugin(&manifest(false), &wasm).unwrap();
    assert_eq!(plugin.dir(), None);
    assert_good_found_marker_as(
        &registry.scan(plugbox::Input::new(MARKED).path("m").file_type("unknown")),
        "InMemory",
    );
    let error = registry
        .add_plugin(&manifest(true), &wasm)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("plugin 'InMemory'") && error.contains("no directory to grant"),
        "{error}"
    );
    let error = registry
        .add_plugin(&manifest(false), MARKER_WAT.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(error.contains("text format"), "{error}");
}

fn assert_good_found_marker_as(report: &plugbox::ScanReport, plugin: &str) {
    assert_eq!(threats_of(report, plugin), ["Custom.MaliciousMarker"]);
}

#[test]
fn oversized_module_file_is_refused_before_reading() {
    let plugins = Plugins::new();
    let dir = plugins.add("huge", "Huge", json!({}), MARKER_WAT);
    // A sparse file: 200 MB on paper, nothing on disk.
    let file = std::fs::File::create(dir.join("plugin.wasm")).unwrap();
    file.set_len(200 << 20).unwrap();
    let started = std::time::Instant::now();
    let registry = load_beside_good(&plugins);
    assert!(load_error(&registry, "huge").contains("modules may be at most"));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn load_dir_on_a_plugin_directory_loads_that_plugin_alone() {
    let plugins = Plugins::new();
    let good = plugins.add_good("good");
    // A plugin directory inside it is not looked at: the directory is one plugin.
    std::fs::create_dir(good.join("nested")).unwrap();
    for file in ["plugin.json", "plugin.wasm"] {
        std::fs::copy(good.join(file), good.join("nested").join(file)).unwrap();
    }
    let registry = Registry::new(HostConfig::default());
    registry.load_dir(&good).unwrap();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    let names: Vec<String> = registry
        .plugins()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(names, ["Good"]);
    assert_good_found_marker(&scan(&registry, MARKED));
    assert!(registry.reload().unwrap().is_empty());
    // Its plugin.json gone, it is a directory of plugins again.
    std::fs::remove_file(good.join("plugin.json")).unwrap();
    registry.reload().unwrap();
    let nested = registry.plugins();
    assert_eq!(nested.len(), 1, "{:?}", registry.failures());
    assert_eq!(nested[0].dir(), Some(good.join("nested").as_path()));
}
