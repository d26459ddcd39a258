//! `plugbox plugins check|list|test`: each load problem class with its own kind, message and
//! fix; the facts of a good plugin; listing a plugin directory; golden tests passing,
//! failing with a diff, and not running.

mod cli_common;
mod common;

use std::path::Path;

use cli_common::*;
use common::{MARKER_WAT, Plugins};
use serde_json::{Value, json};

/// A minimal detection plugin with `extra` spliced into the module.
fn module(extra: &str) -> String {
    format!(
        r#"(module {extra} (memory (export "memory") 1)
             (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#
    )
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// `plugins check DIR --json`: the exit code and the one object printed.
fn check_json(dir: &Path) -> (Option<i32>, Value) {
    let out = plugbox(&["plugins", "check", path(dir), "--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", text(&out.stdout));
    (out.status.code(), lines.into_iter().next().unwrap())
}

/// The `kind`s of a failed check.
fn kinds(object: &Value) -> Vec<String> {
    object["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn check_gives_each_problem_class_its_own_kind_message_and_fix() {
    let plugins = Plugins::new();
    let text_format = plugins.add("text-format", "T", json!({}), &module(""));
    std::fs::write(text_format.join("plugin.wasm"), module("")).unwrap();
    let cases = [
        (
            plugins.add(
                "manifest",
                "M",
                json!({"permissions": {"max_memory_mb": 0}}),
                &module(""),
            ),
            "manifest",
            "max_memory_mb",
        ),
        (
            plugins.add(
                "escape",
                "E",
                json!({"wasm_file": "../escape/plugin.wasm"}),
                &module(""),
            ),
            "wasm_path",
            "..",
        ),
        (text_format, "text_format", "text format"),
        (
            plugins.add(
                "unknown-import",
                "U",
                json!({}),
                &module(r#"(import "env" "open_socket" (func (param i32)))"#),
            ),
            "unknown_import",
            "env.open_socket",
        ),
        (
            plugins.add(
                "import-signature",
                "I",
                json!({}),
                &module(r#"(import "env" "log_message" (func (param i32 i32)))"#),
            ),
            "import_signature",
            "env.log_message",
        ),
        (
            plugins.add(
                "missing-export",
                "X",
                json!({}),
                r#"(module (memory (export "memory") 1))"#,
            ),
            "missing_export",
            "`scan`",
        ),
        (
            plugins.add(
                "mistyped-export",
                "Y",
                json!({}),
                r#"(module (memory (export "memory") 1)
                     (func (export "scan") (param i32) (result i32) (i32.const 0)))"#,
            ),
            "export_signature",
            "`scan`",
        ),
        (
            plugins.add(
                "memory",
                "Mem",
                json!({}),
                r#"(module (memory (export "memory") 300)
                     (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#,
            ),
            "memory_over_cap",
            "",
        ),
        (
            plugins.add(
                "on-load-trap",
                "Trap",
                json!({}),
                &module(r#"(func (export "on_load") (result i32) unreachable)"#),
            ),
            "on_load_failed",
            "on_load",
        ),
        (
            plugins.add(
                "on-load-refused",
                "Refused",
                json!({}),
                &module(r#"(func (export "on_load") (result i32) (i32.const 3))"#),
            ),
            "on_load_refused",
            "returned 3",
        ),
        (
            plugins.add(
                "on-load-loop",
                "Loop",
                json!({"permissions": {"max_exec_ms": 50}}),
                &module(r#"(func (export "on_load") (result i32) (loop (br 0)) (i32.const 0))"#),
            ),
            "load_timeout",
            "",
        ),
        (
            plugins.add(
                "start-loop",
                "StartLoop",
                json!({"permissions": {"max_exec_ms": 50}}),
                &module(r#"(func $start (loop (br 0))) (start $start)"#),
            ),
            "load_timeout",
            "",
        ),
    ];
    let mut messages = Vec::new();
    let mut fixes = std::collections::BTreeMap::new();
    for (dir, kind, needle) in &cases {
        let (code, object) = check_json(dir);
        assert_eq!(code, Some(2), "{kind}: {object}");
        assert_eq!(object["type"], "plugin_check");
        assert_eq!(object["ok"], false);
        assert!(object["plugin"].is_null());
        assert_eq!(kinds(&object), [*kind], "{object}");
        let problem = &object["problems"][0];
        let message = problem["message"].as_str().unwrap().to_owned();
        assert!(message.contains(needle), "{kind}: {message}");
        let fix = problem["fix"].as_str().unwrap().to_owned();
        assert!(!fix.is_empty(), "{kind}");
        fixes.insert(*kind, fix);
        messages.push(message);

        // The text output shows the same problem and its fix.
        let out = plugbox(&["plugins", "check", path(dir)]);
        assert_eq!(out.status.code(), Some(2));
        let shown = text(&out.stdout);
        assert!(shown.starts_with("FAIL "), "{shown}");
        assert!(shown.contains(&format!("  {kind}: ")), "{shown}");
        assert!(shown.contains("    fix: "), "{shown}");
    }
    let distinct: std::collections::BTreeSet<&String> = messages.iter().collect();
    assert_eq!(distinct.len(), messages.len(), "{messages:#?}");
    let distinct_fixes: std::collections::BTreeSet<&String> = fixes.values().collect();
    assert_eq!(distinct_fixes.len(), fixes.len(), "{fixes:#?}");
}

#[test]
fn check_lists_every_import_and_export_problem() {
    let plugins = Plugins::new();
    let dir = plugins.add(
        "many",
        "Many",
        json!({}),
        r#"(module (import "env" "open_socket" (func (param i32)))
             (import "env" "exec" (func (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "scan") (param i32) (result i32) (i32.const 0))
             (func (export "on_load") (param i32)))"#,
    );
    let (code, object) = check_json(&dir);
    assert_eq!(code, Some(2));
    assert_eq!(
        kinds(&object),
        [
            "unknown_import",
            "unknown_import",
            "export_signature",
            "export_signature"
        ],
        "{object}"
    );
    let messages: Vec<&str> = object["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].contains("env.open_socket"), "{messages:?}");
    assert!(messages[1].contains("env.exec"), "{messages:?}");
    assert!(messages[2].contains("`scan`"), "{messages:?}");
    assert!(messages[3].contains("`on_load`"), "{messages:?}");
    let out = plugbox(&["plugins", "check", path(&dir)]);
    let shown = text(&out.stdout);
    assert!(shown.contains("4 problems"), "{shown}");
}

#[test]
fn check_prints_the_facts_of_a_good_plugin() {
    let out = plugbox(&["plugins", "check", "examples/plugins/marker-scanner"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    for line in [
        "OK examples/plugins/marker-scanner",
        "  name: Marker Scanner 0.1.0",
        "  guest: Marker Scanner 0.1.0",
        "  wasm_file: marker_scanner.wasm",
        "  input: copy",
        "  file_types: all",
        "  platforms: all",
        "  permissions: filesystem false, max_memory_mb 16, max_exec_ms 1000",
        "    env.report_finding: func (i32, i32, i32, i32, i32) -> ()",
        "    scan: func (i32, i32) -> (i32)",
        "    memory: a memory",
        "  memory: initial 1 pages (65536 bytes), maximum none declared",
        "  pre-initialised: ",
        "  load cost: ",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }

    let plugins = Plugins::new();
    let bad = plugins.add(
        "bad",
        "Bad",
        json!({}),
        r#"(module (memory (export "memory") 1))"#,
    );
    let out = plugbox(&[
        "plugins",
        "check",
        "examples/plugins/marker-scanner",
        path(&bad),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "one bad DIR fails the check");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    let good = &lines[0];
    assert_eq!(good["type"], "plugin_check");
    assert_eq!(good["ok"], true);
    assert_eq!(good["dir"], "examples/plugins/marker-scanner");
    assert_eq!(good["problems"], json!([]));
    let facts = &good["plugin"];
    assert_eq!(facts["name"], "Marker Scanner");
    assert_eq!(facts["version"], "0.1.0");
    assert_eq!(facts["guest_name"], "Marker Scanner");
    assert_eq!(facts["input"], "copy");
    assert_eq!(facts["file_types"], json!(["all"]));
    assert_eq!(
        facts["permissions"],
        json!({"filesystem": false, "max_memory_mb": 16, "max_exec_ms": 1000})
    );
    assert!(facts["imports"].as_array().unwrap().contains(
        &json!({"module": "env", "name": "log_message", "type": "func (i32, i32, i32) -> ()"})
    ));
    assert!(
        facts["exports"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "scan", "type": "func (i32, i32) -> (i32)"}))
    );
    assert_eq!(facts["memory"]["initial_pages"], 1);
    assert_eq!(facts["memory"]["initial_bytes"], 65536);
    assert!(facts["pre_initialized"].is_boolean());
    assert!(facts["load_cost"]["fuel"].is_u64());
    assert_eq!(lines[1]["ok"], false);
    assert_eq!(kinds(&lines[1]), ["missing_export"]);
}

/// Every bundled example loads cleanly and passes its golden test (`tests/expected.json`),
/// as CI's `plugbox plugins test examples/plugins/*` also checks on the rebuilt modules.
#[test]
fn every_bundled_example_passes_check_and_its_golden_test() {
    let mut dirs: Vec<String> = std::fs::read_dir("examples/plugins")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("plugin.json").is_file())
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "{dirs:?}");
    for dir in &dirs {
        assert!(
            Path::new(dir).join("tests/expected.json").is_file(),
            "{dir} has no golden test"
        );
    }
    let args: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let check = plugbox(&[&["plugins", "check"][..], &args].concat());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
    let test = plugbox(&[&["plugins", "test"][..], &args].concat());
    let shown = text(&test.stdout);
    assert_eq!(test.status.code(), Some(0), "{shown}{}", text(&test.stderr));
    for dir in &dirs {
        assert!(
            shown.contains(&format!("{dir}: ")),
            "{dir} not tested: {shown}"
        );
        assert!(!shown.contains(&format!("{dir}: 0 passed")), "{shown}");
    }
    assert!(!shown.contains("FAIL"), "{shown}");
}

#[test]
fn list_shows_plugins_skips_and_failures() {
    let out = plugbox(&["plugins", "list", "--plugins", "examples/plugins"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains("plugin  Marker Scanner 0.1.0  examples/plugins/marker-scanner"),
        "{shown}"
    );
    assert!(shown.contains(" 0 failed"), "{shown}");

    let plugins = Plugins::new();
    plugins.add_good("good");
    plugins.add(
        "broken",
        "Broken",
        json!({}),
        r#"(module (memory (export "memory") 1))"#,
    );
    plugins.add(
        "elsewhere",
        "Elsewhere",
        json!({"platforms": [if cfg!(windows) { "linux" } else { "windows" }]}),
        MARKER_WAT,
    );
    let dir = path(plugins.path());
    let out = plugbox(&["plugins", "list", "--plugins", dir]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("plugin  Good 1.0.0"), "{shown}");
    assert!(shown.contains("skipped "), "{shown}");
    assert!(
        shown.contains("error   ") && shown.contains("`scan`"),
        "{shown}"
    );
    assert!(shown.contains("1 loaded, 1 skipped, 1 failed"), "{shown}");

    let out = plugbox(&["plugins", "list", "--plugins", dir, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["plugin", "skipped", "load_error"]);
    assert_eq!(lines[0]["name"], "Good");
    assert_eq!(lines[2]["plugin"], "Broken");
    assert_eq!(lines[2]["kind"], "missing_export");

    let out = plugbox(&["plugins", "list", "--plugins", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/dir"));
}

/// A marker plugin with `tests/` holding `marked.txt`, `clean.txt` and `expected`.
fn golden(plugins: &Plugins, dir: &str, expected: &str) -> String {
    let dir = plugins.add(dir, "Golden", json!({}), MARKER_WAT);
    let tests = dir.join("tests");
    std::fs::create_dir(&tests).unwrap();
    std::fs::write(tests.join("marked.txt"), "xx MALICIOUS_MARKER xx").unwrap();
    std::fs::write(tests.join("clean.txt"), "nothing here").unwrap();
    std::fs::write(tests.join("expected.json"), expected).unwrap();
    path(&dir).to_owned()
}

const RIGHT: &str =
    r#"{"marked.txt": [{"threat": "Custom.MaliciousMarker", "score": 85}], "clean.txt": []}"#;

#[test]
fn test_passes_on_right_expectations() {
    let plugins = Plugins::new();
    let dir = golden(&plugins, "right", RIGHT);
    std::fs::write(Path::new(&dir).join("tests/notes.md"), "not a sample").unwrap();
    let out = plugbox(&["plugins", "test", &dir]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains(&format!(
            "PASS {dir}/tests/clean.txt\nPASS {dir}/tests/marked.txt\n"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("note: ") && shown.contains("notes.md"),
        "{shown}"
    );
    assert!(shown.contains("2 passed, 0 failed"), "{shown}");

    // A detail, when given, is compared too.
    let detailed = r#"{"marked.txt": [{"threat": "Custom.MaliciousMarker", "score": 85,
        "detail": "Found MALICIOUS_MARKER string in file data"}], "clean.txt": []}"#;
    let dir = golden(&plugins, "detailed", detailed);
    let out = plugbox(&["plugins", "test", &dir, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["type"], "plugin_test");
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines.last().unwrap()["type"], "plugin_test_summary");
    assert_eq!(lines.last().unwrap()["passed"], 2);
}

#[test]
fn test_fails_with_a_diff_on_wrong_expectations() {
    let plugins = Plugins::new();
    let cases = [
        (
            "wrong-score",
            r#"{"marked.txt": [{"threat": "Custom.MaliciousMarker", "score": 90}], "clean.txt": []}"#,
            vec![
                "FAIL ",
                "  - expected: Custom.MaliciousMarker [score 90]",
                "  + found: Custom.MaliciousMarker [score 85] (Found MALICIOUS_MARKER string in file data)",
            ],
        ),
        (
            "missing",
            r#"{"marked.txt": [{"threat": "Custom.MaliciousMarker", "score": 85}], "clean.txt": [{"threat": "Custom.Other", "score": 10}]}"#,
            vec!["  - expected: Custom.Other [score 10]"],
        ),
        (
            "extra",
            r#"{"marked.txt": [], "clean.txt": []}"#,
            vec!["  + found: Custom.MaliciousMarker [score 85]"],
        ),
        (
            "detail",
            r#"{"marked.txt": [{"threat": "Custom.MaliciousMarker", "score": 85, "detail": "other"}], "clean.txt": []}"#,
            vec!["  - expected: Custom.MaliciousMarker [score 85] (other)"],
        ),
    ];
    for (name, expected, lines) in cases {
        let dir = golden(&plugins, name, expected);
        let out = plugbox(&["plugins", "test", &dir]);
        let shown = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {shown}{}",
            text(&out.stderr)
        );
        for line in lines {
            assert!(shown.contains(line), "{name}: {line:?} in\n{shown}");
        }
        assert!(shown.contains("1 passed, 1 failed"), "{name}: {shown}");
    }
}

#[test]
fn test_reports_a_plugin_failure_during_a_sample_as_a_fail() {
    let plugins = Plugins::new();
    let dir = plugins.add(
        "trapping",
        "Trapping",
        json!({}),
        r#"(module (memory (export "memory") 1)
             (func (export "scan") (param i32 i32) (result i32) unreachable))"#,
    );
    std::fs::create_dir(dir.join("tests")).unwrap();
    std::fs::write(dir.join("tests/a.txt"), "a").unwrap();
    std::fs::write(dir.join("tests/expected.json"), r#"{"a.txt": []}"#).unwrap();
    let out = plugbox(&["plugins", "test", path(&dir)]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("FAIL ") && shown.contains("  plugin failed: scan failed"),
        "{shown}"
    );
}

#[test]
fn test_cannot_run_without_good_expectations_samples_or_plugin() {
    let plugins = Plugins::new();
    let cases = [
        ("malformed", Some("{\"marked.txt\": ["), "not valid JSON"),
        ("not-object", Some("[]"), "must be a JSON object"),
        (
            "not-list",
            Some(r#"{"marked.txt": {}}"#),
            "key \"marked.txt\": must be a list",
        ),
        (
            "unknown-key",
            Some(r#"{"marked.txt": [{"threat": "T", "score": 1, "sore": 2}]}"#),
            "key \"marked.txt\": finding 1: unknown key \"sore\"",
        ),
        (
            "bad-score",
            Some(r#"{"marked.txt": [{"threat": "T", "score": 101}]}"#),
            "\"score\" must be an integer from 0 to 100",
        ),
        (
            "bad-threat",
            Some(r#"{"marked.txt": [{"threat": 1, "score": 1}]}"#),
            "\"threat\" must be a string",
        ),
        (
            "escaping-key",
            Some(r#"{"../plugin.json": []}"#),
            "key \"../plugin.json\"",
        ),
        ("missing-sample", Some(r#"{"gone.txt": []}"#), "gone.txt"),
        (
            "duplicate-key",
            Some(r#"{"clean.txt": [], "clean.txt": [{"threat": "T", "score": 1}]}"#),
            "key \"clean.txt\" is given more than once",
        ),
        ("no-expected", None, "expected.json: no such file"),
    ];
    for (name, expected, needle) in cases {
        let dir = golden(&plugins, name, expected.unwrap_or("{}"));
        if expected.is_none() {
            std::fs::remove_file(Path::new(&dir).join("tests/expected.json")).unwrap();
        }
        let out = plugbox(&["plugins", "test", &dir]);
        let error = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}{error}",
            text(&out.stdout)
        );
        assert!(error.contains(needle), "{name}: {needle:?} in {error}");
        assert!(
            error.contains("expected.json") || name == "missing-sample",
            "{name}: {error}"
        );
    }

    let broken = plugins.add(
        "broken",
        "Broken",
        json!({}),
        r#"(module (memory (export "memory") 1))"#,
    );
    let out = plugbox(&["plugins", "test", path(&broken)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("does not load"),
        "{}",
        text(&out.stderr)
    );

    // Could-not-run takes precedence over a failed expectation.
    let wrong = golden(&plugins, "wrong", r#"{"marked.txt": [], "clean.txt": []}"#);
    let out = plugbox(&["plugins", "test", &wrong, path(&broken)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("FAIL "));
}

#[test]
fn plugins_usage_errors_exit_2() {
    for args in [
        &["plugins"][..],
        &["plugins", "frob"],
        &["plugins", "check"],
        &["plugins", "test"],
        &["plugins", "list", "extra"],
        &["plugins", "check", "--plugins", "x", "d"],
    ] {
        let out = plugbox(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("plugbox: error: plugins"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
