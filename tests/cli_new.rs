//! `plugbox new`: the files each language's template writes, and, when the language's toolchain
//! is installed, that the plugin builds, loads, passes its own golden test and finds the
//! marker. A missing toolchain skips the build with a message on stderr, unless
//! `PLUGBOX_REQUIRE_TOOLCHAINS` names the language (a comma-separated list such as
//! `rust,c,wat,assemblyscript`, or `1`/`all` for every language): then it fails.

mod cli_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli_common::*;

const NAME: &str = "My Marker";
/// The directory, crate and module name made from [`NAME`].
const IDENT: &str = "my_marker";

/// The files every language writes.
const COMMON: &[&str] = &[
    "plugin.json",
    "README.md",
    "build.sh",
    "tests/marked.txt",
    "tests/clean.txt",
    "tests/expected.json",
];

/// Runs `plugbox new NAME --lang LANG --dir TMP/my-marker` and checks the files it wrote.
fn generate(lang: &str, own_files: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my-marker");
    let out = plugbox(&["new", NAME, "--lang", lang, "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for file in COMMON.iter().chain(own_files) {
        assert!(dir.join(file).is_file(), "{lang}: {file} not written");
        assert!(
            stdout.contains(file),
            "{lang}: {file} not listed:\n{stdout}"
        );
    }
    for next in [
        "build.sh",
        "plugbox plugins check",
        "plugbox plugins test",
        "plugbox scan --plugins",
    ] {
        assert!(stdout.contains(next), "{lang}: no `{next}` in:\n{stdout}");
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plugin.json")).unwrap()).unwrap();
    assert_eq!(manifest["name"], NAME);
    assert_eq!(manifest["version"], "0.1.0");
    assert_eq!(manifest["wasm_file"], format!("{IDENT}.wasm"));
    assert_eq!(manifest["platforms"], serde_json::json!(["all"]));
    assert_eq!(manifest["file_types"], serde_json::json!(["all"]));
    assert_eq!(manifest["min_engine_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["permissions"]["max_memory_mb"], 16);
    assert_eq!(manifest["permissions"]["max_exec_ms"], 1000);
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tests/expected.json")).unwrap()).unwrap();
    assert_eq!(
        expected,
        serde_json::json!({
            "clean.txt": [],
            "marked.txt": [{"threat": "Custom.MaliciousMarker", "score": 85}]
        })
    );
    let marked = std::fs::read_to_string(dir.join("tests/marked.txt")).unwrap();
    assert!(marked.contains("MALICIOUS_MARKER"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("build.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "build.sh is not executable");
    }
    (tmp, dir)
}

/// Whether the language's toolchain is installed (`Err`: what is missing). A missing one
/// returns `Err` for the caller to skip, unless `PLUGBOX_REQUIRE_TOOLCHAINS` names the
/// language, when it panics.
fn toolchain(lang: &str, found: Result<(), String>) -> Result<(), ()> {
    let Err(why) = found else { return Ok(()) };
    let required = std::env::var("PLUGBOX_REQUIRE_TOOLCHAINS").unwrap_or_default();
    let required = required
        .split(',')
        .map(str::trim)
        .any(|r| r == lang || r == "1" || r == "all");
    assert!(
        !required,
        "{lang} template build: {why} (PLUGBOX_REQUIRE_TOOLCHAINS requires it)"
    );
    eprintln!("skipped: {lang} template build: {why}");
    Err(())
}

fn command_exists(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs DIR/build.sh, then scans DIR/tests with the plugin and checks it with `plugins check`
/// and `plugins test`.
fn build_and_scan(lang: &str, dir: &Path, tweak: impl FnOnce(&mut Command)) {
    let mut build = Command::new(dir.join("build.sh"));
    // Built in the plugin's own target/, as a newcomer's `cargo build` would be.
    build.env_remove("CARGO_TARGET_DIR");
    tweak(&mut build);
    let out = build.output().unwrap();
    assert!(
        out.status.success(),
        "{lang}: build.sh failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        dir.join(format!("{IDENT}.wasm")).is_file(),
        "{lang}: no module"
    );

    let d = dir.to_str().unwrap();
    let tests = dir.join("tests");
    let out = plugbox(&["scan", "--plugins", d, tests.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{lang}: {stdout}{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "marked.txt: Custom.MaliciousMarker [score 85] by '{NAME}'"
        )),
        "{lang}: {stdout}"
    );
    assert!(!stdout.contains("clean.txt"), "{lang}: {stdout}");
    assert!(
        !text(&out.stderr).contains("warn"),
        "{lang}: {}",
        text(&out.stderr)
    );

    check_and_test(lang, d);
}

/// `plugbox plugins check DIR` and `plugbox plugins test DIR` both pass.
fn check_and_test(lang: &str, dir: &str) {
    for command in ["check", "test"] {
        let out = plugbox(&["plugins", command, dir]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{lang}: plugins {command}:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

#[test]
fn rust_template_builds_and_scans() {
    let (_tmp, dir) = generate(
        "rust",
        &[
            "Cargo.toml",
            ".cargo/config.toml",
            ".gitignore",
            "src/lib.rs",
        ],
    );
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("crate-type = [\"cdylib\"]"), "{cargo}");
    assert!(cargo.contains("\n[workspace]\n"), "{cargo}");
    assert!(cargo.contains("features = [\"std\"]"), "{cargo}");
    let config = std::fs::read_to_string(dir.join(".cargo/config.toml")).unwrap();
    assert!(config.contains("target = \"wasm32-unknown-unknown\""));
    assert!(config.contains("-zstack-size=65536"));
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| text(&out.stdout))
        .unwrap_or_default();
    let found = if installed.lines().any(|t| t == "wasm32-unknown-unknown") {
        Ok(())
    } else {
        Err("the rustup target wasm32-unknown-unknown is not installed".to_owned())
    };
    if toolchain("rust", found).is_ok() {
        build_and_scan("rust", &dir, |_| {});
    }
}

#[test]
fn c_template_builds_and_scans() {
    let (_tmp, dir) = generate("c", &["plugin.c", "plugbox.h"]);
    let found = if command_exists("clang") && command_exists("wasm-ld") {
        Ok(())
    } else {
        Err("clang and wasm-ld (lld) are not both installed".to_owned())
    };
    if toolchain("c", found).is_ok() {
        build_and_scan("c", &dir, |_| {});
    }
}

#[test]
fn wat_template_builds_and_scans() {
    let (_tmp, dir) = generate("wat", &["plugin.wat"]);
    let found = if command_exists("wat2wasm") || command_exists("wasm-tools") {
        Ok(())
    } else {
        Err("neither wat2wasm (WABT) nor wasm-tools is installed".to_owned())
    };
    if toolchain("wat", found).is_ok() {
        build_and_scan("wat", &dir, |_| {});
    }
}

/// The AssemblyScript compiler as examples/build.sh finds it: `PLUGBOX_ASC`, `asc` on the
/// PATH, or `$TMPDIR/plugbox-asc` (where examples/build.sh installs it).
fn asc() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PLUGBOX_ASC") {
        return Some(path.into());
    }
    let which = Command::new("sh")
        .args(["-c", "command -v asc"])
        .output()
        .ok()?;
    if which.status.success() {
        return Some(text(&which.stdout).trim().into());
    }
    let tmp = std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into());
    let local = Path::new(&tmp).join("plugbox-asc/node_modules/.bin/asc");
    local.is_file().then_some(local)
}

/// `plugbox new --lang assemblyscript` in a temporary directory, with the compiler's
/// node_modules linked in; `None` (skipped) when there is no compiler.
fn assemblyscript_plugin() -> Option<(tempfile::TempDir, PathBuf)> {
    let (tmp, dir) = generate(
        "assemblyscript",
        &["package.json", "assembly/index.ts", ".gitignore"],
    );
    let package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap();
    assert_eq!(package["devDependencies"]["assemblyscript"], "0.28.20");
    let asc = asc();
    let found = match &asc {
        Some(_) if command_exists("npm") => Ok(()),
        Some(_) => Err("npm is not installed".to_owned()),
        None => Err("the AssemblyScript compiler is not installed (set PLUGBOX_ASC, or run examples/build.sh)".to_owned()),
    };
    toolchain("assemblyscript", found).ok()?;
    // The compiler found is used as is: its node_modules is linked into the plugin, so that
    // build.sh does not install it again (nor needs the network). An `asc` outside a
    // node_modules leaves build.sh to run `npm install`.
    let modules = asc
        .and_then(|asc| std::fs::canonicalize(asc).ok())
        .and_then(|asc| {
            asc.ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == "node_modules"))
                .map(Path::to_path_buf)
        });
    #[cfg(unix)]
    if let Some(modules) = modules {
        std::os::unix::fs::symlink(modules, dir.join("node_modules")).unwrap();
    }
    Some((tmp, dir))
}

#[test]
fn assemblyscript_template_builds_and_scans() {
    let Some((_tmp, dir)) = assemblyscript_plugin() else {
        return;
    };
    build_and_scan("assemblyscript", &dir, |_| {});
}

/// The file must not lie where AssemblyScript's allocator can hand it out. Without an `alloc`
/// export, plugbox grew memory for the file and the allocator, set up by its first allocation,
/// took all of memory for heap when that came in `scan`: a buffer allocated there overwrote
/// the file, and the marker at its start went unseen.
#[test]
fn assemblyscript_template_keeps_the_file_when_scan_allocates() {
    let Some((tmp, dir)) = assemblyscript_plugin() else {
        return;
    };
    let source = dir.join("assembly/index.ts");
    let text = std::fs::read_to_string(&source).unwrap();
    let global = "const MARKER = String.UTF8.encode(\"MALICIOUS_MARKER\");\n";
    let head = "export function scan(ptr: usize, len: i32): i32 {\n";
    assert!(text.contains(global) && text.contains(head), "{text}");
    // What an author might well write: the marker encoded in scan, and a work buffer.
    let text = text.replace(global, "").replace(
        head,
        &format!("{head}  {global}  const work = new Uint8Array(200000);\n  work.fill(0);\n"),
    );
    std::fs::write(&source, text).unwrap();
    let out = Command::new(dir.join("build.sh")).output().unwrap();
    assert!(out.status.success(), "{}", self::text(&out.stderr));

    let file = tmp.path().join("large.bin");
    let mut data = b"MALICIOUS_MARKER".to_vec();
    data.resize(300_000, b'x');
    std::fs::write(&file, data).unwrap();
    let out = plugbox(&[
        "scan",
        "--plugins",
        dir.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let stdout = self::text(&out.stdout);
    assert!(
        stdout.contains("Found MALICIOUS_MARKER at offset 0"),
        "{stdout}{}",
        self::text(&out.stderr)
    );
}

fn new_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .arg("new")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn default_dir_is_the_slug_and_an_empty_dir_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let out = new_in(tmp.path(), &["Quick Check!", "--lang", "wat"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let manifest = std::fs::read_to_string(tmp.path().join("quick-check/plugin.json")).unwrap();
    assert!(
        manifest.contains("\"name\": \"Quick Check!\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("\"wasm_file\": \"quick_check.wasm\""),
        "{manifest}"
    );
    let wat = std::fs::read_to_string(tmp.path().join("quick-check/plugin.wat")).unwrap();
    assert!(wat.contains("\"Quick Check!\")"), "{wat}");

    // --guest-crate is written as an absolute path, since Cargo.toml's paths are relative to
    // the plugin, not to where `plugbox new` ran.
    std::fs::create_dir_all(tmp.path().join("guest")).unwrap();
    std::fs::write(tmp.path().join("guest/Cargo.toml"), "").unwrap();
    let out = new_in(tmp.path(), &["R", "--guest-crate", "guest"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cargo = std::fs::read_to_string(tmp.path().join("r/Cargo.toml")).unwrap();
    let guest = std::fs::canonicalize(tmp.path().join("guest")).unwrap();
    assert!(
        cargo.contains(&format!("path = \"{}\"", guest.display())),
        "{cargo}"
    );

    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let out = new_in(tmp.path(), &["X", "--lang", "wat", "--dir", "empty"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(tmp.path().join("empty/plugin.wat").is_file());
}

#[test]
fn an_existing_non_empty_dir_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/notes.txt"), "mine").unwrap();
    std::fs::write(tmp.path().join("file"), "mine").unwrap();
    for (dir, expected) in [
        ("taken", "taken exists and is not empty"),
        ("file", "file exists and is not a directory"),
    ] {
        let out = new_in(tmp.path(), &["X", "--lang", "wat", "--dir", dir]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
    let out = new_in(tmp.path(), &["Taken", "--lang", "wat"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_dir(tmp.path().join("taken")).unwrap().count(),
        1
    );
}

#[test]
fn bad_names_languages_and_flags_exit_2_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&[][..], "no NAME given"),
        (&[""][..], "is empty"),
        (&["  "][..], "is empty"),
        (&["äöü"][..], "no ASCII letter or digit"),
        (&["say \"hi\""][..], "string literals"),
        (&["tab\there"][..], "control character"),
        (&["A", "B"][..], "one NAME only"),
        (
            &["X", "--lang", "go"][..],
            "unknown language 'go'; the choices are rust, c, wat, assemblyscript",
        ),
        (
            &["X", "--lang", "c", "--guest-crate", "g"][..],
            "--lang rust only",
        ),
        (
            &["X", "--guest-crate", "/nonexistent"][..],
            "--guest-crate /nonexistent: no Cargo.toml there",
        ),
        (&["X", "--frobnicate"][..], "--frobnicate"),
    ] {
        let out = new_in(tmp.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let long = "x".repeat(129);
    let out = new_in(tmp.path(), &[&long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("at most 128 bytes"));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "something was written"
    );
}
