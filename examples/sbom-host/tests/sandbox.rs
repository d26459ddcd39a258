//! WebAssembly plugins under plugbox's sandbox (`--features wasm-plugins`): a hostile plugin
//! costs its own findings and nothing else.
#![cfg(feature = "wasm-plugins")]

mod common;

use common::*;

/// A well-behaved plugin: one `info` finding per invocation.
fn good(root: &std::path::Path) -> std::path::PathBuf {
    wat_plugin(
        root,
        "good",
        &wat_printing(&one_finding("good", "info"), "(func $main)"),
        "",
    )
}

fn run_with(
    good: &std::path::Path,
    hostile: &std::path::Path,
) -> (Option<i32>, serde_json::Value, String) {
    json_run(&[
        "--plugin",
        path(hostile),
        "--plugin",
        path(good),
        SAMPLES[0],
        SAMPLES[1],
    ])
}

/// Every invocation of `plugin` failed with a reason containing `expected`; `good`'s findings
/// all survived.
fn assert_contained(doc: &serde_json::Value, plugin: &str, expected: &str) {
    let errors = errors(doc);
    let mine: Vec<_> = errors.iter().filter(|e| e.0 == plugin).collect();
    assert_eq!(mine.len(), 5, "one error per invocation: {errors:?}");
    for e in &mine {
        assert!(
            e.2.contains(expected) && e.2.ends_with("; findings dropped"),
            "{e:?}"
        );
    }
    let found = findings(doc);
    assert_eq!(
        found.iter().filter(|f| f.0 == "good").count(),
        5,
        "{found:?}"
    );
    assert!(found.iter().all(|f| f.0 == "good"), "{found:?}");
}

#[test]
fn endless_loop_times_out_and_other_plugins_keep_their_findings() {
    let root = tempfile::tempdir().unwrap();
    let looping = wat_plugin(
        root.path(),
        "loops",
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#,
        "timeout_ms = 50",
    );
    let started = std::time::Instant::now();
    let (code, doc, _) = run_with(&good(root.path()), &looping);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "5 budgets of 50 ms"
    );
    assert_eq!(code, Some(0));
    assert_contained(&doc, "loops", "exceeded its time budget of 50 ms");
}

#[test]
fn stdout_flood_is_capped_and_reported() {
    let root = tempfile::tempdir().unwrap();
    let flood = wat_plugin(
        root.path(),
        "floods",
        &wat_printing(
            "{}{}{}{}{}{}{}{}",
            "(func $main (loop (call $print) (br 0)))",
        ),
        "",
    );
    let (_, doc, _) = run_with(&good(root.path()), &flood);
    assert_contained(&doc, "floods", "wrote more than 1048576 bytes to stdout");
}

#[test]
fn memory_bomb_is_capped() {
    let root = tempfile::tempdir().unwrap();
    let bomb = wat_plugin(
        root.path(),
        "bomb",
        r#"(module (memory (export "memory") 1)
             (func (export "_start") (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))"#,
        "max_memory_mb = 8",
    );
    let (_, doc, _) = run_with(&good(root.path()), &bomb);
    assert_contained(&doc, "bomb", "max_memory_mb");
}

/// Opens `path` relative to the preopen at fd 3 and reports the WASI errno `path_open`
/// returned as the finding kind `errno-NN` (`errno-00`: opened).
fn opener(path: &str) -> String {
    let finding = one_finding("errno-00", "info");
    let digits = finding.find("00").unwrap();
    let open = format!(
        r#"(import "wasi_snapshot_preview1" "path_open"
             (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
           (data (i32.const 2048) "{path}")
           (data (i32.const 3072) "{finding_text}")
           (func $main (local $errno i32)
             (local.set $errno
               (call $open (i32.const 3) (i32.const 0) (i32.const 2048) (i32.const {len})
                           (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1024)))
             (i32.store8 (i32.const {tens}) (i32.add (i32.const 48) (i32.div_u (local.get $errno) (i32.const 10))))
             (i32.store8 (i32.const {ones}) (i32.add (i32.const 48) (i32.rem_u (local.get $errno) (i32.const 10))))
             (i32.store (i32.const 0) (i32.const 3072))
             (i32.store (i32.const 4) (i32.const {finding_len}))
             (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))"#,
        len = path.len(),
        finding_text = finding.replace('"', "\\\""),
        tens = 3072 + digits,
        ones = 3072 + digits + 1,
        finding_len = finding.len(),
    );
    wat_printing("", &open).replace("(call $print) (call $main)", "(call $main)")
}

#[test]
fn reading_outside_its_directory_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("secret.txt"), "top secret").unwrap();
    let table = "filesystem = true\ninvoke_on = [\"added\"]";
    let inside = wat_plugin(root.path(), "inside", &opener("inside.wasm"), table);
    let outside = wat_plugin(root.path(), "outside", &opener("../secret.txt"), table);
    let absolute = wat_plugin(root.path(), "absolute", &opener("/etc/passwd"), table);
    let no_grant = wat_plugin(
        root.path(),
        "no-grant",
        &opener("no-grant.wasm"),
        "invoke_on = [\"added\"]",
    );
    let mut args = Vec::new();
    for p in [&inside, &outside, &absolute, &no_grant] {
        args.extend(["--plugin", path(p)]);
    }
    args.extend(SAMPLES);
    let (code, doc, err) = json_run(&args);
    let kinds: Vec<(String, String)> = doc["plugin_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["plugin_name"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = |plugin: &str, kind: &str| vec![(plugin.to_owned(), kind.to_owned()); 3];
    // Escapes are "not capable" (76); without a grant there is no descriptor 3 ("bad
    // descriptor", 8).
    let expected = [
        expect("inside", "errno-00"),
        expect("outside", "errno-76"),
        expect("absolute", "errno-76"),
        expect("no-grant", "errno-08"),
    ]
    .concat();
    assert_eq!(kinds, expected, "{err}");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_host_call_outside_the_imported_set_is_refused_at_load() {
    let root = tempfile::tempdir().unwrap();
    let ran = good(root.path());
    for (name, import) in [
        (
            "shell",
            r#"(import "env" "system" (func (param i32 i32) (result i32)))"#,
        ),
        (
            "socket",
            r#"(import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))"#,
        ),
    ] {
        let plugin = wat_plugin(
            root.path(),
            name,
            &format!(r#"(module {import} (memory (export "memory") 1) (func (export "_start")))"#),
            "",
        );
        let out = sbom_host(&[
            "--plugin",
            path(&ran),
            "--plugin",
            path(&plugin),
            SAMPLES[0],
            SAMPLES[1],
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains(&format!("plugin '{name}'")), "{err}");
        let import = if name == "shell" {
            "env.system"
        } else {
            "wasi_snapshot_preview1.sock_open"
        };
        assert!(err.contains(import), "names the import: {err}");
        assert!(out.stdout.is_empty(), "nothing ran");
    }
}

#[test]
fn non_zero_exit_and_invalid_output_drop_findings() {
    let root = tempfile::tempdir().unwrap();
    let exits = wat_plugin(
        root.path(),
        "exits",
        &wat_printing(
            &one_finding("lost", "error"),
            "(func $main (call $exit (i32.const 3)))",
        ),
        "",
    );
    let (code, doc, _) = run_with(&good(root.path()), &exits);
    assert_eq!(code, Some(0), "the lost error finding does not count");
    assert_contained(&doc, "exits", "exited with code 3");

    let garbage = wat_plugin(
        root.path(),
        "garbage",
        &wat_printing("{\"findings\": [", "(func $main)"),
        "",
    );
    let (_, doc, _) = run_with(&good(root.path()), &garbage);
    assert_contained(&doc, "garbage", "output is not one JSON object (14 bytes)");

    let trap = wat_plugin(
        root.path(),
        "traps",
        &wat_printing("", "(func $main unreachable)"),
        "",
    );
    let (code, doc, _) = json_run(&[
        "--strict-plugins",
        "--plugin",
        path(&trap),
        "--plugin",
        path(&good(root.path())),
        SAMPLES[0],
        SAMPLES[1],
    ]);
    assert_eq!(code, Some(2), "--strict-plugins");
    assert_contained(&doc, "traps", "unreachable");
}

#[test]
fn detection_plugins_still_run_with_plugins_dir() {
    let (code, doc, err) = json_run(&["--plugins", "plugins/env-abi", SAMPLES[0], SAMPLES[1]]);
    assert_eq!(code, Some(1), "{err}");
    let found = findings(&doc);
    let summary: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|f| (f.0.as_str(), f.1.as_str(), f.2.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Banned Packages", "pkg:npm/colors@1.4.1", "error"),
            ("Banned Packages", "pkg:npm/left-pad@1.3.0", "info"),
            ("Banned Packages", "pkg:npm/event-stream@3.3.6", "error"),
        ]
    );
}
