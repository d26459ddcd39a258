//! Command plugins (CONTRACT §9): the request on stdin, the response from stdout, the exit
//! code, and the sandbox of §5 and §6 around every run.

mod common;

use std::time::{Duration, Instant};

use common::*;
use plugbox::{CommandConfig, CommandOutput, CommandPlugin, FailureKind, LoadError};

const READ: &str = r#"(import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))"#;
const WRITE: &str = r#"(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))"#;
const EXIT: &str = r#"(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#;

/// A command module: `imports`, one page of memory, and `_start` doing `body`.
fn command(imports: &str, body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {imports} (memory (export "memory") 1) (func (export "_start") {body}))"#
    ))
    .unwrap()
}

/// Writes `len` bytes at `ptr` to fd `fd` (iovec at 1000, count at 1008).
fn write(fd: u32, ptr: &str, len: &str) -> String {
    format!(
        "(i32.store (i32.const 1000) {ptr}) (i32.store (i32.const 1004) {len})
         (drop (call $write (i32.const {fd}) (i32.const 1000) (i32.const 1) (i32.const 1008)))"
    )
}

/// Copies stdin to stdout, 4 KiB at a time, then writes " ok" to stderr.
fn cat() -> Vec<u8> {
    command(
        &format!("{READ} {WRITE}"),
        &format!(
            r#"(loop $copy
                 (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 4096))
                 (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
                 (if (i32.load (i32.const 8)) (then {} (br $copy))))"#,
            write(1, "(i32.const 4096)", "(i32.load (i32.const 8))")
        ),
    )
}

fn plugin(wasm: &[u8], config: CommandConfig) -> CommandPlugin {
    CommandPlugin::from_bytes("prog", wasm, config).unwrap()
}

fn failure_kind(output: &CommandOutput) -> FailureKind {
    output
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("the run did not fail: {output:?}"))
        .kind
}

#[test]
fn the_request_goes_to_stdin_and_the_response_comes_from_stdout() {
    let cat = plugin(&cat(), CommandConfig::default());
    let request = format!(
        r#"{{"protocol_version": 1, "pad": "{}"}}"#,
        "x".repeat(10_000)
    );
    let output = cat.run(request.as_bytes());
    assert!(output.succeeded(), "{output:?}");
    assert_eq!(output.exit_code, Some(0));
    assert_eq!(output.stdout, request.as_bytes());
    // Each run is a fresh process: nothing is left of the last request.
    assert_eq!(cat.run(b"second").stdout, b"second");
    assert_eq!(cat.run(b"").stdout, b"");
}

#[test]
fn arguments_and_environment_are_only_what_the_host_gives() {
    let imports = r#"
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))"#;
    // Writes the NUL-separated args, then the NUL-separated environment.
    let body = format!(
        "(drop (call $args_sizes (i32.const 100) (i32.const 104)))
         (drop (call $args (i32.const 200) (i32.const 2000)))
         {}
         (drop (call $env_sizes (i32.const 100) (i32.const 104)))
         (drop (call $env (i32.const 200) (i32.const 3000)))
         {}",
        write(1, "(i32.const 2000)", "(i32.load (i32.const 104))"),
        write(1, "(i32.const 3000)", "(i32.load (i32.const 104))"),
    );
    let wasm = command(&format!("{WRITE} {imports}"), &body);
    let bare = plugin(&wasm, CommandConfig::default()).run(b"");
    assert_eq!(
        bare.stdout, b"prog\0",
        "only the program name, no environment"
    );
    let config = CommandConfig::default()
        .with_args(["--format", "json"])
        .with_env("LANG", "C")
        .with_env("MODE", "strict");
    let given = plugin(&wasm, config).run(b"");
    assert_eq!(given.stdout, b"prog\0--format\0json\0LANG=C\0MODE=strict\0");
}

#[test]
fn the_exit_code_is_reported_and_is_not_a_failure() {
    let exits = |code: i32| {
        let wasm = command(EXIT, &format!("(call $exit (i32.const {code}))"));
        plugin(&wasm, CommandConfig::default()).run(b"")
    };
    let zero = exits(0);
    assert!(zero.succeeded(), "{zero:?}");
    let three = exits(3);
    assert_eq!((three.exit_code, three.failure.is_none()), (Some(3), true));
    assert!(!three.succeeded());
}

#[test]
fn stdout_past_the_cap_fails_the_run_and_is_not_buffered() {
    let flood = command(
        WRITE,
        &format!(
            "(loop $l {} (br $l))",
            write(1, "(i32.const 0)", "(i32.const 65536)")
        ),
    );
    let output = plugin(
        &flood,
        CommandConfig::default().with_max_stdout_bytes(100_000),
    )
    .run(b"");
    assert_eq!(
        failure_kind(&output),
        FailureKind::OutputLimit,
        "{output:?}"
    );
    assert!(output.stdout.len() <= 100_000, "{}", output.stdout.len());
    assert!(output.failure.unwrap().reason.contains("100000 bytes"));
}

#[test]
fn an_endless_loop_ends_at_the_budget() {
    let wasm = command("", "(loop $l (br $l))");
    let looping = plugin(&wasm, CommandConfig::default().with_max_exec_ms(100));
    let started = Instant::now();
    let output = looping.run(b"");
    assert_within_budget(
        started.elapsed(),
        Duration::from_millis(100),
        "a looping command",
    );
    assert_eq!(failure_kind(&output), FailureKind::Timeout);
}

#[test]
fn memory_stays_under_the_cap() {
    let bomb = command(
        "",
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (unreachable)",
    );
    let output = plugin(&bomb, CommandConfig::default().with_max_memory_mb(4)).run(b"");
    assert_eq!(
        failure_kind(&output),
        FailureKind::MemoryLimit,
        "{output:?}"
    );
    assert!(
        output.peak_memory_bytes <= 4 << 20,
        "{}",
        output.peak_memory_bytes
    );
}

#[test]
fn a_cancelled_run_ends_promptly() {
    let wasm = command("", "(loop $l (br $l))");
    let looping = plugin(&wasm, CommandConfig::default().with_max_exec_ms(600_000));
    let (cancel, canceller) = cancel_after(Duration::from_millis(200));
    let started = Instant::now();
    let output = looping.run_cancellable(b"", &cancel);
    canceller.join().unwrap();
    assert_within_budget(
        started.elapsed(),
        Duration::from_millis(200),
        "a cancelled command",
    );
    assert_eq!(failure_kind(&output), FailureKind::Cancelled);
}

/// Opens `path` in the preopen (fd 3) and copies it to stdout; exits with the errno when the
/// open fails.
fn reader(path: &str) -> Vec<u8> {
    reader_at(3, path)
}

/// Opens `path` relative to the directory descriptor `fd` and copies it to stdout; exits with
/// the errno when the open fails.
fn reader_at(fd: u32, path: &str) -> Vec<u8> {
    reader_at_after("", fd, path)
}

/// [`reader_at`], after `prelude` (which may call `$renumber`, WASI `fd_renumber`).
fn reader_at_after(prelude: &str, fd: u32, path: &str) -> Vec<u8> {
    let open = r#"(import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))"#;
    let body = format!(
        r#"(local $errno i32)
        {prelude}
        (local.set $errno (call $open (i32.const {fd}) (i32.const 0) (i32.const 5000) (i32.const {len})
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))
        (if (local.get $errno) (then (call $exit (local.get $errno))))
        (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 4096))
        (drop (call $read (i32.load (i32.const 100)) (i32.const 0) (i32.const 1) (i32.const 8)))
        {}"#,
        write(1, "(i32.const 4096)", "(i32.load (i32.const 8))"),
        len = path.len()
    );
    wat::parse_str(format!(
        r#"(module {READ} {WRITE} {EXIT} {open} (memory (export "memory") 1)
           (data (i32.const 5000) "{path}") (func (export "_start") {body}))"#
    ))
    .unwrap()
}

#[test]
fn the_directory_given_is_readable_and_nothing_outside_it() {
    let plugins = Plugins::new();
    let dir = plugins.path().join("plugin");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("banned.txt"), "left-pad\n").unwrap();
    std::fs::write(plugins.path().join("secret.txt"), "secret").unwrap();
    let with_dir = CommandConfig::default().with_dir(&dir);
    let inside = plugin(&reader("banned.txt"), with_dir.clone()).run(b"");
    assert!(inside.succeeded(), "{inside:?}");
    assert_eq!(inside.stdout, b"left-pad\n");
    let outside = plugin(&reader("../secret.txt"), with_dir).run(b"");
    assert_ne!(outside.exit_code, Some(0), "{outside:?}");
    assert!(outside.stdout.is_empty());
    // Without a directory there is no preopen at all.
    let none = plugin(&reader("banned.txt"), CommandConfig::default()).run(b"");
    assert_ne!(none.exit_code, Some(0), "{none:?}");
}

/// Writes the guest path of each preopen, from fd 3 until `fd_prestat_get` fails, one a line.
fn preopen_names() -> Vec<u8> {
    let prestat = r#"
      (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $name (param i32 i32 i32) (result i32)))"#;
    let body = format!(
        r#"(local $fd i32) (local.set $fd (i32.const 3))
        (block $done (loop $next
          (br_if $done (call $prestat (local.get $fd) (i32.const 100)))
          (drop (call $name (local.get $fd) (i32.const 2000) (i32.load (i32.const 104))))
          (i32.store8 (i32.add (i32.const 2000) (i32.load (i32.const 104))) (i32.const 10))
          {}
          (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
          (br $next)))"#,
        write(
            1,
            "(i32.const 2000)",
            "(i32.add (i32.load (i32.const 104)) (i32.const 1))"
        )
    );
    command(&format!("{WRITE} {prestat}"), &body)
}

#[test]
fn several_preopens_each_at_its_own_guest_path_and_confined_to_itself() {
    let plugins = Plugins::new();
    for (name, text) in [("rules", "rule 1\n"), ("data", "data 1\n")] {
        std::fs::create_dir(plugins.path().join(name)).unwrap();
        std::fs::write(plugins.path().join(name).join("f.txt"), text).unwrap();
    }
    std::os::unix::fs::symlink(
        plugins.path().join("data/f.txt"),
        plugins.path().join("rules/to-data"),
    )
    .unwrap();
    let config = CommandConfig::default()
        .with_preopen(plugins.path().join("rules"), "/rules")
        .with_preopen(plugins.path().join("data"), "/srv/data");
    let names = plugin(&preopen_names(), config.clone()).run(b"");
    assert_eq!(names.stdout, b"/rules\n/srv/data\n", "{names:?}");

    for (fd, text) in [(3, "rule 1\n"), (4, "data 1\n")] {
        let read = plugin(&reader_at(fd, "f.txt"), config.clone()).run(b"");
        assert!(read.succeeded(), "{read:?}");
        assert_eq!(read.stdout, text.as_bytes());
    }
    // From the first preopen, the second is out of reach: by `..`, by a symlink, by an
    // absolute guest path. 76 is NOTCAPABLE.
    for escape in ["../data/f.txt", "to-data", "/srv/data/f.txt"] {
        let refused = plugin(&reader_at(3, escape), config.clone()).run(b"");
        assert_eq!(refused.exit_code, Some(76), "{escape}: {refused:?}");
        assert!(refused.stdout.is_empty());
    }
    // A preopen's descriptor renumbered over another's keeps its own confinement: fd 3 is
    // then the second directory, whose files it reads, and the first stays out of reach.
    let renumber = "(if (call $renumber (i32.const 4) (i32.const 3)) (then unreachable))";
    let moved = plugin(&reader_at_after(renumber, 3, "f.txt"), config.clone()).run(b"");
    assert_eq!(moved.stdout, b"data 1\n", "{moved:?}");
    for escape in ["../rules/f.txt", "/rules/f.txt"] {
        let refused = plugin(&reader_at_after(renumber, 3, escape), config.clone()).run(b"");
        assert_eq!(refused.exit_code, Some(76), "{escape}: {refused:?}");
    }
    // `with_dir` is the preopen at `/plugin`, after the others.
    let config = config.with_dir(plugins.path().join("data"));
    let names = plugin(&preopen_names(), config).run(b"");
    assert_eq!(names.stdout, b"/rules\n/srv/data\n/plugin\n");
}

#[test]
fn a_directory_that_cannot_be_preopened_is_refused_at_load_naming_it() {
    let plugins = Plugins::new();
    std::fs::write(plugins.path().join("file.txt"), "x").unwrap();
    let load = |config: CommandConfig| {
        CommandPlugin::from_bytes("prog", &cat(), config)
            .unwrap_err()
            .to_string()
    };
    let missing = plugins.path().join("missing");
    let message = load(CommandConfig::default().with_preopen(&missing, "/m"));
    assert!(
        message.contains(&missing.display().to_string()) && message.contains("\"/m\""),
        "{message}"
    );
    let message = load(CommandConfig::default().with_dir(plugins.path().join("file.txt")));
    assert!(
        message.contains("file.txt") && message.contains("not a directory"),
        "{message}"
    );
    let message = load(CommandConfig::default().with_preopen(plugins.path(), ""));
    assert!(message.contains("guest path is empty"), "{message}");
    let too_many = (0..=plugbox::limits::MAX_PREOPENS).fold(CommandConfig::default(), |c, i| {
        c.with_preopen(plugins.path(), format!("/d{i}"))
    });
    let message = load(too_many);
    assert!(message.contains("at most 16"), "{message}");
    let twice = CommandConfig::default()
        .with_preopen(plugins.path(), "/data")
        .with_preopen(plugins.path().join("sub"), "/data/");
    let message = load(twice);
    assert!(
        message.contains("\"/data/\"") && message.contains("already preopened at that guest path"),
        "{message}"
    );
}

#[test]
fn imports_outside_wasi_are_refused_at_load_naming_the_import() {
    let wasm = command(
        r#"(import "env" "report_finding" (func (param i32 i32 i32 i32 i32)))"#,
        "",
    );
    let error = CommandPlugin::from_bytes("prog", &wasm, CommandConfig::default()).unwrap_err();
    assert!(matches!(error, LoadError::UnknownImport { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("`env.report_finding`"), "{message}");
    assert!(!message.contains("provided: env."), "{message}");
}

#[test]
fn a_module_without_start_is_refused_at_load() {
    let wasm =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "main")))"#).unwrap();
    let error = CommandPlugin::from_bytes("prog", &wasm, CommandConfig::default()).unwrap_err();
    assert!(error.to_string().contains("`_start`"), "{error}");
    let missing = CommandPlugin::load("no/such.wasm".as_ref(), CommandConfig::default());
    assert!(missing.unwrap_err().to_string().contains("no/such.wasm"));
}

#[test]
fn one_plugin_serves_many_threads() {
    let cat = plugin(&cat(), CommandConfig::default());
    std::thread::scope(|scope| {
        for i in 0..4 {
            let cat = &cat;
            scope.spawn(move || {
                for j in 0..25 {
                    let request = format!("request {i}/{j}");
                    assert_eq!(cat.run(request.as_bytes()).stdout, request.as_bytes());
                }
            });
        }
    });
}
