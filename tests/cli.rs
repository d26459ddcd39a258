//! The `plugbox scan` command: output, `--json`, exit codes, directory walking.

mod cli_common;
mod common;

use std::path::Path;
use std::process::{Command, Output};

use cli_common::*;
use common::*;
use serde_json::json;

#[test]
fn readme_scan_detects_the_marker_and_exits_1() {
    let out = plugbox(&["scan", "--plugins", "examples/plugins", "examples/samples"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "examples/samples/marked.txt: Custom.MaliciousMarker [score 85] by 'Marker Scanner'"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("clean.txt"), "{stdout}");
    assert!(text(&out.stderr).contains("3 files scanned with 7 plugins"));
}

#[test]
fn every_example_plugin_reports_through_plugbox_scan() {
    let out = plugbox(&["scan", "--plugins", "examples/plugins", "examples/samples"]);
    let stdout = text(&out.stdout);
    for line in [
        "examples/samples/marked.txt: Custom.MaliciousMarker [score 85] by 'AssemblyScript Marker Scanner'",
        "examples/samples/marked.txt: Custom.MaliciousMarker [score 85] by 'C Marker Scanner'",
        "examples/samples/marked.txt: Custom.MaliciousMarker [score 85] by 'Marker Find'",
        "examples/samples/marked.txt: Custom.MaliciousMarker [score 85] by 'Rust Marker Find'",
        "examples/samples/marked.txt: Custom.MaliciousMarker [score 85] by 'Rust Marker Scanner'",
        "examples/samples/marked.txt: Signature.MaliciousMarker [score 70] by 'Signature List'",
        "examples/samples/installer.sh: Signature.CurlPipeShell [score 70] by 'Signature List'",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn clean_file_exits_0_and_fail_score_moves_the_threshold() {
    let out = plugbox(&[
        "scan",
        "--plugins",
        "examples/plugins",
        "examples/samples/clean.txt",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = plugbox(&[
        "scan",
        "--plugins",
        "examples/plugins",
        "--fail-score",
        "90",
        "examples/samples/marked.txt",
    ]);
    assert_eq!(out.status.code(), Some(0), "85 is below 90");
    assert!(
        text(&out.stdout).contains("Custom.MaliciousMarker"),
        "still listed"
    );
    let out = plugbox(&[
        "scan",
        "--plugins",
        "examples/plugins",
        "--fail-score",
        "85",
        "examples/samples/marked.txt",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn json_output_is_one_object_per_line_with_stable_fields() {
    let out = plugbox(&[
        "scan",
        "--json",
        "--plugins",
        "examples/plugins",
        "examples/samples",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let types: Vec<_> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["file", "file", "file", "summary"]);
    assert_eq!(lines[1]["file_type"], "script");
    let marked = &lines[2];
    assert_eq!(marked["path"], "examples/samples/marked.txt");
    assert_eq!(marked["file_type"], "unknown");
    assert_eq!(marked["max_score"], 85);
    let of_marker_scanner: Vec<_> = marked["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["plugin"] == "Marker Scanner")
        .cloned()
        .collect();
    assert_eq!(
        serde_json::Value::Array(of_marker_scanner),
        json!([{
            "plugin": "Marker Scanner",
            "threat": "Custom.MaliciousMarker",
            "score": 85,
            "detail": "Found MALICIOUS_MARKER string in file data"
        }])
    );
    let run = &marked["plugins"][3];
    assert_eq!(run["plugin"], "Marker Scanner");
    assert_eq!(run["status"], "ok");
    assert_eq!(run["score"], 85);
    for field in ["fuel", "micros", "peak_memory_bytes", "dropped"] {
        assert!(run.get(field).is_some(), "{field} missing: {run}");
    }
    let summary = &lines[3];
    assert_eq!(
        (summary["files"].as_u64(), summary["detections"].as_u64()),
        (Some(3), Some(8))
    );
    assert_eq!(summary["errors"], 0);
}

#[test]
fn broken_plugin_and_failing_plugin_exit_2_and_are_reported() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    plugins.add("broken", "Broken", json!({"platforms": []}), MARKER_WAT);
    let dir = plugins.path().to_str().unwrap();
    let out = plugbox(&["scan", "--plugins", dir, "examples/samples/marked.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).contains("Custom.MaliciousMarker"),
        "finding still shown"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugin not loaded") && stderr.contains("field `platforms`"),
        "{stderr}"
    );

    let out = plugbox(&[
        "scan",
        "--json",
        "--plugins",
        dir,
        "examples/samples/marked.txt",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["type"], "load_error");
    assert!(lines[0]["plugin_dir"].as_str().unwrap().ends_with("broken"));
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("field `platforms`")
    );

    let failing = Plugins::new();
    failing.add_good("good");
    failing.add("trap", "Trap", json!({}), &scan_module("unreachable"));
    let out = plugbox(&[
        "scan",
        "--plugins",
        failing.path().to_str().unwrap(),
        "examples/samples/clean.txt",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugin 'Trap' on examples/samples/clean.txt: scan failed:")
            && stderr.contains("unreachable"),
        "{stderr}"
    );
}

#[test]
fn directories_are_walked_recursively_and_symlink_loops_end() {
    let tree = tempfile::tempdir().unwrap();
    let deep = tree.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("payload.bin"), MARKED).unwrap();
    std::fs::write(tree.path().join("a/clean.txt"), "clean").unwrap();
    std::os::unix::fs::symlink(tree.path(), deep.join("loop")).unwrap();
    let out = plugbox(&[
        "scan",
        "--json",
        "--plugins",
        "examples/plugins",
        tree.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let files: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|l| l["type"] == "file")
        .map(|l| l["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].ends_with("a/b/c/payload.bin") && files[1].ends_with("a/clean.txt"),
        "{files:?}"
    );
}

#[test]
fn missing_paths_are_reported_and_exit_2() {
    let out = plugbox(&[
        "scan",
        "--plugins",
        "examples/plugins",
        "examples/samples/marked.txt",
        "/no/such/file",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/no/such/file"));
    assert!(
        text(&out.stdout).contains("Custom.MaliciousMarker"),
        "other files still scanned"
    );
}

#[test]
fn missing_plugin_directory_is_a_clear_error() {
    let out = plugbox(&["scan", "--plugins", "/no/such/plugins", "examples/samples"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugin directory /no/such/plugins (--plugins) does not exist"),
        "{stderr}"
    );

    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(["scan", "examples/samples"])
        .env_remove("PLUGBOX_PLUGINS")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(".plugbox/plugins (the default) does not exist"));
}

#[test]
fn plugbox_plugins_variable_names_the_directory() {
    let out = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(["scan", "examples/samples/marked.txt"])
        .env("PLUGBOX_PLUGINS", "examples/plugins")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    for (args, expected) in [
        (&["scan", "--fail-score", "x", "p"][..], "--fail-score"),
        (&["scan", "--log-level", "chatty", "p"][..], "--log-level"),
        (&["scan", "--what", "p"][..], "--what"),
        (&["scan"][..], "no PATH"),
        (&[][..], "no command"),
    ] {
        let out = plugbox(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(plugbox(&["--help"]).status.code(), Some(0));
    assert!(text(&plugbox(&["--version"]).stdout).starts_with("plugbox "));
}

#[test]
fn log_level_debug_shows_loading_and_per_call_costs() {
    let out = plugbox(&[
        "scan",
        "--log-level",
        "debug",
        "--plugins",
        "examples/plugins",
        "examples/samples/marked.txt",
    ]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("loaded plugin 'Marker Scanner'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[Marker Scanner] Marker Scanner loaded"),
        "plugin's own log: {stderr}"
    );
    assert!(
        stderr.contains("fuel") && stderr.contains("peak memory"),
        "{stderr}"
    );
    // RUST_LOG keeps working when --log-level is absent.
    let out = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args([
            "scan",
            "--plugins",
            "examples/plugins",
            "examples/samples/marked.txt",
        ])
        .env("RUST_LOG", "plugbox::guest=info")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Marker Scanner loaded") && !stderr.contains("fuel"),
        "{stderr}"
    );
}

#[test]
fn empty_plugin_directory_is_an_incomplete_scan() {
    let empty = tempfile::tempdir().unwrap();
    let out = plugbox(&[
        "scan",
        "--plugins",
        empty.path().to_str().unwrap(),
        "examples/samples",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no plugins loaded"));
    let _ = Path::new("");
}

#[test]
fn plugin_chosen_text_cannot_drive_the_terminal() {
    // A threat name, a detail and a log line full of escape sequences, and a file name too.
    let plugins = Plugins::new();
    plugins.add(
        "ansi",
        "Ansi",
        json!({}),
        &module(
            1,
            r#"(data (i32.const 0) "Evil\1b[2J\1b]0;owned\07") (data (i32.const 32) "line\0dover")
  (func (export "scan") (param i32 i32) (result i32)
    (call $report_finding (i32.const 0) (i32.const 18) (i32.const 90) (i32.const 32) (i32.const 9))
    (call $log_message (i32.const 3) (i32.const 0) (i32.const 18))
    (i32.const 90))"#,
        ),
    );
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("name\x1b[31m.bin"), "x").unwrap();
    let out = plugbox(&[
        "scan",
        "--plugins",
        &plugins.path().to_string_lossy(),
        &files.path().to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
            "raw control characters in: {}",
            text(stream)
        );
    }
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            r"name\u{1b}[31m.bin: Evil\u{1b}[2J\u{1b}]0;owned\u{7} [score 90] by 'Ansi': line\u{d}over"
        ),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains(r"[Ansi] Evil\u{1b}[2J"),
        "{}",
        text(&out.stderr)
    );
    // JSON keeps the text as it is, escaped by JSON itself.
    let out = plugbox(&[
        "scan",
        "--json",
        "--plugins",
        &plugins.path().to_string_lossy(),
        &files.path().to_string_lossy(),
    ]);
    let file = json_lines(&out)
        .into_iter()
        .find(|v| v["type"] == "file")
        .unwrap();
    assert_eq!(file["findings"][0]["threat"], "Evil\x1b[2J\x1b]0;owned\x07");
}

#[test]
fn skipped_plugins_and_load_time_findings_are_shown() {
    let plugins = Plugins::new();
    plugins.add(
        "future",
        "Future",
        json!({"min_engine_version": "99.0.0"}),
        MARKER_WAT,
    );
    plugins.add(
        "loud",
        "Loud",
        json!({}),
        &module(
            1,
            r#"(data (i32.const 0) "Load.Finding")
  (func (export "on_load") (result i32)
    (call $report_finding (i32.const 0) (i32.const 12) (i32.const 30) (i32.const 0) (i32.const 0))
    (i32.const 0))
  (func (export "scan") (param i32 i32) (result i32) (i32.const 0))"#,
        ),
    );
    let out = plugbox(&[
        "scan",
        "--plugins",
        &plugins.path().to_string_lossy(),
        "examples/samples/clean.txt",
    ]);
    // A plugin needing a newer engine is a skip: the scan is complete and clean.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugbox: note: ") && stderr.contains("needs plugbox 99.0.0 or newer"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "plugin 'Loud' reported while loading, with no file scanned: Load.Finding [score 30]"
        ),
        "{stderr}"
    );
    let out = plugbox(&[
        "scan",
        "--json",
        "--plugins",
        &plugins.path().to_string_lossy(),
        "examples/samples/clean.txt",
    ]);
    let lines = json_lines(&out);
    let skipped = lines.iter().find(|v| v["type"] == "load_skipped").unwrap();
    assert_eq!(skipped["plugin"], "Future");
    let loud = lines.iter().find(|v| v["type"] == "load_findings").unwrap();
    assert_eq!(loud["plugin"], "Loud");
    assert_eq!(loud["findings"][0]["threat"], "Load.Finding");
}

// ---- plugbox run ----------------------------------------------------------------------------

const WASI_WRITE: &str = r#"(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))"#;
const WASI_READ: &str = r#"(import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))"#;
const WASI_EXIT: &str = r#"(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#;

/// Writes `len` bytes at `ptr` to fd `fd` (iovec at 1000, count at 1008).
fn wat_write(fd: u32, ptr: &str, len: &str) -> String {
    format!(
        "(i32.store (i32.const 1000) {ptr}) (i32.store (i32.const 1004) {len})
         (drop (call $write (i32.const {fd}) (i32.const 1000) (i32.const 1) (i32.const 1008)))"
    )
}

/// A command module of `imports` and `extra` fields whose `_start` does `body`, written as
/// `name` in `dir`.
fn command_module(dir: &Path, name: &str, imports: &str, extra: &str, body: &str) -> String {
    let wasm = wat::parse_str(format!(
        r#"(module {imports} (memory (export "memory") 1) {extra} (func (export "_start") {body}))"#
    ))
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, wasm).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `plugbox run ARGS` with `stdin`.
fn plugbox_run(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .arg("run")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A module that reads nothing may end before its stdin is written: that is no error.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn run_passes_the_exit_code_through() {
    let dir = tempfile::tempdir().unwrap();
    let exit = |code: i32| {
        let module = command_module(
            dir.path(),
            &format!("exit{code}.wasm"),
            WASI_EXIT,
            "",
            &format!("(call $exit (i32.const {code}))"),
        );
        plugbox_run(&[&module], b"")
    };
    let out = exit(3);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert_eq!(exit(0).status.code(), Some(0));
    // Above 255 (which the OS would cut to 0) and negative codes read as 255, never as success.
    assert_eq!(exit(256).status.code(), Some(255));
    assert_eq!(exit(-1).status.code(), Some(255));
    let returns = command_module(dir.path(), "returns.wasm", "", "", "");
    assert_eq!(plugbox_run(&[&returns], b"").status.code(), Some(0));
}

#[test]
fn run_echoes_stdin_to_stdout_and_shows_stderr_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cat = command_module(
        dir.path(),
        "cat.wasm",
        &format!("{WASI_READ} {WASI_WRITE}"),
        r#"(data (i32.const 500) "guest says hi\n\1b[2J")"#,
        &format!(
            r#"(loop $copy
                 (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 4096))
                 (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
                 (if (i32.load (i32.const 8)) (then {} (br $copy))))
               {}"#,
            wat_write(1, "(i32.const 4096)", "(i32.load (i32.const 8))"),
            wat_write(2, "(i32.const 500)", "(i32.const 18)"),
        ),
    );
    let input: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let out = plugbox_run(&[&cat], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, input);
    // The stderr line as written, without a tag; control characters escaped.
    assert_eq!(text(&out.stderr), "guest says hi\n\\u{1b}[2J\n");
}

#[test]
fn run_gives_arguments_and_environment_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let imports = format!(
        r#"{WASI_WRITE}
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))"#
    );
    // The NUL-separated arguments, a `|`, then the NUL-separated environment.
    let body = format!(
        r#"(drop (call $args_sizes (i32.const 100) (i32.const 104)))
         (drop (call $args (i32.const 200) (i32.const 2000)))
         {}
         {}
         (drop (call $env_sizes (i32.const 100) (i32.const 104)))
         (drop (call $env (i32.const 200) (i32.const 3000)))
         {}"#,
        wat_write(1, "(i32.const 2000)", "(i32.load (i32.const 104))"),
        wat_write(1, "(i32.const 600)", "(i32.const 1)"),
        wat_write(1, "(i32.const 3000)", "(i32.load (i32.const 104))"),
    );
    let module = command_module(
        dir.path(),
        "show.wasm",
        &imports,
        r#"(data (i32.const 600) "|")"#,
        &body,
    );
    let bare = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(["run", &module])
        .env("SECRET", "inherited")
        .output()
        .unwrap();
    assert_eq!(text(&bare.stdout), "show.wasm\0|", "{}", text(&bare.stderr));
    let given = plugbox_run(
        &[
            "--env", "LANG=C", "--env", "EMPTY=", &module, "a b", "--env", "--", "-x",
        ],
        b"",
    );
    assert_eq!(
        text(&given.stdout),
        "show.wasm\0a b\0--env\0--\0-x\0|LANG=C\0EMPTY=\0",
        "{}",
        text(&given.stderr)
    );
    // After `--`, a module name may start with `-`.
    let dashed = dir.path().join("-dash.wasm");
    std::fs::copy(&module, &dashed).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .current_dir(dir.path())
        .args(["run", "--", "-dash.wasm", "x"])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "-dash.wasm\0x\0|",
        "{}",
        text(&out.stderr)
    );
}

/// Prints the guest path of the preopen at fd 3, a newline, then the contents of `f.txt` in it.
fn preopen_reader(dir: &Path) -> String {
    let imports = format!(
        r#"{WASI_READ} {WASI_WRITE} {WASI_EXIT}
      (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $name (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#
    );
    let body = format!(
        r#"(local $errno i32)
        (local.set $errno (call $prestat (i32.const 3) (i32.const 100)))
        (if (local.get $errno) (then (call $exit (local.get $errno))))
        (drop (call $name (i32.const 3) (i32.const 2000) (i32.load (i32.const 104))))
        (i32.store8 (i32.add (i32.const 2000) (i32.load (i32.const 104))) (i32.const 10))
        {}
        (local.set $errno (call $open (i32.const 3) (i32.const 0) (i32.const 600) (i32.const 5)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 120)))
        (if (local.get $errno) (then (call $exit (local.get $errno))))
        (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 4096))
        (drop (call $read (i32.load (i32.const 120)) (i32.const 0) (i32.const 1) (i32.const 8)))
        {}"#,
        wat_write(
            1,
            "(i32.const 2000)",
            "(i32.add (i32.load (i32.const 104)) (i32.const 1))"
        ),
        wat_write(1, "(i32.const 4096)", "(i32.load (i32.const 8))"),
    );
    command_module(
        dir,
        "reader.wasm",
        &imports,
        r#"(data (i32.const 600) "f.txt")"#,
        &body,
    )
}

#[test]
fn run_preopens_dir_at_its_own_path_or_the_guest_path_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("f.txt"), "contents\n").unwrap();
    let reader = preopen_reader(dir.path());
    let data = data.to_str().unwrap();
    let out = plugbox_run(&["--dir", data, &reader], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{data}\ncontents\n"));
    let out = plugbox_run(&["--dir", &format!("{data}::/input"), &reader], b"");
    assert_eq!(
        text(&out.stdout),
        "/input\ncontents\n",
        "{}",
        text(&out.stderr)
    );
    // Without --dir there is no preopen: fd_prestat_get is BADF (8), the module's exit code.
    let out = plugbox_run(&[&reader], b"");
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    // A directory that cannot be preopened is named.
    let missing = dir.path().join("missing");
    let out = plugbox_run(&["--dir", missing.to_str().unwrap(), &reader], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("plugbox: error: cannot preopen directory")
            && stderr.contains(missing.to_str().unwrap()),
        "{stderr}"
    );
}

#[test]
fn run_failures_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let looping = command_module(dir.path(), "loop.wasm", "", "", "(loop $l (br $l))");
    let out = plugbox_run(&["--max-exec-ms", "100", &looping], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("plugbox: error: loop.wasm: _start failed:")
            && stderr.contains("100 ms"),
        "{stderr}"
    );

    let trap = command_module(dir.path(), "trap.wasm", "", "", "(unreachable)");
    let out = plugbox_run(&[&trap], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unreachable"),
        "{}",
        text(&out.stderr)
    );

    let flood = command_module(
        dir.path(),
        "flood.wasm",
        WASI_WRITE,
        "",
        &format!(
            "(loop $l {} (br $l))",
            wat_write(1, "(i32.const 0)", "(i32.const 1000)")
        ),
    );
    let out = plugbox_run(&["--max-stdout-bytes", "5000", &flood], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout.len(), 5000, "what fit under the cap is written");
    assert!(
        text(&out.stderr).contains("5000 bytes"),
        "{}",
        text(&out.stderr)
    );

    let not_wasm = dir.path().join("text.wasm");
    std::fs::write(&not_wasm, "(module)").unwrap();
    let out = plugbox_run(&[not_wasm.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("plugbox: error: {}: ", not_wasm.display())),
        "{stderr}"
    );
    let out = plugbox_run(&["no/such.wasm"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read module no/such.wasm"));
}

#[test]
fn run_bad_flags_exit_2_with_a_message() {
    for (args, expected) in [
        (&[][..], "no MODULE given"),
        (
            &["--max-exec-ms", "600001", "m.wasm"],
            "--max-exec-ms: expected an integer from 1 to 600000, found '600001'",
        ),
        (&["--max-memory-mb", "lots", "m.wasm"], "--max-memory-mb"),
        (&["--env", "HOME", "m.wasm"], "--env: expected KEY=VALUE"),
        (
            &["--dir", "::x", "m.wasm"],
            "--dir: expected HOST or HOST::GUEST",
        ),
        (&["--verbose", "m.wasm"], "--verbose"),
    ] {
        let out = plugbox_run(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("plugbox: error: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn run_refuses_stdin_over_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let module = command_module(dir.path(), "nothing.wasm", "", "", "");
    let out = plugbox_run(&[&module], &vec![b'x'; (64 << 20) + 1]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "plugbox: error: stdin is larger than 64 MiB, the most `plugbox run` passes to a module\n"
    );
    let out = plugbox_run(&[&module], &vec![b'x'; 64 << 20]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
