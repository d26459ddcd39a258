//! `plugbox scan --jobs`: files per second with 1 and 2 jobs, and the ratio.
//!
//! `cargo bench --bench cli_jobs -- --test` (release profile; the report is printed, nothing is
//! asserted on timings). It writes 2,000 files of 4 KiB (every hundredth holding the marker)
//! and runs the release `plugbox scan --quiet` on them with every bundled example plugin
//! (`examples/plugins`), `--jobs 1` and `--jobs 2` alternately (A B A B ...), so that a change
//! in the machine's load hits both alike. Each run is a whole process: start, plugin load,
//! walk, reading, scanning and printing. The ratio compares the median rates.
//!
//! A benchmark target built with the default test harness (so it needs no manifest entry):
//! the measurement is one `#[test]`, which the harness runs in bench mode only when asked
//! with `--test` (`cargo test --release --bench cli_jobs` runs it too).
#![cfg(feature = "cli")]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 2000;
const FILE_BYTES: usize = 4096;
const PAIRS: usize = 7;

/// Writes the report straight to stdout, past the test harness's capture.
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

fn write_files(dir: &Path) {
    for i in 0..FILES {
        let mut data = vec![b'.'; FILE_BYTES];
        if i % 100 == 0 {
            data[1000..1016].copy_from_slice(b"MALICIOUS_MARKER");
        }
        std::fs::write(dir.join(format!("f{i:04}.bin")), data).unwrap();
    }
}

/// One whole `plugbox scan` with `jobs` jobs, timed.
fn run(plugins: &Path, files: &Path, jobs: usize) -> Duration {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .arg("scan")
        .arg("--quiet")
        .arg("--jobs")
        .arg(jobs.to_string())
        .arg("--plugins")
        .arg(plugins)
        .arg(files)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let elapsed = start.elapsed();
    // The marked files are found: exit 1.
    assert_eq!(status.code(), Some(1), "plugbox scan --jobs {jobs} failed");
    elapsed
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[test]
fn files_per_second_with_1_and_2_jobs() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins");
    let count = std::fs::read_dir(&plugins)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("plugin.json").exists())
        .count();
    let files = tempfile::tempdir().unwrap();
    write_files(files.path());
    say(&format!(
        "\nplugbox scan --quiet --jobs N --plugins examples/plugins DIR: {FILES} files of {FILE_BYTES} bytes, {count} plugins, {} cores available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    // Warm up the page cache and the binary.
    run(&plugins, files.path(), 2);
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let a = run(&plugins, files.path(), 1);
        let b = run(&plugins, files.path(), 2);
        let rate = |d: Duration| FILES as f64 / d.as_secs_f64();
        say(&format!(
            "  pair {}: --jobs 1 {:6.0} files/s ({:.3} s), --jobs 2 {:6.0} files/s ({:.3} s)",
            pair + 1,
            rate(a),
            a.as_secs_f64(),
            rate(b),
            b.as_secs_f64()
        ));
        one.push(rate(a));
        two.push(rate(b));
    }
    let (one, two) = (median(one), median(two));
    say(&format!(
        "median: --jobs 1 {one:.0} files/s, --jobs 2 {two:.0} files/s: ratio {:.2}x (target >= 1.7x on 2 idle cores)\n",
        two / one
    ));
}
