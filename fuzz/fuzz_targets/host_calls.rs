//! Modules built to call host imports with hostile arguments. wasm-smith picks import
//! arguments itself and rarely hits the shapes that matter, so this target writes the module:
//! a memory of 1..=64 pages holding fuzzer bytes plus repeated iovec/subscription records, and
//! a start function, `_initialize` and `scan` that each call up to 16 imports (`poll_oneoff`,
//! `fd_write`, `random_get`, `log_message`... more often than the rest) with counts, pointers
//! and lengths around the memory's end, 2^31 and 2^32, some calls in loops of up to 100,000.
//! Set `PLUGBOX_FUZZ_WAT=1` to print the module of each input (to read a crash).
#![no_main]

use std::fmt::Write;
use std::sync::Once;

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use plugbox::abi::{HostImport, ValueType, host_imports};

mod common;

const PAGE: u32 = 65536;
/// Imports picked half of the time: those taking counts, iovec arrays, big lengths, or waiting.
const FOCUS: &[&str] = &[
    "poll_oneoff",
    "fd_write",
    "fd_read",
    "fd_pread",
    "random_get",
    "fd_readdir",
    "path_open",
    "log_message",
    "report_finding",
];

/// Imports taking an array, with the indices of its pointer and count parameters.
const ARRAYS: &[(&str, usize, usize)] = &[
    ("poll_oneoff", 0, 2),
    ("fd_write", 1, 2),
    ("fd_read", 1, 2),
    ("fd_pread", 1, 2),
];

/// A record (an iovec, a subscription, raw bytes) repeated `count` times from `at`.
struct Fill {
    at: u32,
    record: Vec<u8>,
    count: u32,
}

struct Gen<'a, 'b> {
    u: &'a mut Unstructured<'b>,
    imports: Vec<&'static HostImport>,
    /// Memory size in bytes.
    mem: u32,
    fills: Vec<Fill>,
}

impl Gen<'_, '_> {
    fn i32_arg(&mut self) -> Result<i32> {
        let mem = i64::from(self.mem);
        Ok(match self.u.int_in_range(0..=10u8)? {
            0 => self.u.int_in_range(0..=8)?, // descriptors, levels, small counts
            1 => self.u.int_in_range(0..=64)?,
            2 => (mem + self.u.int_in_range(-64..=64)?) as i32,
            3 => *self
                .u
                .choose(&[0, -1, i32::MIN, i32::MAX, 0x7FFF_FFF0, mem as i32])?,
            // Just past 2^31 and just below 2^32, where signed and unsigned readings part.
            4 => i32::MIN.wrapping_add(self.u.int_in_range(-64..=64)?),
            5 => (-1i32).wrapping_sub(self.u.int_in_range(0..=64)?),
            6 if !self.fills.is_empty() => {
                let fill = self.u.choose(&self.fills)?;
                let (at, count) = (fill.at as i32, fill.count as i32);
                if self.u.arbitrary()? { at } else { count }
            }
            6 | 7 => self.u.int_in_range(0..=1_000_000)?,
            8 => self.u.int_in_range(0..=self.mem)? as i32,
            _ => self.u.arbitrary()?,
        })
    }

    fn i64_arg(&mut self) -> Result<i64> {
        Ok(match self.u.int_in_range(0..=3u8)? {
            0 => i64::from(self.i32_arg()?),
            1 => i64::from(self.i32_arg()? as u32),
            2 => *self.u.choose(&[0, -1, i64::MIN, i64::MAX])?,
            _ => self.u.arbitrary()?,
        })
    }

    /// A record to repeat: an iovec, a clock or fd subscription (48 bytes), or raw bytes.
    fn record(&mut self) -> Result<Vec<u8>> {
        let mut r = vec![0u8; 48];
        match self.u.int_in_range(0..=4u8)? {
            0 => {
                let (buf, len) = (self.i32_arg()?, self.i32_arg()?);
                return Ok([buf.to_le_bytes(), len.to_le_bytes()].concat());
            }
            1 => {
                r[0..8].copy_from_slice(&self.u.arbitrary::<u64>()?.to_le_bytes());
                let id = self.u.choose(&[0, 1, 2, 3, u32::MAX])?;
                r[16..20].copy_from_slice(&id.to_le_bytes());
                // Timeouts in ns: none, below, around and far beyond the 20 ms budget.
                let timeouts = [0, 1_000, 1_000_000, 50_000_000, 5_000_000_000, u64::MAX];
                let timeout = match self.u.arbitrary()? {
                    true => *self.u.choose(&timeouts)?,
                    false => self.u.arbitrary()?,
                };
                r[24..32].copy_from_slice(&timeout.to_le_bytes());
                r[32..40].copy_from_slice(&self.u.arbitrary::<u64>()?.to_le_bytes());
                let flags: u16 = *self.u.choose(&[0, 1, u16::MAX])?; // 1: absolute time
                r[40..42].copy_from_slice(&flags.to_le_bytes());
            }
            2 => {
                r[0..8].copy_from_slice(&self.u.arbitrary::<u64>()?.to_le_bytes());
                r[8] = self.u.int_in_range(1..=3)?; // fd_read, fd_write, invalid
                let fd: u32 = self.u.choose(&[0, 1, 2, 3, 4, u32::MAX])?.to_owned();
                r[16..20].copy_from_slice(&fd.to_le_bytes());
            }
            // Paths into the plugin directory (see `common::plugin_dir`), for `path_open`.
            3 => {
                let paths = [
                    "a.txt",
                    "sub",
                    "sub/b.txt",
                    ".",
                    "..",
                    "up/a.txt",
                    "loop",
                    "nope",
                ];
                r = self.u.choose(&paths)?.as_bytes().to_vec();
            }
            _ => {
                let len = self.u.int_in_range(1..=64)?;
                r = self.u.bytes(len)?.to_vec();
            }
        }
        Ok(r)
    }

    fn fill(&mut self) -> Result<Fill> {
        let record = self.record()?;
        let len = record.len() as u32;
        let last = self.mem - len;
        let at = match self.u.int_in_range(0..=2u8)? {
            0 => 0,
            1 => last,
            _ => self.u.int_in_range(0..=last)?,
        };
        let max = (self.mem - at) / len;
        let count = match self.u.arbitrary()? {
            true => max,
            false => self.u.int_in_range(1..=max)?,
        };
        Ok(Fill { at, record, count })
    }

    /// Up to 16 import calls, some in a loop, as function body text.
    fn calls(&mut self) -> Result<String> {
        let mut body = String::new();
        for _ in 0..self.u.int_in_range(0..=16)? {
            let index = if self.u.arbitrary()? {
                let name = *self.u.choose(FOCUS)?;
                self.imports.iter().position(|s| s.name() == name).unwrap()
            } else {
                self.u.choose_index(self.imports.len())?
            };
            let sig = self.imports[index];
            let mut args = Vec::new();
            for param in sig.params() {
                args.push(match param {
                    ValueType::I64 => format!("(i64.const {})", self.i64_arg()?),
                    _ => format!("(i32.const {})", self.i32_arg()?),
                });
            }
            // Often, an array argument and its count are those of one fill.
            let array = ARRAYS.iter().find(|(name, ..)| *name == sig.name());
            if let Some(&(_, ptr, count)) = array.filter(|_| !self.fills.is_empty()) {
                if self.u.arbitrary()? {
                    let fill = self.u.choose(&self.fills)?;
                    args[ptr] = format!("(i32.const {})", fill.at);
                    args[count] = format!("(i32.const {})", fill.count);
                }
            }
            let mut call = format!("(call {index} {})", args.join(" "));
            if !sig.results().is_empty() {
                call = format!("(drop {call})");
            }
            if self.u.ratio(1, 8)? {
                let times = self.u.int_in_range(2..=100_000)?;
                call = format!(
                    "(local.set $n (i32.const {times}))
                    (loop $l {call}
                      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))"
                );
            }
            writeln!(body, "{call}").unwrap();
        }
        Ok(body)
    }

    fn module(&mut self) -> Result<String> {
        let pages = self.u.int_in_range(1..=64)?;
        self.mem = pages * PAGE;
        for _ in 0..self.u.int_in_range(0..=4)? {
            let fill = self.fill()?;
            self.fills.push(fill);
        }
        let start = self.u.arbitrary::<bool>()?;
        let initialize = self.u.arbitrary::<bool>()?;
        let (start_calls, init_calls, scan_calls) = (self.calls()?, self.calls()?, self.calls()?);
        let score = self.i32_arg()?;
        // Without `alloc` the host grows memory for the scanned bytes, which fails at 64 pages.
        let alloc = match self.u.arbitrary()? {
            true => format!(
                r#"(func (export "alloc") (param i32) (result i32) (i32.const {}))"#,
                self.i32_arg()?
            ),
            false => String::new(),
        };

        let mut wat = String::from("(module\n");
        for s in &self.imports {
            writeln!(wat, "{}", s.wat()).unwrap();
        }
        writeln!(wat, r#"(memory (export "memory") {pages})"#).unwrap();
        // Fuzzer bytes first, then one copy of each record; $fill repeats the records by
        // doubling copies (a few memory.copy instead of a data segment of up to 4 MiB).
        let at = self.u.int_in_range(0..=self.mem)?;
        let rest = self.u.bytes(self.u.len().min((self.mem - at) as usize))?;
        writeln!(wat, r#"(data (i32.const {at}) "{}")"#, escape(rest)).unwrap();
        let mut fill = String::new();
        for f in &self.fills {
            writeln!(
                wat,
                r#"(data (i32.const {}) "{}")"#,
                f.at,
                escape(&f.record)
            )
            .unwrap();
            let total = f.record.len() as u32 * f.count;
            let mut done = f.record.len() as u32;
            while done < total {
                let n = done.min(total - done);
                let (to, from) = (f.at + done, f.at);
                writeln!(
                    fill,
                    "(memory.copy (i32.const {to}) (i32.const {from}) (i32.const {n}))"
                )
                .unwrap();
                done += n;
            }
        }
        writeln!(wat, "(func $fill {fill})").unwrap();
        if start {
            writeln!(
                wat,
                "(func $start (local $n i32) (call $fill) {start_calls}) (start $start)"
            )
            .unwrap();
        }
        if initialize {
            writeln!(
                wat,
                r#"(func (export "_initialize") (local $n i32) (call $fill) {init_calls})"#
            )
            .unwrap();
        }
        writeln!(
            wat,
            r#"(func (export "scan") (param i32 i32) (result i32) (local $n i32) (call $fill) {scan_calls} (i32.const {score}))"#
        )
        .unwrap();
        wat.push_str(&alloc);
        wat.push(')');
        Ok(wat)
    }
}

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// Logs are formatted and dropped, so `log_message` floods cost what they cost in a host
/// that logs (with no logger, `log` skips the formatting).
struct Sink;

impl log::Log for Sink {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let _ = std::io::Write::write_fmt(&mut std::io::sink(), *record.args());
    }
    fn flush(&self) {}
}

fuzz_target!(|data: &[u8]| {
    static LOGGER: Once = Once::new();
    LOGGER.call_once(|| {
        log::set_logger(&Sink).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    let mut u = Unstructured::new(data);
    let filesystem = u.arbitrary().unwrap_or(false);
    let mut generator = Gen {
        u: &mut u,
        imports: host_imports().iter().collect(),
        mem: PAGE,
        fills: Vec::new(),
    };
    let Ok(wat) = generator.module() else {
        return;
    };
    if std::env::var_os("PLUGBOX_FUZZ_WAT").is_some() {
        eprintln!("filesystem: {filesystem}\n{wat}");
    }
    let wasm = wat::parse_str(&wat).expect("the generated module is valid");
    common::load_and_scan_with(&wasm, filesystem);
});
