//! `plugbox scan` on many threads and as a stream: `--jobs` output is the same for every N,
//! `--files-from` prints each result while its input is still open, and the progress line
//! shows on a terminal only.
#![cfg(feature = "cli")]

mod cli_common;
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cli_common::*;
use common::*;
use serde_json::{Value, json};

/// A marker plugin (`Good`), one that traps on files of odd length (`Trap`), one that loops
/// past its 200 ms budget on files starting with `S` (`Slow`), and a marker plugin capped at
/// 1 MiB (`Small`).
fn mixed_plugins() -> Plugins {
    let plugins = Plugins::new();
    plugins.add_good("good");
    plugins.add(
        "trap",
        "Trap",
        json!({}),
        &scan_module(
            "(if (i32.and (local.get $len) (i32.const 1)) (then unreachable)) (i32.const 0)",
        ),
    );
    plugins.add(
        "slow",
        "Slow",
        json!({"permissions": {"max_exec_ms": 200}}),
        &scan_module(
            "(if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 83)) (then (loop $l (br $l)))) (i32.const 0)",
        ),
    );
    plugins.add(
        "small",
        "Small",
        json!({"permissions": {"max_memory_mb": 1}}),
        MARKER_WAT,
    );
    plugins
}

/// 40 files: marked ones, odd-length ones (Trap fails), slow ones (Slow times out), a clean
/// one of 1.5 MiB (Small skips it), in a few directories.
fn mixed_tree() -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let dir = tree.path().join(format!("d{}", i % 3));
        std::fs::create_dir_all(&dir).unwrap();
        let mut data = match i % 5 {
            0 => MARKED.to_vec(),
            1 => b"S slow file".to_vec(),
            _ => format!("clean file {i}").into_bytes(),
        };
        if i % 4 == 0 {
            data.push(b'!');
        }
        std::fs::write(dir.join(format!("f{i:02}.txt")), data).unwrap();
    }
    std::fs::write(tree.path().join("big.bin"), vec![b'.'; 3 << 19]).unwrap();
    tree
}

#[test]
fn jobs_1_and_jobs_4_print_the_same_bytes_and_exit_the_same() {
    let (plugins, tree) = (mixed_plugins(), mixed_tree());
    let (plugins, tree) = (
        plugins.path().to_str().unwrap(),
        tree.path().to_str().unwrap(),
    );
    for json in [false, true] {
        let run = |jobs: &str| {
            let mut args = vec![
                "scan",
                "--jobs",
                jobs,
                "--plugins",
                plugins,
                tree,
                "/no/such",
            ];
            if json {
                args.push("--json");
            }
            plugbox(&args)
        };
        let one = run("1");
        let four = run("4");
        assert_eq!(one.status.code(), Some(2), "{}", text(&one.stderr));
        assert_eq!(one.status.code(), four.status.code());
        let stdout = text(&one.stdout);
        if json {
            // Byte for byte, but for the measured cost of each run, which differs from one
            // run to the next whatever the N.
            let (a, b) = (without_costs(&stdout), without_costs(&text(&four.stdout)));
            assert_eq!(a.len(), b.len());
            for (a, b) in a.iter().zip(&b) {
                assert_eq!(a, b, "--jobs 1 and --jobs 4 differ");
            }
        } else {
            assert!(
                stdout == text(&four.stdout),
                "--jobs 1 and --jobs 4 differ:\n{stdout}\n----\n{}",
                text(&four.stdout)
            );
        }
        if json {
            let lines: Vec<Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let summary = lines.last().unwrap();
            assert_eq!(summary["type"], "summary");
            assert_eq!(summary["files"], 41);
            assert_eq!(summary["plugin_failures"], json!({"Slow": 8, "Trap": 24}));
            assert_eq!(summary["plugin_skips"], json!({"Small": 1}));
            assert_eq!(summary["not_scanned"]["unreadable"], 1);
            // In input order: the walk's order, then the missing path.
            let paths: Vec<&str> = lines.iter().filter_map(|l| l["path"].as_str()).collect();
            let mut sorted = paths[..41].to_vec();
            sorted.sort();
            assert_eq!(paths[..41], sorted[..]);
            assert_eq!(paths[41], "/no/such");
        } else {
            assert_eq!(stdout.matches("Custom.MaliciousMarker").count(), 16);
            // The summary and the per-file messages (stderr) are in the same order too.
            assert_eq!(text(&one.stderr), text(&four.stderr));
        }
    }
}

/// The JSON lines with the `fuel` and `micros` of each plugin run blanked, as text.
fn without_costs(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| {
            let costs = ["\"fuel\":", "\"micros\":"];
            let mut out = String::new();
            let mut rest = line;
            while let Some(at) = costs
                .iter()
                .filter_map(|c| rest.find(c).map(|i| i + c.len()))
                .min()
            {
                out.push_str(&rest[..at]);
                rest = rest[at..].trim_start_matches(|c: char| c.is_ascii_digit());
                out.push('_');
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// Sends each line the child prints on stdout, as it comes.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if send.send(line).is_err() {
                return;
            }
        }
    });
    receive
}

/// The next line within a minute (CI is slow, but not that slow), or a failure naming what
/// was expected.
fn next_line(lines: &mpsc::Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("no line for {what}: {e}"))
}

fn streaming(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn marked_files(dir: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("marked {i}.bin"));
            std::fs::write(&path, MARKED).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn files_from_stdin_prints_each_result_while_stdin_is_still_open() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    let files = tempfile::tempdir().unwrap();
    let paths = marked_files(files.path(), 3);
    let mut child = streaming(&[
        "scan",
        "--jobs",
        "2",
        "--plugins",
        plugins.path().to_str().unwrap(),
        "--files-from",
        "-",
    ]);
    let mut stdin = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    for path in &paths {
        stdin.write_all(format!("{path}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        // Stdin stays open: the result must come anyway.
        let line = next_line(&lines, path);
        assert_eq!(
            line,
            format!(
                "{path}: Custom.MaliciousMarker [score 85] by 'Good': Found MALICIOUS_MARKER string in file data"
            )
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("3 files scanned with 1 plugins"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn files_from_keeps_input_order_with_nul_separators_and_json() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    plugins.add(
        "slow",
        "Slow",
        json!({"permissions": {"max_exec_ms": 300}}),
        &scan_module(
            "(if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 83)) (then (loop $l (br $l)))) (i32.const 0)",
        ),
    );
    let files = tempfile::tempdir().unwrap();
    // A slow first file and fast ones after it: they finish first, but print after it.
    let slow = files.path().join("slow\nname");
    std::fs::write(&slow, "S first").unwrap();
    let mut paths = vec![slow.to_str().unwrap().to_owned()];
    paths.extend(marked_files(files.path(), 4));
    let mut child = streaming(&[
        "scan",
        "--json",
        "-0",
        "--jobs",
        "3",
        "--plugins",
        plugins.path().to_str().unwrap(),
        "--files-from",
        "-",
    ]);
    let mut stdin = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    for path in &paths[..3] {
        stdin.write_all(path.as_bytes()).unwrap();
        stdin.write_all(b"\0").unwrap();
    }
    stdin.flush().unwrap();
    for path in &paths[..3] {
        let line: Value = serde_json::from_str(&next_line(&lines, path)).unwrap();
        assert_eq!(line["path"], path.as_str(), "{line}");
    }
    std::thread::sleep(Duration::from_millis(300));
    for path in &paths[3..] {
        stdin.write_all(path.as_bytes()).unwrap();
        stdin.write_all(b"\0").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let mut rest: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let summary = rest.pop().unwrap();
    let shown: Vec<&str> = rest.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(shown, paths[3..]);
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["files"], 5);
    assert_eq!(summary["plugin_failures"], json!({"Slow": 1}));
    assert_eq!(
        out.status.code(),
        Some(2),
        "Slow timed out: {}",
        text(&out.stderr)
    );
}

#[test]
fn files_from_a_file_combines_with_path_arguments_and_reports_bad_entries() {
    let plugins = Plugins::new();
    plugins.add_good("good");
    let files = tempfile::tempdir().unwrap();
    let paths = marked_files(files.path(), 2);
    let list = files.path().join("list");
    std::fs::write(
        &list,
        format!(
            "{}\n\n/no/such/file\n{}\n",
            paths[1],
            files.path().display()
        ),
    )
    .unwrap();
    let out = plugbox(&[
        "scan",
        "--json",
        "--plugins",
        plugins.path().to_str().unwrap(),
        "--files-from",
        list.to_str().unwrap(),
        &paths[0],
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let types_and_paths: Vec<(String, String)> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] != "summary")
        .map(|v| {
            let name = Path::new(v["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (v["type"].as_str().unwrap().to_owned(), name)
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("file", "marked 0.bin"),
        ("file", "marked 1.bin"),
        ("file_error", "file"),
        // The directory, walked: the list itself and both files.
        ("file", "list"),
        ("file", "marked 0.bin"),
        ("file", "marked 1.bin"),
    ]
    .iter()
    .map(|(t, p)| (t.to_string(), p.to_string()))
    .collect();
    assert_eq!(types_and_paths, expected);

    let out = plugbox(&[
        "scan",
        "--plugins",
        plugins.path().to_str().unwrap(),
        "--files-from",
        "/no/such/list",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--files-from /no/such/list: cannot open"),
        "{}",
        text(&out.stderr)
    );
}

/// `script` from util-linux runs a command under a pseudo-terminal; `None` when it is absent.
fn under_a_terminal(command: &str) -> Option<Output> {
    let probe = Command::new("script").arg("--version").output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: `script` (util-linux) is not available to make a pseudo-terminal");
        return None;
    }
    Some(
        Command::new("script")
            .args(["-qfec", command, "/dev/null"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn progress_shows_on_a_terminal_only() {
    // Eight files that each take Slow its whole 250 ms budget, one at a time: over a second.
    let plugins = Plugins::new();
    plugins.add(
        "slow",
        "Slow",
        json!({"permissions": {"max_exec_ms": 250}}),
        &scan_module("(loop $l (br $l)) (i32.const 0)"),
    );
    let files = tempfile::tempdir().unwrap();
    for i in 0..8 {
        std::fs::write(files.path().join(format!("f{i}")), "x").unwrap();
    }
    let (plugins, files) = (
        plugins.path().to_str().unwrap(),
        files.path().to_str().unwrap(),
    );
    let base = format!(
        "{} scan --jobs 1 --plugins {} {}",
        quoted(env!("CARGO_BIN_EXE_plugbox")),
        quoted(plugins),
        quoted(files)
    );
    let Some(tty) = under_a_terminal(&base) else {
        return;
    };
    let shown = text(&tty.stdout);
    assert!(
        shown.contains("\rplugbox: ") && shown.contains("/8 files, ") && shown.contains("files/s"),
        "no progress line under a terminal: {shown:?}"
    );
    // Cleared before anything else is printed, and at the end.
    for (at, _) in shown.match_indices(" elapsed\x1b[K") {
        let after = &shown[at + " elapsed\x1b[K".len()..];
        assert!(
            after.starts_with("\r\x1b[K") || after.starts_with("\rplugbox: "),
            "a progress line left on screen: {shown:?}"
        );
    }
    assert!(shown.contains("plugbox: 8 files scanned"), "{shown:?}");

    for extra in ["--json", "--quiet"] {
        let tty = under_a_terminal(&format!("{base} {extra}")).unwrap();
        let shown = text(&tty.stdout);
        assert!(
            !shown.contains("files/s"),
            "progress with {extra}: {shown:?}"
        );
    }
    let piped = plugbox(&["scan", "--jobs", "1", "--plugins", plugins, files]);
    let stderr = text(&piped.stderr);
    assert!(
        !stderr.contains("files/s") && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(stderr.contains("8 files scanned"), "{stderr}");
}

/// The next JSON object of `type` the child prints, skipping others (a `summary` ends it).
fn next_of_type(lines: &mpsc::Receiver<String>, kind: &str) -> Value {
    loop {
        let line = next_line(lines, kind);
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["type"] == kind {
            return value;
        }
        assert_ne!(value["type"], "summary", "no {kind} before the summary");
    }
}

/// The plugins whose findings a `file` object lists, sorted.
fn finders(file: &Value) -> Vec<String> {
    let mut plugins: Vec<String> = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["plugin"].as_str().unwrap().to_owned())
        .collect();
    plugins.sort();
    plugins
}

#[test]
fn files_from_reloads_plugins_between_files_and_reports_it_in_order() {
    let plugins = Plugins::new();
    plugins.add_good_named("good", "Good");
    let files = tempfile::tempdir().unwrap();
    let paths = marked_files(files.path(), 3);
    let mut child = streaming(&[
        "scan",
        "--json",
        "--jobs",
        "2",
        "--plugins",
        plugins.path().to_str().unwrap(),
        "--files-from",
        "-",
    ]);
    let mut stdin = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let mut send = |path: &str| {
        stdin.write_all(format!("{path}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    // The directory is looked at at most once a second, when the next path arrives.
    let pause = || std::thread::sleep(Duration::from_millis(1300));

    send(&paths[0]);
    let file = next_of_type(&lines, "file");
    assert_eq!(
        (file["path"].as_str(), finders(&file)),
        (Some(paths[0].as_str()), vec!["Good".to_owned()])
    );

    let second = plugins.add_good_named("second", "Second");
    pause();
    send(&paths[1]);
    let reload = next_of_type(&lines, "reload");
    assert_eq!(
        reload,
        json!({"type": "reload", "added": [{"plugin_dir": second.to_str().unwrap(), "plugin": "Second"}],
               "changed": [], "removed": [], "failed": [], "skipped": []})
    );
    let file = next_of_type(&lines, "file");
    assert_eq!(file["path"].as_str(), Some(paths[1].as_str()));
    assert_eq!(finders(&file), ["Good", "Second"]);

    std::fs::remove_dir_all(plugins.path().join("good")).unwrap();
    pause();
    send(&paths[2]);
    let reload = next_of_type(&lines, "reload");
    assert_eq!(reload["removed"][0]["plugin"], "Good");
    assert_eq!(reload["added"], json!([]));
    let file = next_of_type(&lines, "file");
    assert_eq!(file["path"].as_str(), Some(paths[2].as_str()));
    assert_eq!(finders(&file), ["Second"]);

    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}
