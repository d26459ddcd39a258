//! A long-running scanner, the pattern for daemons: one registry shared by reference,
//! scanned from a pool of threads while another thread reloads it when the plugin directory
//! changes. No `&mut`, no lock around scans: a scan runs on the plugins current when it
//! started, and a reload compiles before it swaps the new set in.
//!
//! ```text
//! find examples/samples -type f | cargo run --release --example daemon -- examples/plugins
//! ```
//!
//! Reads paths from stdin, one a line, and prints each file's findings as `path: threat
//! [score N] by 'plugin'`; plugin changes are announced on stderr. Ends at the end of input.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugbox::{HostConfig, Input, Registry, ReloadReport};

/// How often the plugin directory is looked at.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

fn main() -> std::io::Result<()> {
    let plugins = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "examples/plugins".into());
    let registry = Arc::new(Registry::new(HostConfig::default()));
    registry.load_dir(&plugins)?;
    for failure in registry.failures() {
        eprintln!("daemon: not loaded: {failure}");
    }
    eprintln!(
        "daemon: {} plugins loaded from {}",
        registry.plugins().len(),
        plugins.display()
    );

    // The reloader: a thread of its own, holding the same registry.
    let reloader = Arc::clone(&registry);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(RELOAD_EVERY);
            match reloader.reload() {
                Ok(report) if !report.is_empty() => announce(&report),
                Ok(_) => {}
                Err(error) => eprintln!("daemon: cannot read the plugin directory: {error}"),
            }
        }
    });

    // The scanners: a pool fed by a channel, each holding the same registry.
    let (paths, queue) = mpsc::channel::<PathBuf>();
    let queue = Arc::new(Mutex::new(queue));
    let workers: Vec<_> = (0..std::thread::available_parallelism().map_or(2, |n| n.get()))
        .map(|_| {
            let registry = Arc::clone(&registry);
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                // The lock is held only to take the next path.
                while let Ok(path) = { queue.lock().unwrap().recv() } {
                    scan(&registry, &path);
                }
            })
        })
        .collect();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if !line.is_empty() {
            paths
                .send(PathBuf::from(line))
                .expect("the workers run until the end of input");
        }
    }
    drop(paths);
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    Ok(())
}

fn scan(registry: &Registry, path: &std::path::Path) {
    let data = match plugbox::read_input(path, registry.max_input_bytes()) {
        // Shared, not copied, with plugins reading through the host helpers.
        Ok(data) => std::sync::Arc::new(data) as plugbox::SharedBytes,
        Err(error) => return eprintln!("daemon: {}: {error}", path.display()),
    };
    let shown = path.to_string_lossy();
    let report = registry.scan(Input::shared(&data).path(&shown));
    for finding in &report.findings {
        println!(
            "{shown}: {} [score {}] by '{}'",
            plugbox::printable(&finding.threat),
            finding.score,
            finding.plugin
        );
    }
    for (plugin, failure) in report.failures() {
        eprintln!("daemon: {shown}: plugin '{plugin}': {failure}");
    }
}

fn announce(report: &ReloadReport) {
    for (what, changes) in [
        ("added", &report.added),
        ("changed", &report.changed),
        ("removed", &report.removed),
    ] {
        for change in changes {
            eprintln!(
                "daemon: plugin {what}: '{}' ({})",
                change.plugin,
                change.dir.display()
            );
        }
    }
    for failure in &report.failed {
        eprintln!("daemon: plugin failed to load: {failure}");
    }
}
