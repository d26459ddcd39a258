//! The scan pipeline: a source thread finds what to scan, a dispatcher numbers it and hands
//! files to `--jobs` worker threads (which read and scan them, sharing one `&Registry`), and
//! the calling thread prints the results in input order, each as soon as it and all before
//! it are complete.
//!
//! ```text
//! source --paths--> dispatcher --(seq, path)--> workers --(seq, outcome)--> printer
//!                        ^----------------- credits (2 x jobs) ----------------'
//! ```
//!
//! Memory stays bounded: the dispatcher spends a credit per item and the printer returns it
//! once the item is printed, so at most `2 x jobs` files are being read, scanned or waiting
//! to be printed; paths are read ahead up to [`READ_AHEAD`]. The order and bytes of the
//! output, the summary and the exit code do not depend on `--jobs`.
//!
//! In `--files-from` mode the dispatcher also checks the plugin directory for changes
//! between two files, at most once a second ([`check_plugin_changes`]); the reload event
//! takes its place in the output between the files dispatched before and after it. Files
//! already handed to a worker finish with the plugin versions their scan started with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use plugbox::Registry;

use super::file::{FileLimits, Outcome, scan_file};
use super::output::Output;
use super::reload::check_plugin_changes;
use super::source::Item;

/// Most paths found ahead of the scan (path names only; a few MiB at most). The total for
/// the progress line is known once the source is within this many paths of its end.
pub const READ_AHEAD: usize = 64 * 1024;
/// The shortest time between two checks of the plugin directory.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// How often the printer wakes up with nothing to print, to redraw the progress line.
const TICK: Duration = Duration::from_millis(100);

/// How to run the pipeline.
pub struct Settings<'a> {
    pub jobs: usize,
    pub limits: FileLimits,
    /// The plugin directory to watch, in `--files-from` mode.
    pub reload_dir: Option<&'a Path>,
}

/// An item to number and print (excluded paths are only counted).
enum Next {
    File(PathBuf),
    Error(PathBuf, std::io::Error),
    Fatal(String),
}

/// What the source has found so far, for the progress line.
#[derive(Default)]
struct Found {
    items: AtomicU64,
    complete: AtomicBool,
}

/// Runs `source` (on its own thread; it passes each item to the function it is given, which
/// returns false when the scan is over) and prints every result through `output`.
pub fn run<S>(registry: &Registry, settings: Settings<'_>, source: S, output: &mut Output)
where
    S: FnOnce(&mut dyn FnMut(Item) -> bool) + Send,
{
    let jobs = settings.jobs.max(1);
    let found = Found::default();
    let (item_tx, item_rx) = mpsc::sync_channel::<Next>(READ_AHEAD);
    // Rendezvous: a file is handed over only when a worker is free to take it.
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, PathBuf)>(0);
    // Shared by the workers only: if they all end, handing over fails instead of blocking.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (result_tx, result_rx) = mpsc::channel::<(u64, Outcome)>();
    let credits = 2 * jobs;
    let (credit_tx, credit_rx) = mpsc::sync_channel::<()>(credits);
    for _ in 0..credits {
        let _ = credit_tx.send(());
    }
    let excluded = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let (found, excluded) = (&found, &excluded);
        scope.spawn(move || {
            source(&mut |item| {
                let next = match item {
                    Item::Excluded(path) => {
                        log::info!("{}: excluded", path.display());
                        excluded.fetch_add(1, Ordering::Relaxed);
                        return true;
                    }
                    Item::Fatal(message) => Next::Fatal(message),
                    Item::File(path) => Next::File(path),
                    Item::Error(path, error) => Next::Error(path, error),
                };
                if !matches!(next, Next::Fatal(_)) {
                    found.items.fetch_add(1, Ordering::Relaxed);
                }
                item_tx.send(next).is_ok()
            });
            found.complete.store(true, Ordering::Release);
        });
        let dispatcher_results = result_tx.clone();
        let reload_dir = settings.reload_dir;
        scope.spawn(move || {
            dispatch(
                registry,
                reload_dir,
                item_rx,
                credit_rx,
                job_tx,
                dispatcher_results,
            )
        });
        for _ in 0..jobs {
            let (job_rx, result_tx) = (Arc::clone(&job_rx), result_tx.clone());
            let limits = settings.limits;
            scope.spawn(move || work(registry, limits, &job_rx, result_tx));
        }
        drop((job_rx, result_tx));
        print_in_order(&result_rx, &credit_tx, found, output);
    });
    for _ in 0..excluded.load(Ordering::Relaxed) {
        output.excluded();
    }
}

/// Numbers the items in order and hands them on; between two files, reloads the plugins
/// when due.
fn dispatch(
    registry: &Registry,
    reload_dir: Option<&Path>,
    items: Receiver<Next>,
    credits: Receiver<()>,
    jobs: SyncSender<(u64, PathBuf)>,
    results: mpsc::Sender<(u64, Outcome)>,
) {
    let mut seq = 0u64;
    let mut last_check = Instant::now();
    for item in items {
        if let Some(dir) = reload_dir {
            if last_check.elapsed() >= RELOAD_INTERVAL {
                let event = check_plugin_changes(registry, dir);
                last_check = Instant::now();
                if !event.is_empty() {
                    if credits.recv().is_err()
                        || results.send((seq, Outcome::Reload(event))).is_err()
                    {
                        return;
                    }
                    seq += 1;
                }
            }
        }
        if credits.recv().is_err() {
            return;
        }
        let sent = match item {
            Next::File(path) => jobs.send((seq, path)).is_ok(),
            Next::Error(path, error) => results.send((seq, Outcome::Error { path, error })).is_ok(),
            Next::Fatal(message) => results.send((seq, Outcome::Fatal(message))).is_ok(),
        };
        if !sent {
            return;
        }
        seq += 1;
    }
}

/// A worker: reads and scans files until there are no more.
fn work(
    registry: &Registry,
    limits: FileLimits,
    jobs: &Mutex<Receiver<(u64, PathBuf)>>,
    results: mpsc::Sender<(u64, Outcome)>,
) {
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((seq, path)) = job else { return };
        if results
            .send((seq, scan_file(registry, limits, path)))
            .is_err()
        {
            return;
        }
    }
}

/// Prints results in sequence order as they become printable, returning a credit for each,
/// and keeps the progress line fresh.
fn print_in_order(
    results: &Receiver<(u64, Outcome)>,
    credits: &SyncSender<()>,
    found: &Found,
    output: &mut Output,
) {
    let mut waiting: BTreeMap<u64, Outcome> = BTreeMap::new();
    let mut next = 0u64;
    let mut open = true;
    while open {
        match results.recv_timeout(TICK) {
            Ok((seq, outcome)) => {
                waiting.insert(seq, outcome);
                while let Ok((seq, outcome)) = results.try_recv() {
                    waiting.insert(seq, outcome);
                }
                let mut printed = false;
                while let Some(outcome) = waiting.remove(&next) {
                    output.outcome(outcome);
                    next += 1;
                    printed = true;
                    // The dispatcher is gone once everything is handed out.
                    let _ = credits.try_send(());
                }
                if printed {
                    output.flush();
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        let total = found
            .complete
            .load(Ordering::Acquire)
            .then(|| found.items.load(Ordering::Relaxed));
        output.tick(total);
    }
    // Every sender is gone, so every numbered item has arrived.
    for (_, outcome) in std::mem::take(&mut waiting) {
        output.outcome(outcome);
    }
}
