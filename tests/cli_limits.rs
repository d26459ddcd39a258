//! `plugbox scan` limits the operator can only tighten (`--max-exec-ms`, `--max-memory-mb`,
//! `--max-file-size`, `--exclude`, `--alert-exceeds-max`), the end summary, and `--quiet`.
#![cfg(feature = "cli")]

mod cli_common;
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use cli_common::*;
use common::*;
use serde_json::{Value, json};

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

fn summary(lines: &[Value]) -> &Value {
    let summary = lines.last().expect("no output");
    assert_eq!(summary["type"], "summary", "{summary}");
    summary
}

/// The run of `plugin` in the `file` object of `path`.
fn run_on<'a>(lines: &'a [Value], path: &Path, plugin: &str) -> &'a Value {
    of_type(lines, "file")
        .into_iter()
        .find(|f| f["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("no file {}", path.display()))["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["plugin"] == plugin)
        .unwrap_or_else(|| panic!("no run of {plugin}"))
}

fn file_in(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

#[test]
fn max_exec_ms_tightens_the_time_budget() {
    // About 60 million instructions: done well within the manifest's 60 s, not in 5 ms.
    let plugins = Plugins::new();
    plugins.add(
        "busy",
        "Busy",
        json!({"permissions": {"max_exec_ms": 60000}}),
        &scan_module(
            "(local $i i32) (local.set $i (i32.const 15000000))
             (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
             (i32.const 0)",
        ),
    );
    let dir = plugins.path().to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = file_in(files.path(), "f", b"x");
    let out = plugbox(&["scan", "--json", "--plugins", dir, file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(run_on(&json_lines(&out), &file, "Busy")["status"], "ok");

    let out = plugbox(&[
        "scan",
        "--json",
        "--max-exec-ms",
        "5",
        "--plugins",
        dir,
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let run = run_on(&json_lines(&out), &file, "Busy").clone();
    assert_eq!(
        (run["status"].as_str(), run["kind"].as_str()),
        (Some("failed"), Some("timeout"))
    );
    assert!(
        run["reason"]
            .as_str()
            .unwrap()
            .contains("time budget of 5 ms"),
        "{run}"
    );
}

#[test]
fn max_exec_ms_never_raises_a_manifest_budget() {
    let plugins = Plugins::new();
    plugins.add(
        "spin",
        "Spin",
        json!({"permissions": {"max_exec_ms": 100}}),
        &scan_module("(loop $l (br $l)) (i32.const 0)"),
    );
    let files = tempfile::tempdir().unwrap();
    let file = file_in(files.path(), "f", b"x");
    let start = Instant::now();
    let out = plugbox(&[
        "scan",
        "--max-exec-ms",
        "600000",
        "--plugins",
        plugins.path().to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("time budget of 100 ms"), "{stderr}");
    // Generous: the budget, plus process start and plugin load on a loaded machine.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn max_memory_mb_tightens_and_never_loosens_memory_caps() {
    let plugins = Plugins::new();
    plugins.add_good("good"); // 16 MiB
    plugins.add(
        "small",
        "Small",
        json!({"permissions": {"max_memory_mb": 1}}),
        MARKER_WAT,
    );
    let dir = plugins.path().to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut data = vec![b'.'; 3 << 19]; // 1.5 MiB
    data.extend_from_slice(MARKED);
    let big = file_in(files.path(), "big.bin", &data);
    let big = big.to_str().unwrap();

    // A ceiling above both caps raises neither: Small still cannot take the file.
    let out = plugbox(&[
        "scan",
        "--json",
        "--max-memory-mb",
        "4096",
        "--plugins",
        dir,
        big,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(run_on(&lines, Path::new(big), "Good")["status"], "ok");
    let small = run_on(&lines, Path::new(big), "Small");
    assert_eq!(small["status"], "skipped");
    assert!(
        small["reason"]
            .as_str()
            .unwrap()
            .contains("memory cap of 1048576 bytes"),
        "{small}"
    );
    assert_eq!(summary(&lines)["plugin_skips"], json!({"Small": 1}));
    assert_eq!(summary(&lines)["limits_exceeded"], 1);

    // A ceiling of 1 MiB lowers Good's 16 MiB: now no plugin can take it.
    let out = plugbox(&[
        "scan",
        "--json",
        "--max-memory-mb",
        "1",
        "--plugins",
        dir,
        big,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let skipped = of_type(&lines, "file_skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["limit"], "memory_caps");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("larger than 1048576 bytes, the largest plugin memory cap"),
        "{}",
        skipped[0]
    );
    assert_eq!(summary(&lines)["not_scanned"]["memory_caps"], 1);
    assert_eq!(summary(&lines)["files"], 0);
}

#[test]
fn max_file_size_leaves_larger_files_unread_and_reports_them() {
    let files = tempfile::tempdir().unwrap();
    file_in(files.path(), "a-small", &[b'x'; 100]);
    let large = file_in(files.path(), "b-large", &[b'x'; 101]);
    let dir = files.path().to_str().unwrap();
    let out = plugbox(&[
        "scan",
        "--max-file-size",
        "100",
        "--plugins",
        "examples/plugins",
        dir,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning, not an error: {}",
        text(&out.stderr)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "plugbox: warning: {} not scanned: is larger than 100 bytes, the --max-file-size limit",
            large.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 files scanned with 7 plugins"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 files not scanned: 1 over --max-file-size"),
        "{stderr}"
    );

    let out = plugbox(&[
        "scan",
        "--json",
        "--max-file-size",
        "1K",
        "--plugins",
        "examples/plugins",
        dir,
    ]);
    assert_eq!(
        summary(&json_lines(&out))["not_scanned"]["max_file_size"],
        0
    );
    let out = plugbox(&[
        "scan",
        "--json",
        "--max-file-size",
        "0",
        "--plugins",
        "examples/plugins",
        dir,
    ]);
    let lines = json_lines(&out);
    let skipped = of_type(&lines, "file_skipped");
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[1]["path"], large.to_str().unwrap());
    assert_eq!(skipped[1]["limit"], "max_file_size");
    assert_eq!(skipped[1]["findings"], json!([]));
    assert_eq!(summary(&lines)["not_scanned"]["max_file_size"], 2);
    assert_eq!(summary(&lines)["limits_exceeded"], 2);
}

#[test]
fn exclude_leaves_out_matching_files_and_directories() {
    let files = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(files.path().join("sub/deeper")).unwrap();
    file_in(files.path(), "keep.txt", MARKED);
    file_in(files.path(), "drop.log", MARKED);
    file_in(files.path(), "sub/deeper/inside.txt", MARKED);
    let dir = files.path().to_str().unwrap();
    let run = |excludes: &[&str]| {
        let mut args = vec!["scan", "--json", "--plugins", "examples/plugins"];
        for glob in excludes {
            args.extend(["--exclude", glob]);
        }
        args.push(dir);
        json_lines(&plugbox(&args))
    };
    let names = |lines: &[Value]| -> Vec<String> {
        of_type(lines, "file")
            .iter()
            .map(|f| {
                Path::new(f["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    assert_eq!(names(&run(&[])), ["drop.log", "keep.txt", "inside.txt"]);
    let lines = run(&["*.log", "sub"]);
    assert_eq!(names(&lines), ["keep.txt"]);
    assert_eq!(summary(&lines)["excluded"], 2);
    assert_eq!(names(&run(&["**/deeper/*.txt"])), ["drop.log", "keep.txt"]);
    assert_eq!(
        names(&run(&[&format!("{dir}/k*")])),
        ["drop.log", "inside.txt"]
    );

    let out = plugbox(&[
        "scan",
        "--exclude",
        "[oops",
        "--plugins",
        "examples/plugins",
        dir,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--exclude: bad pattern '[oops'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn alert_exceeds_max_turns_limit_skips_into_findings() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    plugins.add(
        "small",
        "Small",
        json!({"permissions": {"max_memory_mb": 1}}),
        MARKER_WAT,
    );
    let dir = plugins.path().to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let big = file_in(files.path(), "big.bin", &vec![b'.'; 3 << 19]);
    let big = big.to_str().unwrap();
    // A clean file over Small's cap: a warning, exit 0 ...
    let out = plugbox(&["scan", "--plugins", dir, big]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    // ... and with --alert-exceeds-max a finding of Small, which fails the scan.
    let out = plugbox(&["scan", "--alert-exceeds-max", "--plugins", dir, big]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "{big}: Heuristics.Limits.Exceeded [score 60] by 'Small': the file is 1572864 bytes, more than the plugin's memory cap"
        )),
        "{stdout}"
    );
    let out = plugbox(&[
        "scan",
        "--json",
        "--alert-exceeds-max",
        "--fail-score",
        "61",
        "--plugins",
        dir,
        big,
    ]);
    assert_eq!(out.status.code(), Some(0), "60 is below --fail-score 61");
    let lines = json_lines(&out);
    let file = of_type(&lines, "file")[0];
    assert_eq!(file["max_score"], 60);
    assert_eq!(file["findings"][0]["plugin"], "Small");
    assert_eq!(file["findings"][0]["threat"], "Heuristics.Limits.Exceeded");
    assert_eq!(summary(&lines)["findings_by_band"]["malicious"], 1);

    // The host's own limit: the finding is plugbox's.
    let out = plugbox(&[
        "scan",
        "--json",
        "--alert-exceeds-max",
        "--max-file-size",
        "1M",
        "--plugins",
        dir,
        big,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let skipped = of_type(&lines, "file_skipped")[0];
    assert_eq!(skipped["findings"][0]["plugin"], "plugbox");
    assert_eq!(skipped["findings"][0]["score"], 60);
    assert_eq!(
        skipped["findings"][0]["detail"],
        "the file is larger than 1048576 bytes, the --max-file-size limit; no plugin scanned it"
    );
    assert_eq!(summary(&lines)["detections"], 1);
}

/// `Bands`: a finding of score 10 on files starting with `a`, 45 on `b`, 70 on `c`; and
/// `Trap`, which traps on files starting with `t`.
fn band_plugins() -> Plugins {
    let plugins = Plugins::new();
    plugins.add(
        "bands",
        "Bands",
        json!({}),
        &scan_module(
            "(local $s i32) (local $c i32)
             (local.set $c (i32.load8_u (local.get $ptr)))
             (local.set $s (select (i32.const 10) (i32.const 0) (i32.eq (local.get $c) (i32.const 97))))
             (local.set $s (select (i32.const 45) (local.get $s) (i32.eq (local.get $c) (i32.const 98))))
             (local.set $s (select (i32.const 70) (local.get $s) (i32.eq (local.get $c) (i32.const 99))))
             (if (local.get $s) (then
               (call $report_finding (i32.const 0) (i32.const 11) (local.get $s) (i32.const 16) (i32.const 6))))
             (local.get $s)",
        ),
    );
    plugins.add("trap", "Trap", json!({}), &scan_module("(if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 116)) (then unreachable)) (i32.const 0)"));
    plugins
}

fn band_files() -> tempfile::TempDir {
    let files = tempfile::tempdir().unwrap();
    for (name, data) in [
        ("1", "a"),
        ("2", "a"),
        ("3", "b"),
        ("4", "c"),
        ("5", "t"),
        ("6", "-"),
        ("7", "xx"),
    ] {
        file_in(files.path(), name, data.as_bytes());
    }
    files
}

#[test]
fn the_summary_counts_bands_reasons_and_failures() {
    let (plugins, files) = (band_plugins(), band_files());
    let (dir, tree) = (
        plugins.path().to_str().unwrap(),
        files.path().to_str().unwrap(),
    );
    let args = [
        "scan",
        "--max-file-size",
        "1",
        "--plugins",
        dir,
        tree,
        "/no/such",
    ];
    let out = plugbox(&args);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for line in [
        "plugbox: 6 files scanned with 2 plugins: 4 findings, 1 at or above score 60, 2 errors\n",
        "plugbox: findings by band: 2 informational (1-29), 1 suspicious (30-59), 1 malicious (60-100)\n",
        "plugbox: 2 files not scanned: 1 over --max-file-size, 1 unreadable\n",
        "plugbox: plugin failures: 'Trap' 1\n",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let lines = json_lines(&plugbox(&json_args));
    let summary = summary(&lines).clone();
    assert_eq!(
        summary,
        json!({
            "type": "summary", "plugins": 2, "files": 6, "findings": 4, "detections": 1,
            "fail_score": 60, "errors": 2, "bytes": 6,
            "findings_by_band": {"informational": 2, "suspicious": 1, "malicious": 1},
            "not_scanned": {"max_file_size": 1, "memory_caps": 0, "unreadable": 1},
            "limits_exceeded": 1,
            "plugin_skips": {},
            "plugin_failures": {"Trap": 1},
            "excluded": 0,
        })
    );
}

#[test]
fn quiet_prints_findings_and_errors_only() {
    let (plugins, files) = (band_plugins(), band_files());
    let (dir, tree) = (
        plugins.path().to_str().unwrap(),
        files.path().to_str().unwrap(),
    );
    let args = ["scan", "--max-file-size", "1", "--plugins", dir, tree];
    let loud = plugbox(&args);
    let mut quiet_args = args.to_vec();
    quiet_args.push("--quiet");
    let quiet = plugbox(&quiet_args);
    assert_eq!(quiet.status.code(), loud.status.code());
    assert_eq!(quiet.status.code(), Some(2));
    assert_eq!(
        text(&quiet.stdout),
        text(&loud.stdout),
        "the findings are all there"
    );
    assert_eq!(text(&quiet.stdout).lines().count(), 4);
    let stderr = text(&quiet.stderr);
    assert!(
        stderr.contains("plugbox: error: plugin 'Trap' on"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "errors only: {stderr}");
    assert!(
        text(&loud.stderr).contains("not scanned") && text(&loud.stderr).contains("files scanned")
    );

    // JSON: files with findings or errors, no summary.
    quiet_args.push("--json");
    let lines = json_lines(&plugbox(&quiet_args));
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["file", "file", "file", "file", "file"]);
    assert!(lines.iter().all(|l| l["path"] != format!("{tree}/6")));
}

#[test]
fn a_closed_stderr_does_not_end_the_scan() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(["scan", "--jobs", "2", "--plugins"])
        .arg(plugins.path())
        .arg("examples/samples")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads stderr: every write to it fails (EPIPE).
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("marked.txt: Custom.MaliciousMarker"));
}
