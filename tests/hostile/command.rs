//! Command plugins (CONTRACT §9) passing hostile pointers and lengths to the calls that only
//! command plugins make interesting: stdin reads, captured stdout, args and environment. Each
//! must end the run cleanly (a trap or an errno), never panic the host; CI runs these with
//! overflow checks on.

use plugbox::{CommandConfig, CommandOutput, CommandPlugin};

use super::*;

const IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))"#;

/// Runs a command whose `_start` is `body` on a 10,000-byte request, with arguments and an
/// environment so that the string calls have something to write.
fn run(body: &str, config: CommandConfig) -> CommandOutput {
    let wasm = wat::parse_str(format!(
        r#"(module {IMPORTS} (memory (export "memory") 1) (func (export "_start") {body}))"#
    ))
    .unwrap();
    let config = config
        .with_args(["--one", "--two"])
        .with_env("KEY", "value");
    CommandPlugin::from_bytes("hostile", &wasm, config)
        .unwrap()
        .run(&[b'x'; 10_000])
}

fn assert_trapped(output: &CommandOutput, what: &str) {
    let failure = output
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: the run did not fail: {output:?}"));
    assert_eq!(failure.kind, Trap, "{what}: {failure}");
}

#[test]
fn string_calls_with_pointers_at_the_end_of_the_address_space_trap() {
    for (what, call) in [
        (
            "argv at the top",
            "(call $args (i32.const -4) (i32.const 0))",
        ),
        (
            "args buffer at the top",
            "(call $args (i32.const 0) (i32.const -8))",
        ),
        (
            "args buffer past memory",
            "(call $args (i32.const 0) (i32.const 65530))",
        ),
        (
            "environ at the top",
            "(call $env (i32.const -2) (i32.const 0))",
        ),
        (
            "args sizes past memory",
            "(call $args_sizes (i32.const 65536) (i32.const 0))",
        ),
    ] {
        let output = run(&format!("(drop {call})"), CommandConfig::default());
        assert_trapped(&output, what);
    }
}

#[test]
fn stdin_reads_into_bad_buffers_trap() {
    let read = |base: &str, len: &str| {
        format!(
            "(i32.store (i32.const 0) {base}) (i32.store (i32.const 4) {len})
             (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))"
        )
    };
    for (what, body) in [
        (
            "buffer past memory",
            read("(i32.const 65000)", "(i32.const 4096)"),
        ),
        (
            "buffer at the top",
            read("(i32.const -16)", "(i32.const 4096)"),
        ),
        ("length of 4 GiB", read("(i32.const 100)", "(i32.const -1)")),
        (
            "iovec array past memory",
            "(drop (call $read (i32.const 0) (i32.const 65530) (i32.const 2) (i32.const 8)))"
                .into(),
        ),
    ] {
        assert_trapped(&run(&body, CommandConfig::default()), what);
    }
    // A buffer in memory but larger than what is left of stdin is filled partly.
    let body = format!(
        "{} (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))",
        read("(i32.const 1024)", "(i32.const 60000)")
    )
    .replace(
        "(drop (call $write",
        "(i32.store (i32.const 4) (i32.load (i32.const 8))) (drop (call $write",
    );
    let partial = run(&body, CommandConfig::default());
    assert!(partial.succeeded(), "{partial:?}");
    assert_eq!(partial.stdout.len(), 10_000);
}

#[test]
fn a_zero_stdout_cap_allows_empty_writes_only() {
    let write = |len: u32| {
        format!(
            "(i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const {len}))
             (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))"
        )
    };
    let config = || CommandConfig::default().with_max_stdout_bytes(0);
    assert!(run(&write(0), config()).succeeded());
    let output = run(&write(1), config());
    assert_eq!(output.failure.map(|f| f.kind), Some(OutputLimit));
    assert!(output.stdout.is_empty());
}
