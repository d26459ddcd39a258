//! Cancelling scans from another thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A handle that ends scans early: clone it to another thread and call
/// [`cancel`](CancelHandle::cancel). Every plugin call of a scan given this handle (through
/// [`Registry::scan_cancellable`](crate::Registry::scan_cancellable)) then stops within about
/// a millisecond, host calls that wait included, and reports
/// [`FailureKind::Cancelled`](crate::FailureKind::Cancelled); plugins not started yet are not
/// run. Findings reported before the cancellation are kept.
///
/// A cancelled handle stays cancelled, so one handle can stop all the scans of a host that is
/// shutting down; use a new handle per scan to cancel scans one by one.
///
/// It ends scans, not loads: the calls made while loading a plugin (its start function,
/// `_initialize`, `on_load`) are bounded by the plugin's time budget, which a host can cap with
/// [`HostConfig::with_max_exec_ms`](crate::HostConfig::with_max_exec_ms).
///
/// ```
/// use plugbox::{CancelHandle, FailureKind, HostConfig, Input, Registry};
///
/// let registry = Registry::new(HostConfig::default());
/// registry.load_dir("examples/plugins".as_ref())?;
/// let cancel = CancelHandle::new();
/// cancel.clone().cancel(); // e.g. from a signal handler's thread
/// let report = registry.scan_cancellable(Input::new(b"MALICIOUS_MARKER"), &cancel);
/// for (_, failure) in report.failures() {
///     assert_eq!(failure.kind, FailureKind::Cancelled);
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    /// Wakes host calls that wait (a guest's sleep) as soon as the handle is cancelled.
    lock: Mutex<()>,
    wake: Condvar,
}

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every scan using this handle (or a clone of it), now and later.
    pub fn cancel(&self) {
        let _guard = self
            .inner
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.wake.notify_all();
    }

    /// Whether [`cancel`](CancelHandle::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Sleeps for `duration`, or until the handle is cancelled if that comes first.
    pub(crate) fn sleep(&self, duration: Duration) {
        let guard = self
            .inner
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .inner
            .wake
            .wait_timeout_while(guard, duration, |_| !self.is_cancelled())
            .unwrap_or_else(PoisonError::into_inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn cancelling_wakes_a_sleeper_at_once() {
        let handle = CancelHandle::new();
        let other = handle.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.cancel();
        });
        let started = Instant::now();
        handle.sleep(Duration::from_secs(60));
        assert!(handle.is_cancelled());
        assert!(started.elapsed() < Duration::from_secs(30));
        canceller.join().unwrap();
    }

    #[test]
    fn a_fresh_handle_sleeps_its_time() {
        let handle = CancelHandle::new();
        let started = Instant::now();
        handle.sleep(Duration::from_millis(5));
        assert!(started.elapsed() >= Duration::from_millis(5));
        assert!(!handle.is_cancelled());
    }
}
