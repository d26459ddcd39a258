//! Compile-time bombs (security issue, item 9): modules that are costly to compile, each
//! loaded beside a well-behaved plugin. Each is refused at load with an error naming the limit,
//! or loads; either way the good plugin keeps its finding and loading ends in bounded time.
//! `abi/ABI.md` ("Load limits") has the bounds and their measured costs (`examples/compile_bombs.rs`).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use plugbox::limits::{MAX_COMPILED_BYTES, MAX_EXPORTS, MAX_IMPORTS};
use serde_json::json;

/// Generous: tests run in parallel on loaded CI machines; the release build needs under 1 s.
const LOAD_BOUND: Duration = Duration::from_secs(20);

/// What a bomb must come to.
enum Expect<'a> {
    /// Refused at load; the error contains the text.
    Refused(&'a str),
    Loads,
}

/// Loads `wasm` as plugin `Bomb` beside the good plugin, scans the marked sample, and checks
/// `expect`, the load time and the good plugin's finding.
fn run(wasm: &[u8], expect: Expect<'_>) {
    let plugins = Plugins::new();
    let dir = plugins.add("bomb", "Bomb", json!({}), "(module)");
    std::fs::write(dir.join("plugin.wasm"), wasm).unwrap();
    plugins.add_good("zz-good");
    let started = Instant::now();
    let registry = plugins.registry();
    let elapsed = started.elapsed();
    assert!(elapsed < LOAD_BOUND, "loading took {elapsed:?}");
    assert_good_found_marker(&scan(&registry, MARKED));
    match expect {
        Expect::Refused(text) => {
            let error = load_error(&registry, "bomb");
            assert!(error.contains(text), "expected {text:?} in: {error}");
        }
        Expect::Loads => assert!(
            registry.plugins().iter().any(|p| p.name() == "Bomb"),
            "{:?}",
            registry.failures()
        ),
    }
}

/// Code bytes that keep a one-function module under `MAX_COMPILED_BYTES`.
fn code_at_cap() -> usize {
    MAX_COMPILED_BYTES - 4096
}

// ---- (a) one huge function body

#[test]
fn body_of_calls_at_the_size_cap_loads() {
    // `call 1`, the function calling itself: the most compiled code per module byte.
    run(
        &one_function(&[], &[0x10, 0x01].repeat(code_at_cap() / 2)),
        Expect::Loads,
    );
}

#[test]
fn module_over_the_size_cap_is_refused_uncompiled() {
    let code = vec![0x01; MAX_COMPILED_BYTES]; // `nop`s
    run(
        &one_function(&[], &code),
        Expect::Refused(&format!(
            "exceeds plugbox's load limits: its sections to compile (all but data and custom sections) are {}",
            MAX_COMPILED_BYTES / 1000
        )),
    );
}

#[test]
fn data_segments_do_not_count_towards_the_compiled_size() {
    // A valid module whose passive data segment alone is over the compiled-size cap.
    let data = format!(
        r#"(module (memory (export "memory") 1)
           (func (export "scan") (param i32 i32) (result i32) (i32.const 0))
           (data "{}"))"#,
        "\\41".repeat(MAX_COMPILED_BYTES + 1)
    );
    run(&wat::parse_str(data).unwrap(), Expect::Loads);
}

#[test]
fn imports_and_exports_past_their_caps_are_refused() {
    let imports = format!(
        r#"(module {} (memory (export "memory") 1)
           (func (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#,
        r#"(import "env" "log_message" (func (param i32 i32 i32)))"#.repeat(MAX_IMPORTS + 1)
    );
    run(
        &wat::parse_str(imports).unwrap(),
        Expect::Refused(&format!(
            "declares {} imports; at most {MAX_IMPORTS}",
            MAX_IMPORTS + 1
        )),
    );
    let exports: String = (0..=MAX_EXPORTS)
        .map(|i| format!(r#"(export "e{i}" (func $scan))"#))
        .collect();
    let wat = format!(
        r#"(module (memory (export "memory") 1) {exports}
           (func $scan (export "scan") (param i32 i32) (result i32) (i32.const 0)))"#
    );
    run(
        &wat::parse_str(wat).unwrap(),
        Expect::Refused(&format!(
            "declares {} exports; at most {MAX_EXPORTS}",
            MAX_EXPORTS + 3
        )),
    );
}

// ---- (b) locals

#[test]
fn thirty_thousand_locals_in_each_of_the_most_functions_allowed_load() {
    // wasmi allows 30,000 locals a function; a body must average 40 bytes; 10,000
    // functions with `scan`.
    let body = body(&[(30_000, I32)], &[0x01; 40]);
    run(
        &module(&Spec {
            funcs: (9_999, body),
            ..Spec::default()
        }),
        Expect::Loads,
    );
}

#[test]
fn fifty_thousand_locals_are_refused() {
    // wasmi's message for its 30,000-locals cap speaks of parameters.
    run(
        &one_function(&[(50_000, I32)], &[]),
        Expect::Refused("encountered function with too many function parameters"),
    );
}

// ---- (c) br_table

#[test]
fn br_tables_of_100k_targets_at_the_size_cap_load() {
    let mut table = vec![0x02, 0x40, 0x20, 0x00, 0x0E]; // block, local.get 0, br_table
    leb(&mut table, 100_000);
    table.extend((0..100_000).map(|i| (i % 2) as u8));
    table.extend([0x00, 0x0B]);
    let code = table.repeat(code_at_cap() / table.len());
    run(&one_function(&[(1, I32)], &code), Expect::Loads);
}

#[test]
fn br_table_of_a_million_targets_is_refused() {
    let mut code = vec![0x20, 0x00, 0x0E];
    leb(&mut code, 1_000_000);
    code.resize(code.len() + 1_000_001, 0x00);
    run(
        &one_function(&[(1, I32)], &code),
        Expect::Refused("br_table size is out of bounds"),
    );
}

// ---- (d) many functions

#[test]
fn more_than_ten_thousand_functions_are_refused() {
    for funcs in [
        (10_000, body(&[], &[0x01; 40])), // and `scan`: one too many
        (100_000, body(&[], &[])),
        (999_999, body(&[], &[])),
    ] {
        run(
            &module(&Spec {
                funcs,
                ..Spec::default()
            }),
            Expect::Refused("exceeds the limit of 10000 functions"),
        );
    }
}

#[test]
fn many_tiny_functions_are_refused() {
    let funcs = (1_000, body(&[], &[]));
    run(
        &module(&Spec {
            funcs,
            ..Spec::default()
        }),
        Expect::Refused("minimum average bytes per function of 40"),
    );
}

// ---- (e) control and operand stack depth

#[test]
fn nested_loops_at_the_size_cap_load() {
    // `loop` levels, then as many `end`s: the most host memory per module byte.
    let depth = code_at_cap() / 3;
    let mut code = [0x03, 0x40].repeat(depth);
    code.resize(depth * 3, 0x0B);
    run(&one_function(&[], &code), Expect::Loads);
}

#[test]
fn deep_operand_stack_is_refused() {
    let mut code = [0x20, 0x00].repeat(100_000); // local.get 0
    code.resize(300_000, 0x1A); // drop
    run(
        &one_function(&[(1, I32)], &code),
        Expect::Refused("requires more registers for a function than available"),
    );
}

// ---- (f) module-level items

#[test]
fn a_million_types_load() {
    // Types are not limited but by wasmparser (1,000,000); 3 bytes each.
    let types = vec![vec![0x00, 0x00]; 999_990];
    run(
        &module(&Spec {
            types,
            ..Spec::default()
        }),
        Expect::Loads,
    );
}

#[test]
fn thirty_three_parameters_are_refused() {
    let mut ty = vec![33];
    ty.extend([I32; 33]);
    ty.push(0);
    run(
        &module(&Spec {
            types: vec![ty],
            ..Spec::default()
        }),
        Expect::Refused("exceeds the limit of 32 parameters"),
    );
}

#[test]
fn thirty_three_results_are_refused() {
    let mut ty = vec![0, 33];
    ty.extend([I32; 33]);
    run(
        &module(&Spec {
            types: vec![ty],
            ..Spec::default()
        }),
        Expect::Refused("exceeds the limit of 32 results"),
    );
}

#[test]
fn too_many_globals_are_refused() {
    run(
        &module(&Spec {
            globals: 1_001,
            ..Spec::default()
        }),
        Expect::Refused("exceeds the limit of 1000 global variables"),
    );
}

#[test]
fn too_many_data_segments_are_refused() {
    run(
        &module(&Spec {
            data: 1_001,
            ..Spec::default()
        }),
        Expect::Refused("exceeds the limit of 1000 active data segments"),
    );
}

#[test]
fn too_many_element_segments_are_refused() {
    run(
        &module(&Spec {
            elements: 1_001,
            ..Spec::default()
        }),
        Expect::Refused("exceeds the limit of 1000 active element segments"),
    );
}

// ---- binary modules: WAT text for megabytes of code is slow to write and to parse

const I32: u8 = 0x7F;

/// A plugin module (`memory`, `scan` as function 0) with extra items.
#[derive(Default)]
struct Spec {
    /// Extra function types, each encoded after its `0x60`.
    types: Vec<Vec<u8>>,
    /// Immutable `i32` globals.
    globals: usize,
    /// Active element segments writing `scan` to table slot 0.
    elements: usize,
    /// Active data segments writing one byte at address 0.
    data: usize,
    /// Extra functions `() -> ()`: how many, and their body (locals, code and `end`).
    funcs: (usize, Vec<u8>),
}

/// A module with one extra function (index 1, `() -> ()`) of `locals` and `code`.
fn one_function(locals: &[(u32, u8)], code: &[u8]) -> Vec<u8> {
    let funcs = (1, body(locals, code));
    module(&Spec {
        funcs,
        ..Spec::default()
    })
}

fn module(spec: &Spec) -> Vec<u8> {
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    let mut types = vec![vec![2, I32, I32, 1, I32], vec![0, 0]]; // scan, () -> ()
    types.extend(spec.types.iter().cloned());
    section(&mut wasm, 1, types.len(), |s| {
        for ty in &types {
            s.push(0x60);
            s.extend(ty);
        }
    });
    let (count, body) = &spec.funcs;
    section(&mut wasm, 3, 1 + count, |s| {
        s.push(0);
        s.extend(std::iter::repeat_n(1, *count));
    });
    if spec.elements > 0 {
        section(&mut wasm, 4, 1, |s| s.extend([0x70, 0x00, 0x01]));
    }
    section(&mut wasm, 5, 1, |s| s.extend([0x00, 0x01]));
    items(&mut wasm, 6, spec.globals, &[I32, 0x00, 0x41, 0x00, 0x0B]);
    section(&mut wasm, 7, 2, |s| {
        s.extend(b"\x06memory\x02\x00");
        s.extend(b"\x04scan\x00\x00");
    });
    items(
        &mut wasm,
        9,
        spec.elements,
        &[0x00, 0x41, 0x00, 0x0B, 0x01, 0x00],
    );
    section(&mut wasm, 10, 1 + count, |s| {
        s.extend([0x04, 0x00, 0x41, 0x00, 0x0B]); // scan: i32.const 0
        for _ in 0..*count {
            leb(s, body.len());
            s.extend(body);
        }
    });
    items(
        &mut wasm,
        11,
        spec.data,
        &[0x00, 0x41, 0x00, 0x0B, 0x01, 0x2A],
    );
    wasm
}

/// Section `id` of `count` copies of `item`, if `count` is not 0.
fn items(wasm: &mut Vec<u8>, id: u8, count: usize, item: &[u8]) {
    if count > 0 {
        section(wasm, id, count, |s| s.extend(item.repeat(count)));
    }
}

/// A function body: local declarations `(count, type)`, `code`, `end`.
fn body(locals: &[(u32, u8)], code: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(code.len() + 16);
    leb(&mut body, locals.len());
    for &(count, ty) in locals {
        leb(&mut body, count as usize);
        body.push(ty);
    }
    body.extend(code);
    body.push(0x0B);
    body
}

/// Section `id` holding `count` items that `write` writes.
fn section(wasm: &mut Vec<u8>, id: u8, count: usize, write: impl FnOnce(&mut Vec<u8>)) {
    let mut payload = Vec::new();
    leb(&mut payload, count);
    write(&mut payload);
    wasm.push(id);
    leb(wasm, payload.len());
    wasm.extend(payload);
}

fn leb(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            return out.push(byte);
        }
        out.push(byte | 0x80);
    }
}
