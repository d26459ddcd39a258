//! Compile-time bombs: how long loading a hostile module takes and how much host memory it
//! needs, without plugbox's load limits ("before") and with them ("after").
//!
//! `cargo run --release --example compile_bombs -- [FILTER] [--timeout SECS] [--max-gib GIB]
//! [--copies N]`
//!
//! Each case runs in a child process of this example, so that its peak resident memory is its
//! own. "before" compiles with `wasmi::Module::new` on the engine configuration of
//! `src/runtime.rs` without `EnforcedLimits`; "after" loads through the public API
//! (`Registry::add_plugin`, which applies every load limit, after the `MAX_MODULE_BYTES` file
//! cap that `Registry::load_plugin` applies), so it measures exactly what plugbox does; "scan"
//! is then one scan of a 1-byte input (a fresh instance), and `--copies N` loads the module N
//! times into one registry.
//!
//! Peak is the growth of `VmHWM` over the resident size before loading; retained is what is
//! still resident after it (an upper bound: the allocator may keep freed pages). A child is
//! killed after `--timeout` seconds (default 60) and limited to `--max-gib` GiB of address
//! space (default 8). Linux only (`/proc`). FILTER keeps the cases whose name contains it.

use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use plugbox::{HostConfig, Registry};

const MIB: usize = 1 << 20;

/// A case: its name, the sizes it is built at, and the builder of its module at one size.
type Case = (&'static str, &'static [usize], fn(usize) -> Vec<u8>);

/// Code sizes of the body cases, in MiB; a case's module stays just under this many MiB.
const BODY_MIB: &[usize] = &[8, 16, 32, 120];

const CASES: &[Case] = &[
    // (a) one function with a huge body
    ("body_const_drop_mib", BODY_MIB, |mib| {
        one_function(&[], &repeat(&[0x41, 0x00, 0x1A], code_len(mib)))
    }),
    ("body_calls_mib", BODY_MIB, |mib| {
        // `call 1`: the bomb function calls itself; each call is an instruction.
        one_function(&[], &repeat(&[0x10, 0x01], code_len(mib)))
    }),
    ("body_loops_mib", BODY_MIB, |mib| {
        // `loop end`: each loop is a basic block with its own fuel instruction.
        one_function(&[], &repeat(&[0x03, 0x40, 0x0B], code_len(mib)))
    }),
    ("body_local_adds_mib", BODY_MIB, |mib| {
        // `local.set 0 (i32.add (local.get 0) (local.get 1))`
        let unit = [0x20, 0x00, 0x20, 0x01, 0x6A, 0x21, 0x00];
        one_function(&[(2, 0x7F)], &repeat(&unit, code_len(mib)))
    }),
    // (b) many locals
    ("locals_30k_x_funcs", &[1_000, 9_999, 100_000], |n| {
        // wasmi's own cap is 30,000 locals per function; each body is padded to 46 bytes.
        let body = body(&[(30_000, 0x7F)], &[0x01; 40]);
        module(&Spec {
            funcs: vec![(n, body)],
            ..Spec::default()
        })
    }),
    ("locals_50k_one_func", &[1], |_| {
        one_function(&[(50_000, 0x7F)], &[])
    }),
    // (c) br_table
    ("br_tables_100k_targets_mib", BODY_MIB, |mib| {
        one_function(&[(1, 0x7F)], &br_tables(100_000, code_len(mib)))
    }),
    ("br_table_1m_targets", &[1], |_| {
        one_function(&[(1, 0x7F)], &br_tables(1_000_000, 1))
    }),
    // (d) many functions
    ("functions_tiny", &[300, 9_999, 100_000, 999_990], |n| {
        module(&Spec {
            funcs: vec![(n, body(&[], &[]))],
            ..Spec::default()
        })
    }),
    ("functions_46_bytes", &[9_999, 100_000, 999_990], |n| {
        module(&Spec {
            funcs: vec![(n, body(&[], &[0x01; 43]))],
            ..Spec::default()
        })
    }),
    // (e) control stack depth
    ("nested_blocks_mib", BODY_MIB, |mib| {
        one_function(&[], &nested(&[0x02, 0x40], &[], &[], &[], code_len(mib)))
    }),
    ("nested_blocks_i32_mib", BODY_MIB, |mib| {
        // `block (result i32)` levels around `i32.const 0`, the value passed up every `end`.
        let mut code = nested(&[0x02, 0x7F], &[0x41, 0x00], &[], &[], code_len(mib));
        code.push(0x1A);
        one_function(&[], &code)
    }),
    ("nested_loops_mib", BODY_MIB, |mib| {
        one_function(&[], &nested(&[0x03, 0x40], &[], &[], &[], code_len(mib)))
    }),
    ("nested_if_else_mib", BODY_MIB, |mib| {
        // `local.get 0 if ... else end`: each level is two blocks.
        let open = [0x20, 0x00, 0x04, 0x40];
        one_function(
            &[(1, 0x7F)],
            &nested(&open, &[], &[], &[0x05], code_len(mib)),
        )
    }),
    // operand stack depth
    ("operand_stack_mib", BODY_MIB, |mib| {
        // `local.get 0` pushed n times, then n `drop`s.
        let n = code_len(mib) / 3;
        let mut code = repeat(&[0x20, 0x00], 2 * n);
        code.resize(3 * n, 0x1A);
        one_function(&[(1, 0x7F)], &code)
    }),
    ("calls_32_params_mib", BODY_MIB, |mib| {
        // `call 1` with 32 `local.get` arguments, calling a function of 32 `i32` params.
        let mut unit = repeat(&[0x20, 0x00], 64);
        unit.extend([0x10, 0x01]);
        let mut ty = vec![32];
        ty.extend([0x7F; 32]);
        ty.push(0x00);
        module(&Spec {
            types: vec![ty],
            funcs_type: 2,
            funcs: vec![(1, body(&[(1, 0x7F)], &repeat(&unit, code_len(mib))))],
            ..Spec::default()
        })
    }),
    // (f) module-level items
    // wasmparser allows 1,000,000 types (and functions, exports), the plugin's own included.
    ("types_same", &[10_000, 100_000, 999_990], |n| {
        module(&Spec {
            types: vec![vec![0x00, 0x00]; n],
            ..Spec::default()
        })
    }),
    (
        "types_distinct",
        &[10_000, 100_000, 350_000, 999_990],
        |n| {
            // 20 parameters, i32 or i64 by the bits of the index: no two types are equal.
            let types = (0..n)
                .map(|i| {
                    let mut ty = vec![20];
                    ty.extend((0..20).map(|bit| if i >> bit & 1 == 0 { 0x7F } else { 0x7E }));
                    ty.push(0x00);
                    ty
                })
                .collect();
            module(&Spec {
                types,
                ..Spec::default()
            })
        },
    ),
    ("types_1000_params", &[1_000, 10_000, 100_000], |n| {
        let mut ty = vec![0xE8, 0x07];
        ty.extend([0x7F; 1000]);
        ty.push(0x00);
        module(&Spec {
            types: vec![ty; n],
            ..Spec::default()
        })
    }),
    ("globals", &[1_000, 10_000, 100_000, 999_990], |n| {
        module(&Spec {
            globals: n,
            ..Spec::default()
        })
    }),
    ("data_segments", &[1_000, 10_000, 99_999], |n| {
        module(&Spec {
            data: n,
            ..Spec::default()
        })
    }),
    ("element_segments", &[1_000, 10_000, 99_999], |n| {
        module(&Spec {
            elements: n,
            ..Spec::default()
        })
    }),
    ("imports", &[10_000, 100_000, 160_000, 999_990], |n| {
        module(&Spec {
            imports: n,
            ..Spec::default()
        })
    }),
    ("exports", &[10_000, 100_000, 150_000, 800_000], |n| {
        module(&Spec {
            exports: n,
            ..Spec::default()
        })
    }),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, case, size, mode, copies] = args.as_slice() {
        if flag == "--child" {
            let copies = copies.parse().expect("copies");
            return child(case, size.parse().expect("size"), mode == "after", copies);
        }
    }
    let mut filter = String::new();
    let (mut timeout, mut max_gib, mut copies) = (60, 8, 1);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--timeout" => &mut timeout,
            "--max-gib" => &mut max_gib,
            "--copies" => &mut copies,
            _ => {
                filter = arg;
                continue;
            }
        };
        *slot = args.next().and_then(|v| v.parse().ok()).expect(&arg);
    }
    println!(
        "| case | size | module MiB | before: result, wall s, cpu s, peak MiB | after: result, wall s, cpu s, peak MiB, retained MiB, scan s |"
    );
    println!("|---|---:|---:|---|---|");
    for (name, sizes, _) in CASES.iter().filter(|(name, ..)| name.contains(&filter)) {
        for &size in *sizes {
            let before = run_child(name, size, "before", 1, timeout, max_gib);
            let after = run_child(name, size, "after", copies, timeout, max_gib);
            let bytes = before.bytes.or(after.bytes).unwrap_or(0);
            println!(
                "| {name} | {size} | {:.1} | {} | {} |",
                bytes as f64 / MIB as f64,
                before.cells(false),
                after.cells(true)
            );
        }
    }
    ExitCode::SUCCESS
}

/// What one child reported.
struct Outcome {
    bytes: Option<usize>,
    line: Result<String, String>,
}

impl Outcome {
    fn cells(&self, retained: bool) -> String {
        match &self.line {
            Err(why) => why.clone(),
            Ok(line) => {
                let f: Vec<&str> = line.split('\t').collect();
                let extra = if retained {
                    format!(", {}, {}", f[5], f[6])
                } else {
                    String::new()
                };
                format!("{}, {}, {}, {}{extra}", f[1], f[2], f[3], f[4])
            }
        }
    }
}

fn run_child(
    case: &str,
    size: usize,
    mode: &str,
    copies: u64,
    timeout: u64,
    max_gib: u64,
) -> Outcome {
    let exe = std::env::current_exe().expect("current_exe");
    // `ulimit -v` caps the child's address space, so a bomb cannot take the machine's memory.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", max_gib << 20))
        .arg(exe)
        .args([
            "--child",
            case,
            &size.to_string(),
            mode,
            &copies.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(timeout) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).ok();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    let bytes = out
        .lines()
        .find_map(|l| l.strip_prefix("BYTES\t"))
        .and_then(|b| b.parse().ok());
    let line = match (status, out.lines().find(|l| l.starts_with("RESULT\t"))) {
        (_, Some(line)) => Ok(line.to_string()),
        (None, None) => Err(format!("killed after {timeout} s")),
        (Some(status), None) => {
            let first = err.lines().next().unwrap_or("").to_string();
            Err(format!("crashed ({status}): {first}"))
        }
    };
    Outcome { bytes, line }
}

/// Builds the case's module, then loads it (`copies` times, after) and prints
/// `RESULT status wall_s cpu_s peak_mib retained_mib scan_s`.
fn child(case: &str, size: usize, after: bool, copies: usize) -> ExitCode {
    let (_, _, build) = CASES.iter().find(|(n, ..)| *n == case).expect("case");
    let wasm = build(size);
    println!("BYTES\t{}", wasm.len());
    let registry = Registry::new(HostConfig::default());
    let manifests: Vec<String> = (0..copies)
        .map(|i| MANIFEST.replace("Bomb", &format!("Bomb{i}")))
        .collect();
    let engine = unlimited_engine();
    // Forget the peak of building the module: from here on VmHWM is the load's.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
    let base = status_kib("VmRSS");
    let cpu = cpu_seconds();
    let started = Instant::now();
    let result = if !after {
        wasmi::Module::new(&engine, &wasm[..])
            .map(drop)
            .map_err(|e| e.to_string())
    } else if wasm.len() as u64 > plugbox::limits::MAX_MODULE_BYTES {
        Err(format!(
            "over MAX_MODULE_BYTES ({})",
            plugbox::limits::MAX_MODULE_BYTES
        ))
    } else {
        manifests.into_iter().try_for_each(|manifest| {
            registry
                .add_plugin(manifest.as_bytes(), &wasm)
                .map(drop)
                .map_err(|e| e.to_string())
        })
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let peak = status_kib("VmHWM").saturating_sub(base);
    let retained = status_kib("VmRSS").saturating_sub(base);
    let scan = match (after, &result) {
        (true, Ok(())) => {
            let started = Instant::now();
            registry.scan(plugbox::Input::new(b"x").path("x").file_type("unknown"));
            format!("{:.2}", started.elapsed().as_secs_f64())
        }
        _ => "-".to_string(),
    };
    let status = match result {
        Ok(()) => "loaded".to_string(),
        Err(e) => {
            let e = e.trim_start_matches("<memory> (plugin 'Bomb0'): ");
            format!("refused: {}", e.replace(['\t', '\n'], " "))
        }
    };
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    println!(
        "RESULT\t{status}\t{wall:.2}\t{cpu:.2}\t{}\t{}\t{scan}",
        mib(peak),
        mib(retained)
    );
    ExitCode::SUCCESS
}

const MANIFEST: &str = r#"{"name": "Bomb", "version": "1.0.0", "author": "bench",
    "description": "compile bomb", "wasm_file": "plugin.wasm", "platforms": ["all"],
    "file_types": ["all"], "min_engine_version": "0.1.0",
    "permissions": {"max_memory_mb": 16, "max_exec_ms": 1000}}"#;

/// The engine of `src/runtime.rs` as it was before load limits.
fn unlimited_engine() -> wasmi::Engine {
    let mut config = wasmi::Config::default();
    config
        .consume_fuel(true)
        .compilation_mode(wasmi::CompilationMode::Eager)
        .wasm_multi_memory(false);
    wasmi::Engine::new(&config)
}

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .expect(field)
}

/// User and system CPU time of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

// ---- module encoding

/// A plugin module (`memory`, `scan`) with extra items. Function 0 is `scan`, after the imports.
#[derive(Default)]
struct Spec {
    /// Extra function types, each encoded after its `0x60`.
    types: Vec<Vec<u8>>,
    /// Imports of the host's `env.get_file_type`, all under the same name.
    imports: usize,
    /// Immutable `i32` globals.
    globals: usize,
    /// Active element segments writing `scan` to table slot 0.
    elements: usize,
    /// Active data segments writing one byte at address 0.
    data: usize,
    /// Extra exports of `scan`, named `e<i>`.
    exports: usize,
    /// The type of the extra functions: 1 (`() -> ()`) or an index into `types` plus 2.
    funcs_type: u8,
    /// Extra functions: how many, and their body (locals, code and `end`).
    funcs: Vec<(usize, Vec<u8>)>,
}

/// A module with one extra function (index 1, type `() -> ()`) of `locals` and `code`.
fn one_function(locals: &[(u32, u8)], code: &[u8]) -> Vec<u8> {
    module(&Spec {
        funcs: vec![(1, body(locals, code))],
        ..Spec::default()
    })
}

fn module(spec: &Spec) -> Vec<u8> {
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    let mut types = vec![
        vec![0x02, 0x7F, 0x7F, 0x01, 0x7F], // scan: (i32, i32) -> i32
        vec![0x00, 0x00],                   // () -> ()
    ];
    types.extend(spec.types.iter().cloned());
    section(&mut wasm, 1, types.len(), |s| {
        for ty in &types {
            s.push(0x60);
            s.extend(ty);
        }
    });
    if spec.imports > 0 {
        section(&mut wasm, 2, spec.imports, |s| {
            for _ in 0..spec.imports {
                name(s, "env");
                name(s, "get_file_type");
                s.extend([0x00, 0x00]);
            }
        });
    }
    let extra: usize = spec.funcs.iter().map(|(n, _)| n).sum();
    section(&mut wasm, 3, 1 + extra, |s| {
        s.push(0x00);
        s.extend(std::iter::repeat_n(spec.funcs_type.max(1), extra));
    });
    if spec.elements > 0 {
        section(&mut wasm, 4, 1, |s| s.extend([0x70, 0x00, 0x01]));
    }
    section(&mut wasm, 5, 1, |s| s.extend([0x00, 0x01]));
    if spec.globals > 0 {
        section(&mut wasm, 6, spec.globals, |s| {
            for _ in 0..spec.globals {
                s.extend([0x7F, 0x00, 0x41, 0x00, 0x0B]);
            }
        });
    }
    let scan = spec.imports as u64;
    section(&mut wasm, 7, 2 + spec.exports, |s| {
        name(s, "memory");
        s.extend([0x02, 0x00]);
        name(s, "scan");
        s.push(0x00);
        leb(s, scan);
        for i in 0..spec.exports {
            name(s, &format!("e{i}"));
            s.push(0x00);
            leb(s, scan);
        }
    });
    if spec.elements > 0 {
        section(&mut wasm, 9, spec.elements, |s| {
            for _ in 0..spec.elements {
                s.extend([0x00, 0x41, 0x00, 0x0B, 0x01]);
                leb(s, scan);
            }
        });
    }
    section(&mut wasm, 10, 1 + extra, |s| {
        s.extend([0x04, 0x00, 0x41, 0x00, 0x0B]); // scan: i32.const 0
        for (n, body) in &spec.funcs {
            for _ in 0..*n {
                leb(s, body.len() as u64);
                s.extend(body);
            }
        }
    });
    if spec.data > 0 {
        section(&mut wasm, 11, spec.data, |s| {
            for _ in 0..spec.data {
                s.extend([0x00, 0x41, 0x00, 0x0B, 0x01, 0x2A]);
            }
        });
    }
    wasm
}

/// A function body: local declarations `(count, type)`, `code`, `end`.
fn body(locals: &[(u32, u8)], code: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(code.len() + 16);
    leb(&mut body, locals.len() as u64);
    for &(count, ty) in locals {
        leb(&mut body, count.into());
        body.push(ty);
    }
    body.extend(code);
    body.push(0x0B);
    body
}

/// Bytes of code for a body case of `mib` MiB: the module stays under `mib` MiB.
fn code_len(mib: usize) -> usize {
    mib * MIB - 4096
}

/// Levels of `open`, `inner` once, then levels of `middle` and `close` with `end`, about
/// `len` bytes in all.
fn nested(open: &[u8], inner: &[u8], close: &[u8], middle: &[u8], len: usize) -> Vec<u8> {
    let depth = len / (open.len() + middle.len() + close.len() + 1);
    let mut code = open.repeat(depth);
    code.extend(inner);
    for _ in 0..depth {
        code.extend(middle);
        code.push(0x0B);
        code.extend(close);
    }
    code
}

/// `unit` repeated to at most `len` bytes.
fn repeat(unit: &[u8], len: usize) -> Vec<u8> {
    unit.repeat(len / unit.len())
}

/// Code of about `len` bytes (at least one table): `block` around blocks that each hold
/// `local.get 0` and a `br_table` of `targets` targets alternating between depths 0 and 1.
fn br_tables(targets: usize, len: usize) -> Vec<u8> {
    let mut table = vec![0x02, 0x40, 0x20, 0x00, 0x0E];
    leb(&mut table, targets as u64);
    table.extend((0..targets).map(|i| (i % 2) as u8));
    table.extend([0x00, 0x0B]);
    let mut code = vec![0x02, 0x40];
    code.extend(table.repeat((len / table.len()).max(1)));
    code.push(0x0B);
    code
}

/// Section `id` holding `count` items that `items` writes.
fn section(wasm: &mut Vec<u8>, id: u8, count: usize, items: impl FnOnce(&mut Vec<u8>)) {
    let mut payload = Vec::new();
    leb(&mut payload, count as u64);
    items(&mut payload);
    wasm.push(id);
    leb(wasm, payload.len() as u64);
    wasm.extend(payload);
}

fn name(out: &mut Vec<u8>, name: &str) {
    leb(out, name.len() as u64);
    out.extend(name.as_bytes());
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
