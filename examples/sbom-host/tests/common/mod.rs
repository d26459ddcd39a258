//! Helpers for sbom-host's end-to-end tests: run the binary, write plugins into temporary
//! directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// Runs sbom-host from the crate's directory.
pub fn sbom_host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbom-host"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sbom-host runs")
}

/// The samples' arguments.
pub const SAMPLES: [&str; 2] = ["samples/old.cdx.json", "samples/new.cdx.json"];

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs sbom-host with `--format json`; the exit code and the document.
pub fn json_run(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = sbom_host(&all);
    let document = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        )
    });
    (out.status.code(), document, stderr(&out))
}

/// `(plugin_name, component_purl, severity, message)` of each finding, in order.
pub fn findings(document: &Value) -> Vec<(String, String, String, String)> {
    document["plugin_findings"]
        .as_array()
        .expect("plugin_findings is an array")
        .iter()
        .map(|f| {
            let text = |k: &str| {
                f[k].as_str()
                    .unwrap_or_else(|| panic!("finding without {k}: {f}"))
                    .to_owned()
            };
            (
                text("plugin_name"),
                text("component_purl"),
                text("severity"),
                text("message"),
            )
        })
        .collect()
}

/// `(plugin_name, component_purl, reason)` of each plugin error, in order.
pub fn errors(document: &Value) -> Vec<(String, String, String)> {
    document["plugin_errors"]
        .as_array()
        .expect("plugin_errors is an array")
        .iter()
        .map(|e| {
            let text = |k: &str| {
                e[k].as_str()
                    .unwrap_or_else(|| panic!("error without {k}: {e}"))
                    .to_owned()
            };
            (text("plugin_name"), text("component_purl"), text("reason"))
        })
        .collect()
}

/// A plugin directory with a manifest `plugin.toml` holding `[plugin]` and `table`.
pub fn plugin_dir(root: &Path, name: &str, table: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("plugin.toml");
    std::fs::write(&manifest, format!("[plugin]\nname = \"{name}\"\n{table}\n")).unwrap();
    manifest
}

/// A process plugin: a shell script.
#[cfg(unix)]
pub fn script_plugin(root: &Path, name: &str, script: &str, table: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let manifest = plugin_dir(root, name, &format!("exec = \"./run.sh\"\n{table}"));
    let exec = manifest.with_file_name("run.sh");
    std::fs::write(&exec, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&exec, std::fs::Permissions::from_mode(0o755)).unwrap();
    manifest
}

/// A WebAssembly plugin from WebAssembly text.
pub fn wat_plugin(root: &Path, name: &str, wat: &str, table: &str) -> PathBuf {
    let manifest = plugin_dir(root, name, &format!("exec = \"{name}.wasm\"\n{table}"));
    std::fs::write(
        manifest.with_file_name(format!("{name}.wasm")),
        wat::parse_str(wat).unwrap(),
    )
    .unwrap();
    manifest
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// A command module that writes `text` to stdout, then calls `$main`, which `extra` defines
/// (after the imports, so it may import more).
pub fn wat_printing(text: &str, extra: &str) -> String {
    let escaped: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  {extra}
  (memory (export "memory") 1)
  (data (i32.const 64) "{escaped}")
  (func $print
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const {len}))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (call $print) (call $main)))"#,
        len = text.len()
    )
}

/// Findings JSON with one finding.
pub fn one_finding(kind: &str, severity: &str) -> String {
    format!(
        r#"{{"findings": [{{"kind": "{kind}", "message": "{kind} says hi", "severity": "{severity}", "rule_id": "{kind}.rule"}}]}}"#
    )
}

/// Builds `plugins/banned-packages` into `target_dir` (`target`: None for the host) and
/// returns the path of the built program, or None when the build failed.
fn build_banned_packages(target: Option<&str>, target_dir: &Path) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/banned-packages");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(source.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if let Some(target) = target {
        cargo.args(["--target", target]);
    }
    let built = match target {
        Some(target) => target_dir.join(format!("{target}/release/banned-packages.wasm")),
        None => target_dir.join("release/banned-packages"),
    };
    cargo
        .status()
        .expect("cargo runs")
        .success()
        .then_some(built)
}

/// Whether the standard library for `target` is installed.
fn has_target(target: &str) -> bool {
    Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .is_some_and(|out| Path::new(String::from_utf8_lossy(&out.stdout).trim()).is_dir())
}

/// The plugin's directory in a temporary copy: the sources' `banned.txt` and both manifests,
/// the executable built natively from the sources, and `banned-packages.wasm` built from the
/// same sources when the `wasm32-wasip1` target is installed (else the committed module,
/// which `examples/build.sh` rebuilds, with a note).
pub fn banned_packages() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/banned-packages");
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("banned-packages-build");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("banned-packages-plugin");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["banned.txt", "plugin.toml", "native.toml"] {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
        let native = build_banned_packages(None, &target_dir)
            .expect("the native build of banned-packages failed");
        std::fs::copy(native, dir.join("banned-packages")).unwrap();
        let wasm = if has_target("wasm32-wasip1") {
            build_banned_packages(Some("wasm32-wasip1"), &target_dir)
                .expect("the wasm32-wasip1 build of banned-packages failed")
        } else {
            eprintln!(
                "note: the rustup target wasm32-wasip1 is not installed: using the committed banned-packages.wasm"
            );
            source.join("banned-packages.wasm")
        };
        std::fs::copy(wasm, dir.join("banned-packages.wasm")).unwrap();
        dir
    })
}

/// The path of `plugins/banned-packages`'s manifest `kind` (`plugin` for the WebAssembly
/// build, `native` for the process) in the copy [`banned_packages`] makes.
pub fn banned_packages_manifest(kind: &str) -> String {
    banned_packages()
        .join(format!("{kind}.toml"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Two SBOMs in `dir`: an empty one, and one with `n` npm components (every tenth named `colors-N`
/// at 1.4.1, which banned.txt's `pkg:npm/colors@1.4.1` must not match).
pub fn big_sbom(dir: &Path, n: usize) -> (String, String) {
    let components: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (name, version) = if i % 10 == 0 { (format!("colors-{i}"), "1.4.1") } else { (format!("pkg-{i}"), "1.0.0") };
            serde_json::json!({"type": "library", "name": name, "version": version, "purl": format!("pkg:npm/{name}@{version}")})
        })
        .collect();
    let write = |name: &str, components: &[serde_json::Value]| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            serde_json::json!({"components": components}).to_string(),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    (write("old.json", &[]), write("new.json", &components))
}
