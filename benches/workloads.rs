//! Whole-process benchmarks of `plugbox scan`: cold start, per-file cost, throughput, scaling.
//!
//! `cargo bench --bench workloads` (full, for people: a few minutes) or
//! `cargo bench --bench workloads -- --quick` (CI: fewer files and rounds, well under a minute
//! once built). Every measurement is one whole `plugbox scan` process (start, plugin loading,
//! walking, reading, scanning, printing, exit) with default settings (so `--jobs` = the
//! available cores), run from the data directory with stdout and stderr to `/dev/null`, timed
//! from spawn to exit. The workloads of a group run alternately (A B C A B C ...), so that a
//! change in the machine's load hits them alike; the figure is the median over the rounds.
//! Nothing is asserted on timings; each workload's exit code is checked once (every file set
//! holds one marked file, so every run must exit 1).
//!
//! - **cold start**: `plugbox scan --plugins examples/plugins` on one 1 KiB file, and the same
//!   with copies of the examples (the set used below).
//! - **per-file cost**: 1 KiB and 4 KiB files with 1 and 8 plugins: (time for N files - time
//!   for 1 file) / (N - 1), N = 1,000 (200 in quick mode); 4 KiB x 8 plugins also with
//!   `--jobs 1`.
//! - **throughput**: one 64 MiB file (the marker in its last 16 bytes) with the WAT
//!   `marker-scanner` given a 200 MiB cap (and a 10 s budget) in a copy of its directory, and,
//!   when `examples/plugins/marker-find` exists, with that plugin and its own manifest.
//! - **scaling**: 1, 8 and 32 plugins (copies of the examples under distinct names, the
//!   examples taken in turn) x 1, 1,000 and 10,000 files of 4 KiB (1 and 1,000 in quick mode),
//!   and the per-file cost between the two largest counts (without the plugins' compilation,
//!   which the 1-file run is mostly made of).
//!
//! Inputs are generated deterministically (xorshift bytes, a first byte no magic starts with,
//! so the file type is `unknown`; file 0 of each set ends with `MALICIOUS_MARKER`) into a
//! temporary directory. `benches/compare.sh` runs the same workloads against the wasmtime peer:
//! it calls this program with `--prepare DIR [--examples a,b,...]`, which writes the inputs,
//! the plugin copies and `DIR/workloads.json` (every command line and the report's tables)
//! and exits without timing anything.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const MARKER: &[u8; 16] = b"MALICIOUS_MARKER";
/// The order in which plugin sets take the examples (the first alone makes the 1-plugin set).
const PREFERRED: &[&str] = &[
    "marker-scanner",
    "rust-marker",
    "c-marker",
    "signature-list",
    "as-marker",
];
/// Measured on its own (below); like every `"input": "host"` example (`reads_through_host`),
/// it is not copied into plugin sets: it relies on the host's native helpers.
const MARKER_FIND: &str = "marker-find";
const BIG: u64 = 64 << 20;

struct Mode {
    quick: bool,
    /// N in the per-file cost.
    per_file_n: usize,
    /// File counts of the scaling table.
    scaling: Vec<usize>,
    rounds: usize,
    /// A group stops after 3 rounds once it has taken this long.
    budget: Duration,
}

impl Mode {
    fn new(quick: bool) -> Mode {
        if quick {
            Mode {
                quick,
                per_file_n: 200,
                scaling: vec![1, 1000],
                rounds: 5,
                budget: Duration::from_secs(20),
            }
        } else {
            Mode {
                quick,
                per_file_n: 1000,
                scaling: vec![1, 1000, 10_000],
                rounds: 7,
                budget: Duration::from_secs(120),
            }
        }
    }
}

/// One whole-process run: a plugin directory and a list of files.
struct Workload {
    id: String,
    group: &'static str,
    /// `--plugins` (relative to the data directory, or absolute).
    plugins: String,
    /// Options given to plugbox only (the peer has no equivalent).
    extra: Vec<String>,
    files: Vec<String>,
    bytes: u64,
    /// Whether the peer runs it too (`marker-find` needs plugbox's host helpers).
    peer: bool,
}

impl Workload {
    fn plugbox_args(&self) -> Vec<String> {
        let mut args = vec!["scan".into(), "--plugins".into(), self.plugins.clone()];
        args.extend(self.extra.iter().cloned());
        args.extend(self.files.iter().cloned());
        args
    }

    fn peer_args(&self) -> Vec<String> {
        let mut args = vec![
            "scan".into(),
            "--lenient-permissions".into(),
            "--plugins".into(),
            self.plugins.clone(),
        ];
        args.extend(self.files.iter().cloned());
        args
    }

    /// The command line for people: long file lists abbreviated.
    fn shown(args: &[String], files: usize) -> String {
        let head = args.len() - files;
        let mut words: Vec<String> = args[..head].to_vec();
        match files {
            0 => {}
            1..=3 => words.extend(args[head..].iter().cloned()),
            n => words.push(format!(
                "{} ... {} ({n} paths)",
                args[head],
                args[args.len() - 1]
            )),
        }
        words.join(" ")
    }
}

/// A row of a report table: `time` (the median of one workload), `per_file` (`ids` = two
/// workloads, fewer and more files: the time difference per extra file) or `throughput` (one
/// workload; GB/s from its bytes).
struct Row {
    label: String,
    kind: &'static str,
    ids: Vec<String>,
    target: Option<&'static str>,
}

struct Table {
    title: String,
    rows: Vec<Row>,
}

/// xorshift64* bytes from `seed`, the first byte 0 (no magic starts with it, so the type is
/// `unknown`), and the marker in the last 16 bytes when `marked`.
fn file_bytes(seed: u64, size: usize, marked: bool) -> Vec<u8> {
    let mut data = vec![0u8; size];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in data.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let bytes = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    data[0] = 0;
    if marked {
        data[size - MARKER.len()..].copy_from_slice(MARKER);
    }
    data
}

/// Writes `count` files of `size` bytes as `files/NAME/fNNNNN.bin`; returns their paths.
fn write_set(root: &Path, name: &str, size: usize, count: usize, seed: u64) -> Vec<String> {
    let dir = root.join("files").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    (0..count)
        .map(|i| {
            let path = format!("files/{name}/f{i:05}.bin");
            let data = file_bytes(seed.wrapping_add(i as u64 * 7919), size, i == 0);
            std::fs::write(root.join(&path), data).unwrap();
            path
        })
        .collect()
}

/// Copies the plugin in `src` (its regular files, not its subdirectories) to `dst`, with the
/// manifest changed by `edit`.
fn copy_plugin(src: &Path, dst: &Path, edit: impl FnOnce(&mut Value)) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() && entry.file_name() != "plugin.json" {
            std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
        }
    }
    let text = std::fs::read_to_string(src.join("plugin.json")).unwrap();
    let mut manifest: Value = serde_json::from_str(&text).unwrap();
    edit(&mut manifest);
    std::fs::write(
        dst.join("plugin.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
}

/// `plugins/NAME/II-example`, `count` copies of the examples taken in turn, each manifest
/// renamed `<name> #II` (names must be unique).
fn plugin_set(root: &Path, examples: &Path, order: &[String], name: &str, count: usize) -> String {
    let rel = format!("plugins/{name}");
    for i in 0..count {
        let example = &order[i % order.len()];
        copy_plugin(
            &examples.join(example),
            &root.join(&rel).join(format!("{i:02}-{example}")),
            |m| {
                let base = m["name"].as_str().unwrap().to_string();
                m["name"] = Value::from(format!("{base} #{i:02}"));
            },
        );
    }
    rel
}

/// The examples to copy: every example directory but those reading through the host
/// helpers (`marker-find`, `rust-find`; only those in `given`, when given), `PREFERRED` ones
/// first.
fn example_order(examples: &Path, given: Option<&str>) -> Vec<String> {
    let wanted: Option<Vec<&str>> = given.map(|list| list.split(',').collect());
    let mut found: Vec<String> = std::fs::read_dir(examples)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| examples.join(n).join("plugin.json").is_file())
        .filter(|n| !reads_through_host(&examples.join(n)))
        .filter(|n| wanted.as_ref().is_none_or(|w| w.contains(&n.as_str())))
        .collect();
    assert!(!found.is_empty(), "no example plugin to copy");
    found.sort_by_key(|n| {
        (
            PREFERRED
                .iter()
                .position(|p| p == n)
                .unwrap_or(PREFERRED.len()),
            n.clone(),
        )
    });
    found
}

/// Whether the plugin's manifest says `"input": "host"`.
fn reads_through_host(plugin: &Path) -> bool {
    let manifest = std::fs::read(plugin.join("plugin.json")).unwrap();
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    manifest["input"] == "host"
}

fn count_plugins(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("plugin.json").is_file())
        .count()
}

/// Writes every input into `root` and returns the workloads and the report's tables.
fn prepare(
    root: &Path,
    mode: &Mode,
    given: Option<&str>,
) -> (Vec<Workload>, Vec<Table>, Vec<String>) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins");
    let order = example_order(&examples, given);
    let n = mode.per_file_n;
    let max_files = mode.scaling.iter().copied().max().unwrap().max(n);
    let kib1 = write_set(root, "1k", 1024, n, 1);
    let kib4 = write_set(root, "4k", 4096, max_files, 2);
    let big = write_set(root, "64m", BIG as usize, 1, 3);

    let mut workloads = Vec::new();
    let mut add = |id: String,
                   group: &'static str,
                   plugins: &str,
                   extra: &[&str],
                   files: &[String],
                   size: u64,
                   peer: bool| {
        if !workloads.iter().any(|w: &Workload| w.id == id) {
            workloads.push(Workload {
                id: id.clone(),
                group,
                plugins: plugins.to_string(),
                extra: extra.iter().map(|s| s.to_string()).collect(),
                files: files.to_vec(),
                bytes: size * files.len() as u64,
                peer,
            });
        }
        id
    };
    let mut tables = Vec::new();

    // Cold start.
    let bundled = examples.to_string_lossy().into_owned();
    let all = plugin_set(root, &examples, &order, "all", order.len());
    let cold = vec![
        Row {
            label: format!(
                "bundled examples (`examples/plugins`, {} plugins), one 1 KiB file",
                count_plugins(&examples)
            ),
            kind: "time",
            ids: vec![add(
                "cold-examples".into(),
                "cold",
                &bundled,
                &[],
                &kib1[..1],
                1024,
                true,
            )],
            target: Some("plugbox/peer <= 0.20"),
        },
        Row {
            label: format!(
                "copies of {} examples ({}), one 1 KiB file",
                order.len(),
                order.join(", ")
            ),
            kind: "time",
            ids: vec![add(
                "cold-copies".into(),
                "cold",
                &all,
                &[],
                &kib1[..1],
                1024,
                true,
            )],
            target: None,
        },
    ];
    tables.push(Table {
        title: "Cold start (whole process)".into(),
        rows: cold,
    });

    // Plugin sets.
    let mut sets = HashMap::new();
    for count in [1, 8, 32] {
        sets.insert(
            count,
            plugin_set(root, &examples, &order, &format!("p{count}"), count),
        );
    }

    // Per-file cost.
    let mut rows = Vec::new();
    for (size_name, size, files) in [("1 KiB", 1024u64, &kib1), ("4 KiB", 4096, &kib4)] {
        let short = if size == 1024 { "1k" } else { "4k" };
        for count in [1, 8] {
            let set = &sets[&count];
            let one = add(
                format!("{short}-p{count}-n1"),
                "files",
                set,
                &[],
                &files[..1],
                size,
                true,
            );
            let many = add(
                format!("{short}-p{count}-n{n}"),
                "files",
                set,
                &[],
                &files[..n],
                size,
                true,
            );
            rows.push(Row {
                label: format!("{size_name} files x {} (N = {n})", n_plugins(count)),
                kind: "per_file",
                ids: vec![one, many],
                target: (size == 4096 && count == 8).then_some("plugbox/peer <= 0.33"),
            });
        }
    }
    let one = add(
        "4k-p8-n1-jobs1".into(),
        "files",
        &sets[&8],
        &["--jobs", "1"],
        &kib4[..1],
        4096,
        true,
    );
    let many = add(
        format!("4k-p8-n{n}-jobs1"),
        "files",
        &sets[&8],
        &["--jobs", "1"],
        &kib4[..n],
        4096,
        true,
    );
    rows.push(Row {
        label: format!("4 KiB files x 8 plugins (N = {n}), plugbox `--jobs 1`"),
        kind: "per_file",
        ids: vec![one, many],
        target: None,
    });
    tables.push(Table {
        title: "Per-file cost: (time for N files - time for 1 file) / (N - 1)".into(),
        rows,
    });

    // Throughput.
    let marker = "plugins/marker-200m";
    copy_plugin(
        &examples.join("marker-scanner"),
        &root.join(marker).join("marker-scanner"),
        |m| {
            m["permissions"]["max_memory_mb"] = Value::from(200);
            m["permissions"]["max_exec_ms"] = Value::from(10_000);
        },
    );
    let mut rows = vec![Row {
        label: "WAT `marker-scanner` (byte loop), cap raised to 200 MiB".into(),
        kind: "throughput",
        ids: vec![add(
            "64m-marker".into(),
            "big",
            marker,
            &[],
            &big,
            BIG,
            true,
        )],
        target: Some("plugbox/peer <= 3.0"),
    }];
    if examples.join(MARKER_FIND).join("plugin.json").is_file() {
        let find = "plugins/marker-find";
        copy_plugin(
            &examples.join(MARKER_FIND),
            &root.join(find).join(MARKER_FIND),
            |_| {},
        );
        rows.push(Row {
            label: "`marker-find` (`input: host`, its own manifest), plugbox only".into(),
            kind: "throughput",
            ids: vec![add(
                "64m-marker-find".into(),
                "big",
                find,
                &[],
                &big,
                BIG,
                false,
            )],
            target: Some(">= 1 GB/s"),
        });
    }
    tables.push(Table {
        title: "Throughput: one 64 MiB file (marker in the last 16 bytes)".into(),
        rows,
    });

    // Scaling.
    let mut rows = Vec::new();
    for count in [1, 8, 32] {
        for &files in &mode.scaling {
            rows.push(Row {
                label: format!(
                    "{} x {files} file{}",
                    n_plugins(count),
                    if files == 1 { "" } else { "s" }
                ),
                kind: "time",
                ids: vec![add(
                    format!("4k-p{count}-n{files}"),
                    "scaling",
                    &sets[&count],
                    &[],
                    &kib4[..files],
                    4096,
                    true,
                )],
                target: None,
            });
        }
        // The cost of one more file, from the two largest counts: compiling the plugins,
        // which the 1-file run is mostly made of, is out of it.
        if let [.., a, b] = mode.scaling[..] {
            rows.push(Row {
                label: format!(
                    "{} x 4 KiB, per file from {a} to {b} files",
                    n_plugins(count)
                ),
                kind: "per_file",
                ids: vec![format!("4k-p{count}-n{a}"), format!("4k-p{count}-n{b}")],
                target: None,
            });
        }
    }
    tables.push(Table {
        title: "Scaling: 4 KiB files".into(),
        rows,
    });
    (workloads, tables, order)
}

fn plugbox() -> &'static str {
    env!("CARGO_BIN_EXE_plugbox")
}

/// One whole `plugbox scan`, timed; with `check`, stderr is kept and the exit code must be 1.
fn run(root: &Path, w: &Workload, check: bool) -> Duration {
    let mut command = Command::new(plugbox());
    command
        .args(w.plugbox_args())
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if check { Stdio::piped() } else { Stdio::null() });
    let start = Instant::now();
    let output = command.output().unwrap();
    let elapsed = start.elapsed();
    if check && output.status.code() != Some(1) {
        panic!(
            "{}: plugbox {} exited {:?}, expected 1 (the marked file is found)\n{}",
            w.id,
            Workload::shown(&w.plugbox_args(), w.files.len()),
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn n_plugins(n: usize) -> String {
    format!("{n} plugin{}", if n == 1 { "" } else { "s" })
}

fn time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} us", s * 1e6)
    }
}

fn measure(root: &Path, workloads: &[Workload], mode: &Mode) -> HashMap<String, Duration> {
    let mut medians = HashMap::new();
    for group in ["cold", "files", "big", "scaling"] {
        let members: Vec<&Workload> = workloads.iter().filter(|w| w.group == group).collect();
        // Warm-up (page cache, the binary), which checks the exit code.
        for w in &members {
            run(root, w, true);
        }
        let started = Instant::now();
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); members.len()];
        for round in 0..mode.rounds {
            for (i, w) in members.iter().enumerate() {
                samples[i].push(run(root, w, false));
            }
            if round + 1 >= 3 && started.elapsed() > mode.budget {
                break;
            }
        }
        for (w, s) in members.iter().zip(samples) {
            let rounds = s.len();
            let m = median(s);
            println!("  {:<22} {:>10}  (median of {rounds})", w.id, time(m));
            medians.insert(w.id.clone(), m);
        }
    }
    medians
}

fn report(tables: &[Table], medians: &HashMap<String, Duration>, workloads: &[Workload]) {
    let bytes: HashMap<&str, u64> = workloads.iter().map(|w| (w.id.as_str(), w.bytes)).collect();
    let files: HashMap<&str, usize> = workloads
        .iter()
        .map(|w| (w.id.as_str(), w.files.len()))
        .collect();
    for table in tables {
        println!("\n{}", table.title);
        for row in &table.rows {
            let value = match row.kind {
                "time" => time(medians[&row.ids[0]]),
                "per_file" => {
                    let (few, many) = (medians[&row.ids[0]], medians[&row.ids[1]]);
                    let n = files[row.ids[1].as_str()] - files[row.ids[0].as_str()];
                    let per = (many.as_secs_f64() - few.as_secs_f64()) / n as f64;
                    format!("{:.1} us/file", per * 1e6)
                }
                _ => {
                    let t = medians[&row.ids[0]];
                    format!(
                        "{} = {:.2} GB/s",
                        time(t),
                        bytes[row.ids[0].as_str()] as f64 / t.as_secs_f64() / 1e9
                    )
                }
            };
            let target = row
                .target
                .map(|t| format!("   (target {t})"))
                .unwrap_or_default();
            println!("  {:<72} {value}{target}", row.label);
        }
    }
}

/// `DIR/workloads.json`, for `benches/compare.sh`.
fn write_plan(
    root: &Path,
    mode: &Mode,
    workloads: &[Workload],
    tables: &[Table],
    order: &[String],
) {
    let plan = json!({
        "plugbox": plugbox(),
        "data_dir": root,
        "quick": mode.quick,
        "examples": order,
        "workloads": workloads.iter().map(|w| json!({
            "id": w.id,
            "group": w.group,
            "peer": w.peer,
            "bytes": w.bytes,
            "files": w.files.len(),
            "plugbox_args": w.plugbox_args(),
            "peer_args": w.peer_args(),
            "plugbox_shown": Workload::shown(&w.plugbox_args(), w.files.len()),
            "peer_shown": Workload::shown(&w.peer_args(), w.files.len()),
        })).collect::<Vec<_>>(),
        "tables": tables.iter().map(|t| json!({
            "title": t.title,
            "rows": t.rows.iter().map(|r| json!({
                "label": r.label,
                "kind": r.kind,
                "ids": r.ids,
                "target": r.target,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(
        root.join("workloads.json"),
        serde_json::to_string_pretty(&plan).unwrap(),
    )
    .unwrap();
}

fn main() {
    let mut quick = false;
    let mut prepare_dir: Option<PathBuf> = None;
    let mut examples: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench`; `--test` as for the test-harness benches.
            "--bench" => {}
            "--quick" | "--test" => quick = true,
            "--prepare" => prepare_dir = Some(args.next().expect("--prepare DIR").into()),
            "--examples" => examples = Some(args.next().expect("--examples a,b,...")),
            other => panic!(
                "unknown argument {other:?} (expected --quick, --prepare DIR, --examples a,b,...)"
            ),
        }
    }
    let mode = Mode::new(quick);
    if let Some(dir) = prepare_dir {
        std::fs::create_dir_all(&dir).unwrap();
        let dir = dir.canonicalize().unwrap();
        let (workloads, tables, order) = prepare(&dir, &mode, examples.as_deref());
        write_plan(&dir, &mode, &workloads, &tables, &order);
        println!("{}", dir.join("workloads.json").display());
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (workloads, tables, order) = prepare(dir.path(), &mode, examples.as_deref());
    println!(
        "plugbox scan, whole process ({} mode, {} cores available): {} workloads; plugin sets from {}; inputs written in {:.1?}",
        if quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        workloads.len(),
        order.join(", "),
        started.elapsed()
    );
    let medians = measure(dir.path(), &workloads, &mode);
    report(&tables, &medians, &workloads);
    println!("\ntotal {:.1?}", started.elapsed());
}
