//! The time budget (CONTRACT §5): a wall-clock deadline built from wasmi fuel.
//!
//! wasmi can only stop guest code when it runs out of fuel, and fuel is an instruction count,
//! not a time. So a call runs in slices of about [`SLICE`] of fuel each; when a slice runs
//! out the call is suspended, the clock is read, and the call is either resumed with a new
//! slice or abandoned as a timeout. Every piece of guest code runs this way, start functions
//! included (they are moved into an export at load), so a call overshoots its deadline by about one
//! slice whatever the machine speed.
//!
//! How much fuel makes one slice is learnt per call, from that call's own slices, with the
//! time spent in host functions taken out: nothing a plugin does can change how another
//! plugin's calls (or its own later calls) are sliced.

use std::time::{Duration, Instant};

use wasmi::{AsContextMut, Func, ResumableCall, Store, Val};

use super::SandboxState;
use crate::cancel::CancelHandle;
use crate::findings::CallCost;

/// Target wall-clock length of one fuel slice: the resolution of every deadline.
pub(crate) const SLICE: Duration = Duration::from_millis(1);
/// Fuel per millisecond every call starts from: low on purpose, so that on any machine the
/// first slice ends early and the rate is measured, rather than overshooting.
const INITIAL_FUEL_PER_MS: u64 = 50_000;
const MIN_SLICE_FUEL: u64 = 1_000;
const MAX_SLICE_FUEL: u64 = 1 << 40;
/// Slices shorter than this are dominated by timer and call overhead.
const MIN_MEASURABLE_SLICE: Duration = Duration::from_micros(200);
/// Most the estimate may grow from one slice to the next. Shrinking is not limited: a slice
/// that took too long makes the next one short at once.
const MAX_GROWTH: u64 = 4;

/// The fuel rate of one call: fuel burnt per millisecond of guest time, learnt from the
/// call's own slices.
#[derive(Debug, Clone, Copy)]
struct CallRate {
    per_ms: u64,
    measured: bool,
}

impl CallRate {
    fn new() -> Self {
        Self {
            per_ms: INITIAL_FUEL_PER_MS,
            measured: false,
        }
    }

    /// Learns from a slice that burnt `fuel` in `guest_time` (host-call time excluded).
    fn record(&mut self, fuel: u64, guest_time: Duration) {
        let ceiling = self.per_ms.saturating_mul(MAX_GROWTH).min(MAX_SLICE_FUEL);
        if guest_time < MIN_MEASURABLE_SLICE {
            // Too short to measure: the estimate is too low; grow it, boundedly.
            self.per_ms = ceiling;
            return;
        }
        let sample = (u128::from(fuel) * 1_000_000 / guest_time.as_nanos().max(1)) as u64;
        // Shrink at once; grow smoothly once measured, so that one slice preempted by the OS
        // does not decide the next one.
        let estimate = if sample < self.per_ms || !self.measured {
            sample
        } else {
            (self.per_ms / 4 * 3).saturating_add(sample / 4)
        };
        self.per_ms = estimate.clamp(1, ceiling);
        self.measured = true;
    }

    /// Fuel for the next slice: one [`SLICE`] at this rate, less if the deadline is nearer,
    /// at least what the suspended call needs to make progress.
    fn next_slice(&self, deadline: &Deadline, required: u64) -> u64 {
        let slice = self.per_ms * SLICE.as_micros() as u64 / 1000;
        let until_deadline =
            (u128::from(self.per_ms) * deadline.remaining().as_micros() / 1000) as u64;
        slice
            .min(until_deadline)
            .clamp(MIN_SLICE_FUEL, MAX_SLICE_FUEL)
            .max(required)
    }
}

/// Why a sliced call did not return a value.
#[derive(Debug)]
pub(crate) enum Interrupted {
    /// The deadline passed.
    Timeout,
    /// The scan was cancelled.
    Cancelled,
    /// The guest trapped, or a host function returned an error.
    Trap(wasmi::Error),
}

/// A host error meaning the call's deadline passed, or its scan was cancelled, while the host
/// was working for the guest (waiting in `poll_oneoff`, copying in `fd_write`, ...): the call
/// ends as a timeout, or as cancelled. Which one is decided when the host stops, not later.
#[derive(Debug)]
struct BudgetExhausted {
    cancelled: bool,
}

impl std::fmt::Display for BudgetExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.cancelled {
            true => "the scan was cancelled during a host call",
            false => "the time budget ran out during a host call",
        })
    }
}

impl wasmi::errors::HostError for BudgetExhausted {}

/// A call's deadline: when it started and how long it may take, and the scan's cancel
/// handle, if it has one: a cancelled deadline has passed.
#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    start: Instant,
    budget: Duration,
    cancel: Option<CancelHandle>,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub(crate) fn after(budget: Duration) -> Self {
        Self {
            start: Instant::now(),
            budget,
            cancel: None,
        }
    }

    /// This deadline, passed at once when `cancel` is cancelled.
    pub(crate) fn cancelled_by(self, cancel: Option<&CancelHandle>) -> Self {
        Self {
            cancel: cancel.cloned(),
            ..self
        }
    }

    /// A deadline that has already passed: what host functions see outside any call.
    pub(crate) fn passed() -> Self {
        Self::after(Duration::ZERO)
    }

    /// Time left, zero once passed or cancelled.
    pub(crate) fn remaining(&self) -> Duration {
        if self.is_cancelled() {
            return Duration::ZERO;
        }
        self.budget.saturating_sub(self.start.elapsed())
    }

    /// Whether the deadline has passed (or the scan was cancelled).
    pub(crate) fn is_passed(&self) -> bool {
        self.remaining().is_zero()
    }

    /// Whether the scan this deadline belongs to was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelHandle::is_cancelled)
    }

    /// The error a host function returns once this deadline has passed: the call then ends
    /// as a timeout, or as cancelled if that is why it passed.
    pub(crate) fn exhausted(&self) -> wasmi::Error {
        wasmi::Error::host(BudgetExhausted {
            cancelled: self.is_cancelled(),
        })
    }

    /// Sleeps for `duration`, waking early if the scan is cancelled.
    pub(crate) fn sleep(&self, duration: Duration) {
        match &self.cancel {
            Some(cancel) => cancel.sleep(duration),
            None => std::thread::sleep(duration),
        }
    }
}

/// Calls `func` with `params` under `deadline`, in fuel slices; its results go to
/// `results`. Not generic over the signature: one copy of this loop (and of wasmi's resumable
/// call) serves every export the host calls.
pub(crate) fn call<S: SandboxState>(
    store: &mut Store<S>,
    func: &Func,
    params: &[Val],
    results: &mut [Val],
    deadline: &Deadline,
) -> (Result<(), Interrupted>, CallCost) {
    let started = Instant::now();
    let mut cost = CallCost::default();
    let mut rate = CallRate::new();
    let mut slice = rate.next_slice(deadline, 0);
    let mut slice_start = (started, store.data().host_time());
    let mut outcome = set_fuel(store, slice)
        .and_then(|()| func.call_resumable(&mut *store, params, &mut *results));
    let result = loop {
        let burnt = slice - store.get_fuel().unwrap_or(0);
        cost.fuel = cost.fuel.saturating_add(burnt);
        match outcome {
            Ok(ResumableCall::Finished) => break Ok(()),
            Ok(ResumableCall::OutOfFuel(suspended)) => {
                let host_time = store.data().host_time().saturating_sub(slice_start.1);
                rate.record(slice, slice_start.0.elapsed().saturating_sub(host_time));
                if deadline.is_cancelled() {
                    break Err(Interrupted::Cancelled);
                }
                if deadline.is_passed() {
                    break Err(Interrupted::Timeout);
                }
                slice = rate.next_slice(deadline, suspended.required_fuel());
                slice_start = (Instant::now(), store.data().host_time());
                outcome = set_fuel(store, slice)
                    .and_then(|()| suspended.resume(&mut *store, &mut *results));
            }
            Ok(ResumableCall::HostTrap(suspended)) => {
                let error = suspended.into_host_error();
                if let Some(exhausted) = error.downcast_ref::<BudgetExhausted>() {
                    break Err(match exhausted.cancelled {
                        true => Interrupted::Cancelled,
                        false => Interrupted::Timeout,
                    });
                }
                break Err(Interrupted::Trap(error));
            }
            Err(error) => break Err(Interrupted::Trap(error)),
        }
    };
    cost.micros = started.elapsed().as_micros() as u64;
    (result, cost)
}

fn set_fuel<T>(store: &mut Store<T>, fuel: u64) -> Result<(), wasmi::Error> {
    store.as_context_mut().set_fuel(fuel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_slices_grow_the_estimate_boundedly() {
        let mut rate = CallRate::new();
        rate.record(INITIAL_FUEL_PER_MS, Duration::from_micros(10));
        assert_eq!(rate.per_ms, MAX_GROWTH * INITIAL_FUEL_PER_MS);
        assert!(!rate.measured);
        rate.record(1_000_000, Duration::from_millis(5));
        assert_eq!(rate.per_ms, 200_000);
        assert!(rate.measured);
    }

    #[test]
    fn a_fast_slice_cannot_inflate_the_next_one_beyond_the_growth_limit() {
        let mut rate = CallRate::new();
        rate.record(100_000, Duration::from_millis(1));
        // A slice of fuel-heavy but cheap operations claims a thousandfold rate.
        rate.record(100_000_000, Duration::from_millis(1));
        assert!(rate.per_ms <= 100_000 * MAX_GROWTH, "{}", rate.per_ms);
    }

    #[test]
    fn a_slow_slice_shrinks_the_next_one_at_once() {
        let mut rate = CallRate::new();
        rate.record(1_000_000, Duration::from_millis(1));
        rate.record(1_000_000, Duration::from_millis(100));
        assert!(rate.per_ms <= 1_000_000 / 4, "{}", rate.per_ms);
        rate.record(1_000, Duration::from_millis(100));
        assert!(rate.per_ms <= 1_000, "{}", rate.per_ms);
    }

    #[test]
    fn slices_never_outrun_the_deadline_by_more_than_a_slice() {
        let rate = CallRate {
            per_ms: 1_000_000,
            measured: true,
        };
        let deadline = Deadline::after(Duration::from_micros(100));
        assert!(rate.next_slice(&deadline, 0) <= 100_000);
        assert_eq!(
            rate.next_slice(&deadline, 5_000_000),
            5_000_000,
            "required fuel wins"
        );
    }

    #[test]
    fn a_passed_deadline_has_no_time_left() {
        assert!(Deadline::passed().is_passed());
        assert!(!Deadline::after(Duration::from_secs(60)).is_passed());
    }

    #[test]
    fn a_cancelled_deadline_has_passed() {
        let cancel = CancelHandle::new();
        let deadline = Deadline::after(Duration::from_secs(60)).cancelled_by(Some(&cancel));
        assert!(!deadline.is_passed());
        cancel.cancel();
        assert!(deadline.is_passed() && deadline.is_cancelled());
        assert_eq!(deadline.remaining(), Duration::ZERO);
    }
}
