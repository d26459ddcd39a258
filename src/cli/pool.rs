//! The scan pipeline: a source thread finds what to scan; `--jobs` worker threads, sharing one
//! `&Registry`, each take the next item (numbering it), read and scan it, and hand the result
//! to the printer, which prints results in input order, each as soon as it and all before it
//! are complete. The calling thread only redraws the progress line.
//!
//! ```text
//! source --paths (read ahead)--> [dispatch: number, reload] --> worker: read, scan
//!                                        ^                            |
//!                                        '--credits-- [printer: reorder, print] <--'
//! ```
//!
//! Workers number and print under two short locks, so a file costs no hand-over between
//! threads. Memory stays bounded: taking an item costs a credit, and printing it gives the
//! credit back, so at most `2 x jobs` files are being read, scanned or waiting to be printed;
//! paths are read ahead up to [`READ_AHEAD`]. The order and bytes of the output, the summary
//! and the exit code do not depend on `--jobs`.
//!
//! In `--files-from` mode the worker taking the next item first checks the plugin directory
//! for changes, at most once a second ([`check_plugin_changes`]); the reload event takes its
//! place in the output between the items numbered before and after it. Files already being
//! scanned finish with the plugin versions their scan started with.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use plugbox::{Registry, Snapshot};

use super::file::{FileLimits, Outcome, scan_file};
use super::output::Output;
use super::reload::check_plugin_changes;
use super::source::Item;

/// Most paths found ahead of the scan. The total for the progress line is known once the
/// source is within this many paths of its end. Kept small: the channel allocates and
/// initialises all its places when it is made (64 Ki places cost a one-file scan about a
/// millisecond of page faults).
pub const READ_AHEAD: usize = 4096;
/// The shortest time between two checks of the plugin directory.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// How often the progress line may be redrawn.
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
    excluded: AtomicU64,
}

/// Numbering: the next item, its sequence number, and the reload schedule.
struct Dispatch<'a> {
    items: Receiver<Next>,
    /// One per item in flight; the printer gives them back.
    credits: Receiver<()>,
    seq: u64,
    reload_dir: Option<&'a Path>,
    last_check: Instant,
}

/// Work taken under the dispatch lock.
enum Task {
    /// A file to read and scan, with the plugins current when it was numbered: a file
    /// printed before a reload event is scanned by the plugins from before it.
    Scan(u64, PathBuf, Arc<Snapshot>),
    /// Results known at once (an error, a reload event), in sequence order.
    Ready(Vec<(u64, Outcome)>),
}

impl Dispatch<'_> {
    /// Takes a credit, numbers one sequence slot, and returns its number.
    fn number(&mut self) -> Option<u64> {
        self.credits.recv().ok()?;
        self.seq += 1;
        Some(self.seq - 1)
    }

    /// The next task, or `None` when the source is exhausted. Between two items, reloads
    /// the plugins when due.
    fn take(&mut self, registry: &Registry) -> Option<(Option<(u64, Outcome)>, Task)> {
        let item = self.items.recv().ok()?;
        let mut reload = None;
        if let Some(dir) = self.reload_dir {
            if self.last_check.elapsed() >= RELOAD_INTERVAL {
                let event = check_plugin_changes(registry, dir);
                self.last_check = Instant::now();
                if !event.is_empty() {
                    reload = Some((self.number()?, Outcome::Reload(event)));
                }
            }
        }
        let seq = self.number()?;
        let task = match item {
            Next::File(path) => Task::Scan(seq, path, registry.snapshot()),
            Next::Error(path, error) => Task::Ready(vec![(seq, Outcome::Error { path, error })]),
            Next::Fatal(message) => Task::Ready(vec![(seq, Outcome::Fatal(message))]),
        };
        Some((reload, task))
    }
}

/// Results waiting for their turn, and where they go.
struct Printer<'o> {
    output: &'o mut Output,
    waiting: BTreeMap<u64, Outcome>,
    next: u64,
    credits: SyncSender<()>,
}

impl Printer<'_> {
    /// Takes a result, and prints every result that is now next in order.
    fn deliver(&mut self, seq: u64, outcome: Outcome) {
        self.waiting.insert(seq, outcome);
        let mut printed = false;
        while let Some(outcome) = self.waiting.remove(&self.next) {
            self.output.outcome(outcome);
            self.next += 1;
            printed = true;
            // Never full: there are as many credits as places in the channel.
            let _ = self.credits.try_send(());
        }
        if printed {
            self.output.flush();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
    let credits = 2 * jobs;
    let (credit_tx, credit_rx) = mpsc::sync_channel::<()>(credits);
    for _ in 0..credits {
        let _ = credit_tx.send(());
    }
    let dispatch = Mutex::new(Dispatch {
        items: item_rx,
        credits: credit_rx,
        seq: 0,
        reload_dir: settings.reload_dir,
        last_check: Instant::now(),
    });
    let printer = Mutex::new(Printer {
        output,
        waiting: BTreeMap::new(),
        next: 0,
        credits: credit_tx,
    });
    // Dropped by each worker as it ends: the calling thread waits on it.
    let (alive_tx, alive_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let found = &found;
        scope.spawn(move || {
            source(&mut |item| find(found, &item_tx, item));
            found.complete.store(true, Ordering::Release);
        });
        for _ in 0..jobs {
            let (dispatch, printer, alive) = (&dispatch, &printer, alive_tx.clone());
            let limits = settings.limits;
            scope.spawn(move || {
                work(registry, limits, dispatch, printer);
                drop(alive);
            });
        }
        drop(alive_tx);
        while let Err(RecvTimeoutError::Timeout) = alive_rx.recv_timeout(TICK) {
            let total = found
                .complete
                .load(Ordering::Acquire)
                .then(|| found.items.load(Ordering::Relaxed));
            lock(&printer).output.tick(total);
        }
    });
    let printer = printer.into_inner().unwrap_or_else(PoisonError::into_inner);
    // Only if a worker died: what is left, in order.
    for (_, outcome) in printer.waiting {
        printer.output.outcome(outcome);
    }
    for _ in 0..found.excluded.load(Ordering::Relaxed) {
        printer.output.excluded();
    }
}

/// Passes a found item on; counts it. False when nobody takes items any more.
fn find(found: &Found, items: &SyncSender<Next>, item: Item) -> bool {
    let next = match item {
        Item::Excluded(path) => {
            log::info!("{}: excluded", path.display());
            found.excluded.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        Item::Fatal(message) => Next::Fatal(message),
        Item::File(path) => Next::File(path),
        Item::Error(path, error) => Next::Error(path, error),
    };
    if !matches!(next, Next::Fatal(_)) {
        found.items.fetch_add(1, Ordering::Relaxed);
    }
    items.send(next).is_ok()
}

/// A worker: takes items until there are no more, scans files, delivers results.
fn work(
    registry: &Registry,
    limits: FileLimits,
    dispatch: &Mutex<Dispatch<'_>>,
    printer: &Mutex<Printer<'_>>,
) {
    loop {
        let Some((reload, task)) = lock(dispatch).take(registry) else {
            return;
        };
        if let Some((seq, event)) = reload {
            lock(printer).deliver(seq, event);
        }
        match task {
            Task::Ready(results) => {
                let mut printer = lock(printer);
                for (seq, outcome) in results {
                    printer.deliver(seq, outcome);
                }
            }
            Task::Scan(seq, path, plugins) => {
                let shown = path.display().to_string();
                // A bug in a scan must not leave a hole the printer waits on for ever.
                let outcome = catch_unwind(AssertUnwindSafe(|| scan_file(&plugins, limits, path)))
                    .unwrap_or_else(|_| {
                        Outcome::Fatal(format!("{shown}: internal error while scanning"))
                    });
                lock(printer).deliver(seq, outcome);
            }
        }
    }
}
