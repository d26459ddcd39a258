//! One plugin program, both ways: `plugins/banned-packages` built natively and run as an
//! external process, and built for `wasm32-wasip1` and run in plugbox's sandbox, gives the
//! same findings. Then 1,000 components through three plugins (`cargo bench --features
//! wasm-plugins` compares the cost of one invocation each way).
#![cfg(feature = "wasm-plugins")]

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn native_and_wasm_builds_give_identical_findings() {
    let (native_code, native, native_err) = json_run(&[
        "--plugin",
        &banned_packages_manifest("native"),
        SAMPLES[0],
        SAMPLES[1],
    ]);
    let (wasm_code, wasm, wasm_err) = json_run(&[
        "--plugin",
        &banned_packages_manifest("plugin"),
        SAMPLES[0],
        SAMPLES[1],
    ]);
    assert_eq!(
        (native_code, wasm_code),
        (Some(1), Some(1)),
        "{native_err}\n{wasm_err}"
    );
    assert_eq!(
        native["plugin_errors"],
        serde_json::json!([]),
        "{native_err}"
    );
    assert_eq!(wasm["plugin_errors"], serde_json::json!([]), "{wasm_err}");
    assert_eq!(native["plugin_findings"], wasm["plugin_findings"]);
    let found: Vec<(String, String)> = findings(&wasm).into_iter().map(|f| (f.2, f.3)).collect();
    let expected = [
        (
            "error",
            "pkg:npm/colors@1.4.1: sabotaged by its maintainer: an endless loop on import",
        ),
        (
            "warning",
            "pkg:npm/left-pad@1.3.0: unpublished once and broke builds: pin or vendor it",
        ),
        (
            "error",
            "pkg:pypi/ctx@0.2.6: hijacked release that steals environment variables",
        ),
        (
            "error",
            "pkg:npm/event-stream@3.3.6 (was 3.3.5): compromised release carrying the flatmap-stream backdoor",
        ),
    ];
    assert_eq!(found, expected.map(|(s, m)| (s.to_owned(), m.to_owned())));
    assert!(wasm["plugin_findings"].as_array().unwrap().iter().all(|f| {
        f["plugin_name"] == "banned-packages"
            && f["kind"] == "banned-package"
            && f["rule_id"] == "banned-packages.listed"
    }));
}

#[test]
fn a_thousand_components_through_three_plugins() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = big_sbom(root.path(), 1000);
    // banned-packages parses and matches every component and flags none; the third plugin,
    // in WAT, reports every component once.
    let flag_all = wat_plugin(
        root.path(),
        "flag-all",
        &wat_printing(&one_finding("seen", "info"), "(func $main)"),
        "",
    );
    let plugins = [
        banned_packages_manifest("plugin"),
        banned_packages_manifest("native"),
        path(&flag_all).to_owned(),
    ];
    let mut args: Vec<&str> = Vec::new();
    for p in &plugins {
        args.extend(["--plugin", p]);
    }
    args.extend([old.as_str(), new.as_str()]);
    let started = Instant::now();
    let (code, doc, err) = json_run(&args);
    let elapsed = started.elapsed();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(doc["plugin_errors"], serde_json::json!([]), "{err}");
    let found = findings(&doc);
    assert_eq!(
        found.len(),
        1000,
        "flag-all sees each component once; banned.txt flags none of them"
    );
    eprintln!("1,000 components x 3 plugins (wasm, native process, WAT): {elapsed:?}");
    // Generous: CI runs this unoptimised on 2 loaded cores.
    assert!(elapsed < Duration::from_secs(240), "took {elapsed:?}");
}
