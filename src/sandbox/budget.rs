//! The time budget (CONTRACT §5): a wall-clock deadline built from wasmi fuel.
//!
//! wasmi can only stop guest code when it runs out of fuel, and fuel is an instruction count,
//! not a time. So a call runs in slices of about [`SLICE`] of fuel each; when a slice runs
//! out the call is suspended, the clock is read, and the call is either resumed with a new
//! slice or abandoned as a timeout. The slice size follows the fuel rate measured on this
//! machine, so the overshoot stays near one slice whatever the machine speed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmi::{AsContextMut, Store, TypedFunc, TypedResumableCall, WasmParams, WasmResults};

/// Target wall-clock length of one fuel slice: the resolution of every deadline.
pub const SLICE: Duration = Duration::from_millis(1);
/// Fuel per millisecond assumed before anything was measured: low on purpose, so the first
/// slice on a fast machine ends early and the rate is measured, rather than overshooting.
const INITIAL_FUEL_PER_MS: u64 = 20_000;
const MIN_SLICE_FUEL: u64 = 1_000;
const MAX_SLICE_FUEL: u64 = 1 << 40;
const MIN_MEASURABLE_SLICE: Duration = Duration::from_micros(200);

/// The fuel this machine burns per millisecond, learnt from every sliced call and shared by
/// all plugins of a runtime.
#[derive(Debug)]
pub struct FuelRate {
    per_ms: AtomicU64,
    measured: AtomicU64,
}

impl Default for FuelRate {
    fn default() -> Self {
        Self {
            per_ms: AtomicU64::new(INITIAL_FUEL_PER_MS),
            measured: AtomicU64::new(0),
        }
    }
}

impl FuelRate {
    /// An estimate starting at `per_ms`, as if measured (for tests of slicing).
    #[cfg(test)]
    fn fixed(per_ms: u64) -> Self {
        Self {
            per_ms: AtomicU64::new(per_ms),
            measured: AtomicU64::new(1),
        }
    }

    /// Current estimate of fuel burnt per millisecond.
    pub fn per_ms(&self) -> u64 {
        self.per_ms.load(Ordering::Relaxed)
    }

    /// Whether the estimate comes from a measurement on this machine.
    pub fn is_measured(&self) -> bool {
        self.measured.load(Ordering::Relaxed) > 0
    }

    fn record(&self, fuel: u64, elapsed: Duration) {
        let old = self.per_ms();
        // Slices shorter than this are dominated by timer and call overhead: they only say
        // the estimate is far too low, so grow it quickly until slices are measurable.
        if elapsed < MIN_MEASURABLE_SLICE {
            if !self.is_measured() {
                self.per_ms
                    .store(old.saturating_mul(4).min(MAX_SLICE_FUEL), Ordering::Relaxed);
            }
            return;
        }
        let sample = (fuel as u128 * 1_000_000 / elapsed.as_nanos().max(1)) as u64;
        // Move fast while learning, then smooth: one slow slice (the OS preempting us)
        // should not halve the next slice.
        let new = if self.is_measured() {
            (old * 3 + sample) / 4
        } else {
            sample
        };
        self.per_ms.store(new.max(1), Ordering::Relaxed);
        self.measured.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a sliced call cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CallCost {
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall-clock time, in microseconds.
    pub micros: u64,
}

impl CallCost {
    /// Adds another call's cost to this one.
    pub fn add(&mut self, other: CallCost) {
        self.fuel += other.fuel;
        self.micros += other.micros;
    }
}

/// Why a sliced call did not return a value.
#[derive(Debug)]
pub enum Interrupted {
    /// The deadline passed.
    Timeout,
    /// The guest trapped, or a host function returned an error.
    Trap(wasmi::Error),
}

/// A host error meaning the call's deadline passed while the host was waiting for the guest
/// (e.g. in `poll_oneoff`): the call ends as a timeout.
#[derive(Debug)]
pub struct BudgetExhausted;

impl std::fmt::Display for BudgetExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the time budget ran out while the host waited for the plugin")
    }
}

impl wasmi::errors::HostError for BudgetExhausted {}

/// A call's deadline: when it started and how long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    start: Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            start: Instant::now(),
            budget,
        }
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.budget.saturating_sub(self.start.elapsed())
    }

    /// The budget this deadline was made with.
    pub fn budget(&self) -> Duration {
        self.budget
    }
}

/// Calls `func` under `deadline`, in fuel slices sized from `rate`.
pub fn call<T, P, R>(
    store: &mut Store<T>,
    func: &TypedFunc<P, R>,
    params: P,
    deadline: Deadline,
    rate: &FuelRate,
) -> (Result<R, Interrupted>, CallCost)
where
    P: WasmParams,
    R: WasmResults,
{
    let started = Instant::now();
    let mut cost = CallCost::default();
    let mut slice = next_slice(rate, deadline, 0);
    let mut slice_start = Instant::now();
    let mut outcome =
        set_fuel(store, slice).and_then(|()| func.call_resumable(&mut *store, params));
    let result = loop {
        match outcome {
            Ok(TypedResumableCall::Finished(value)) => {
                cost.fuel += slice - store.get_fuel().unwrap_or(0);
                break Ok(value);
            }
            Ok(TypedResumableCall::OutOfFuel(suspended)) => {
                cost.fuel += slice;
                rate.record(slice, slice_start.elapsed());
                if deadline.remaining().is_zero() {
                    break Err(Interrupted::Timeout);
                }
                slice = next_slice(rate, deadline, suspended.required_fuel());
                slice_start = Instant::now();
                outcome = set_fuel(store, slice).and_then(|()| suspended.resume(&mut *store));
            }
            Ok(TypedResumableCall::HostTrap(suspended)) => {
                cost.fuel += slice - store.get_fuel().unwrap_or(0);
                // The typed handle only lends its error: keep what classification needs.
                let error = suspended.host_error();
                if error.downcast_ref::<BudgetExhausted>().is_some() {
                    break Err(Interrupted::Timeout);
                }
                let error = match error.i32_exit_status() {
                    Some(status) => wasmi::Error::i32_exit(status),
                    None => wasmi::Error::new(error.to_string()),
                };
                break Err(Interrupted::Trap(error));
            }
            Err(error) => {
                cost.fuel += slice - store.get_fuel().unwrap_or(0);
                break Err(Interrupted::Trap(error));
            }
        }
    };
    cost.micros = started.elapsed().as_micros() as u64;
    (result, cost)
}

/// Fuel for a piece of guest code that wasmi cannot suspend (a module's start function, run
/// inside instantiation): the whole budget converted at the measured rate.
pub fn unsliced_fuel(rate: &FuelRate, deadline: Deadline) -> u64 {
    let ms = deadline.remaining().as_secs_f64() * 1000.0;
    ((rate.per_ms() as f64 * ms) as u64).clamp(MIN_SLICE_FUEL, MAX_SLICE_FUEL)
}

fn next_slice(rate: &FuelRate, deadline: Deadline, required: u64) -> u64 {
    let per_ms = rate.per_ms();
    let slice = per_ms * SLICE.as_micros() as u64 / 1000;
    let until_deadline = (per_ms as u128 * deadline.remaining().as_micros() / 1000) as u64;
    slice
        .min(until_deadline)
        .clamp(MIN_SLICE_FUEL, MAX_SLICE_FUEL)
        .max(required)
}

fn set_fuel<T>(store: &mut Store<T>, fuel: u64) -> Result<(), wasmi::Error> {
    store.as_context_mut().set_fuel(fuel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_slices_grow_an_unmeasured_estimate() {
        let rate = FuelRate::default();
        rate.record(INITIAL_FUEL_PER_MS, Duration::from_micros(10));
        assert_eq!(rate.per_ms(), 4 * INITIAL_FUEL_PER_MS);
        assert!(!rate.is_measured());
        rate.record(1_000_000, Duration::from_millis(2));
        assert_eq!(rate.per_ms(), 500_000);
        assert!(rate.is_measured());
    }

    #[test]
    fn measured_estimate_is_smoothed() {
        let rate = FuelRate::fixed(1000);
        rate.record(2000, Duration::from_millis(1));
        assert_eq!(rate.per_ms(), 1250);
        rate.record(1, Duration::from_micros(1));
        assert_eq!(
            rate.per_ms(),
            1250,
            "noise-level slices do not move a measured rate"
        );
    }

    #[test]
    fn slices_never_outrun_the_deadline_by_more_than_a_slice() {
        let rate = FuelRate::fixed(1_000_000);
        let deadline = Deadline::after(Duration::from_micros(100));
        assert!(next_slice(&rate, deadline, 0) <= 100_000);
        assert_eq!(
            next_slice(&rate, deadline, 5_000_000),
            5_000_000,
            "required fuel wins"
        );
    }
}
