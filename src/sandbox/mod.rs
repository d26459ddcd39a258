//! The sandbox (CONTRACT §5): one store per call sequence, holding the memory cap, running
//! every call into the guest under its time budget, and turning traps, timeouts and memory
//! refusals into [`Failure`]s.

pub(crate) mod budget;
pub(crate) mod guest_memory;
mod layout;
pub(crate) mod limiter;
pub(crate) mod load_limits;
pub(crate) mod preinit;
pub(crate) mod rewrite;
mod sections;

use std::time::{Duration, Instant};

use wasmi::errors::ErrorKind;
use wasmi::{Instance, Linker, Memory, Module, Store, TrapCode, Val, ValType};

use crate::cancel::CancelHandle;
use crate::findings::{CallCost, Failure, FailureKind, Stage};
use budget::{Deadline, Interrupted};
use limiter::{MemoryCap, Resource};

const PAGE: usize = 65536;

/// What the sandbox needs of the state a store carries. The host's state implements it: the
/// sandbox sets each call's deadline there (host functions stop working when it passes), and
/// reads back the time host functions took, which is not the guest's.
pub(crate) trait SandboxState: Sized + 'static {
    /// The memory cap of the store.
    fn memory_cap(&self) -> &MemoryCap;
    /// The memory cap, to install as the store's limiter.
    fn memory_cap_mut(&mut self) -> &mut MemoryCap;
    /// Starts a call: host functions may work until `deadline`.
    fn begin_call(&mut self, deadline: Deadline);
    /// Ends a call (e.g. flushes buffered output).
    fn end_call(&mut self);
    /// Time spent in host functions so far.
    fn host_time(&self) -> Duration;
}

/// What the host passes to an export: nothing, one or two `i32`s (every export the ABI
/// calls takes these).
pub(crate) trait Params {
    /// The values, and how many of them are used.
    fn into_vals(self) -> ([Val; 2], usize);
}

impl Params for () {
    fn into_vals(self) -> ([Val; 2], usize) {
        ([Val::I32(0), Val::I32(0)], 0)
    }
}

impl Params for i32 {
    fn into_vals(self) -> ([Val; 2], usize) {
        ([Val::I32(self), Val::I32(0)], 1)
    }
}

impl Params for (i32, i32) {
    fn into_vals(self) -> ([Val; 2], usize) {
        ([Val::I32(self.0), Val::I32(self.1)], 2)
    }
}

/// What an export the host calls returns: nothing or one `i32`.
pub(crate) trait Results {
    /// How many values.
    const COUNT: usize;
    /// The result, from values of the checked type.
    fn from_vals(vals: &[Val]) -> Self;
}

impl Results for () {
    const COUNT: usize = 0;
    fn from_vals(_: &[Val]) -> Self {}
}

impl Results for i32 {
    const COUNT: usize = 1;
    fn from_vals(vals: &[Val]) -> Self {
        vals[0].i32().expect("the export's type was checked")
    }
}

/// A store with at most one instance of a plugin module, and what its calls cost.
pub(crate) struct Sandbox<'r, S: SandboxState> {
    linker: &'r Linker<S>,
    store: Store<S>,
    instance: Option<(Instance, Memory)>,
    budget: Duration,
    cancel: Option<&'r CancelHandle>,
    cost: CallCost,
}

impl<'r, S: SandboxState> Sandbox<'r, S> {
    /// A fresh store for `state`, instantiating through `linker`; each call into the guest
    /// gets `budget`, and all end early once `cancel` is cancelled.
    pub(crate) fn new(
        linker: &'r Linker<S>,
        state: S,
        budget: Duration,
        cancel: Option<&'r CancelHandle>,
    ) -> Self {
        let mut store = Store::new(linker.engine(), state);
        store.limiter(|state| state.memory_cap_mut());
        Self {
            linker,
            store,
            instance: None,
            budget,
            cancel,
            cost: CallCost::default(),
        }
    }

    /// A fresh deadline of one budget.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.budget).cancelled_by(self.cancel)
    }

    /// Instantiates `module` and runs its start function, moved into the export
    /// `start_export` at load (see [`start`]), under one budget.
    pub(crate) fn instantiate(
        &mut self,
        module: &Module,
        start_export: Option<&str>,
    ) -> Result<(), Failure> {
        let deadline = self.deadline();
        // Instantiation runs no guest code: the start function was moved out at load. With
        // no fuel, any guest code that did run here would trap at once instead of running
        // without a deadline.
        self.begin_call(&deadline);
        self.set_fuel(0);
        let started = Instant::now();
        let result = self.linker.instantiate_and_start(&mut self.store, module);
        self.cost.add(CallCost {
            fuel: 0,
            micros: started.elapsed().as_micros() as u64,
        });
        let instance =
            result.map_err(|e| self.failure(Stage::Instantiate, Interrupted::Trap(e)))?;
        let memory = instance
            .get_memory(&self.store, "memory")
            .expect("the memory export was checked at load");
        self.instance = Some((instance, memory));
        self.store.data_mut().end_call();
        if let Some(start) = start_export {
            self.call::<(), ()>(start, (), Stage::Instantiate, &deadline)?;
        }
        Ok(())
    }

    /// Calls the export `name` under `deadline`. The export's presence and signature were
    /// checked at load.
    pub(crate) fn call<P: Params, R: Results>(
        &mut self,
        name: &str,
        params: P,
        stage: Stage,
        deadline: &Deadline,
    ) -> Result<R, Failure> {
        let (params, count) = params.into_vals();
        let mut results = [Val::I32(0)];
        let results = &mut results[..R::COUNT];
        self.call_dynamic(name, &params[..count], results, stage, deadline)?;
        Ok(R::from_vals(results))
    }

    /// [`Sandbox::call`] with the parameters and results as values: the one copy of the call
    /// path.
    fn call_dynamic(
        &mut self,
        name: &str,
        params: &[Val],
        results: &mut [Val],
        stage: Stage,
        deadline: &Deadline,
    ) -> Result<(), Failure> {
        let (instance, _) = self.instance.expect("calls follow instantiation");
        // Signatures were checked at load; a mismatch here is still the plugin's failure,
        // never a host panic.
        let abi = |reason: String| Failure::new(FailureKind::Abi, stage, reason);
        let func = instance
            .get_func(&self.store, name)
            .ok_or_else(|| abi(format!("export `{name}` is not a function")))?;
        let ty = func.ty(&self.store);
        let all_i32 = |types: &[ValType], count: usize| {
            types.len() == count && types.iter().all(|t| *t == ValType::I32)
        };
        if !all_i32(ty.params(), params.len()) || !all_i32(ty.results(), results.len()) {
            return Err(abi(format!("export `{name}` has type {ty:?}")));
        }
        self.begin_call(deadline);
        let (result, cost) = budget::call(&mut self.store, &func, params, results, deadline);
        self.store.data_mut().end_call();
        self.cost.add(cost);
        result.map_err(|interrupted| self.failure(stage, interrupted))
    }

    /// Finds room for `len` bytes in guest memory: from the guest's `alloc` when it has one
    /// (the returned range is checked), else by growing memory and using the old end.
    pub(crate) fn guest_buffer(
        &mut self,
        len: usize,
        use_alloc: bool,
        stage: Stage,
        deadline: &Deadline,
    ) -> Result<usize, Failure> {
        let (_, memory) = self.instance.expect("buffers follow instantiation");
        let abi = |reason: String| Failure::new(FailureKind::Abi, stage, reason);
        let guest_len = i32::try_from(len)
            .map_err(|_| abi(format!("{len} bytes do not fit a 32-bit guest length")))?;
        if use_alloc {
            let ptr = self.call::<i32, i32>("alloc", guest_len, stage, deadline)?;
            let size = memory.data_size(&self.store);
            if ptr == 0 && len > 0 {
                return Err(self
                    .memory_failure(stage)
                    .unwrap_or_else(|| abi(format!("alloc({len}) returned a null pointer"))));
            }
            return guest_memory::range(size, ptr, guest_len, "alloc result")
                .map(|range| range.start)
                .map_err(|_| {
                    abi(format!(
                        "alloc({len}) returned address {} but guest memory is {size} bytes",
                        ptr as u32
                    ))
                });
        }
        let old_size = memory.data_size(&self.store);
        let pages = len.div_ceil(PAGE) as u64;
        self.store.data_mut().memory_cap_mut().clear_refusal();
        match memory.grow(&mut self.store, pages) {
            Ok(_) => Ok(old_size),
            Err(error) => Err(self.memory_failure(stage).unwrap_or_else(|| {
                Failure::new(
                    FailureKind::MemoryLimit,
                    stage,
                    format!(
                        "cannot grow guest memory of {old_size} bytes by {pages} pages: {error}"
                    ),
                )
            })),
        }
    }

    /// Copies `data` into guest memory at `ptr` (a range from [`Sandbox::guest_buffer`]).
    pub(crate) fn write(&mut self, ptr: usize, data: &[u8]) {
        let (_, memory) = self.instance.expect("writes follow instantiation");
        memory.data_mut(&mut self.store)[ptr..ptr + data.len()].copy_from_slice(data);
    }

    /// Reads `len` bytes at `ptr` of guest memory, clipped to the memory's end.
    pub(crate) fn read(&self, ptr: usize, len: usize) -> &[u8] {
        let (_, memory) = self.instance.expect("reads follow instantiation");
        let data = memory.data(&self.store);
        &data[ptr.min(data.len())..ptr.saturating_add(len).min(data.len())]
    }

    /// The store's state.
    pub(crate) fn state(&self) -> &S {
        self.store.data()
    }

    /// The state and the summed cost of all calls.
    pub(crate) fn finish(self) -> (S, CallCost) {
        (self.store.into_data(), self.cost)
    }

    /// Per-call state: the deadline host functions may wait for, a clean refusal record.
    fn begin_call(&mut self, deadline: &Deadline) {
        let state = self.store.data_mut();
        state.begin_call(deadline.clone());
        state.memory_cap_mut().clear_refusal();
    }

    fn set_fuel(&mut self, fuel: u64) {
        self.store
            .set_fuel(fuel)
            .expect("the engine is configured to consume fuel");
    }

    /// A memory-limit failure if the limiter refused a growth during the last call.
    fn memory_failure(&self, stage: Stage) -> Option<Failure> {
        let refusal = self.store.data().memory_cap().last_refusal()?;
        let reason = match refusal.resource {
            Resource::MemoryBytes => format!(
                "needs {} bytes of linear memory; the plugin's cap is {} bytes (max_memory_mb)",
                refusal.desired, refusal.cap
            ),
            Resource::TableElements => format!(
                "needs {} table elements; the cap is {} elements",
                refusal.desired, refusal.cap
            ),
        };
        Some(Failure::new(FailureKind::MemoryLimit, stage, reason))
    }

    fn failure(&self, stage: Stage, interrupted: Interrupted) -> Failure {
        let timeout = || {
            Failure::new(
                FailureKind::Timeout,
                stage,
                format!(
                    "exceeded its time budget of {} ms (max_exec_ms)",
                    self.budget.as_millis()
                ),
            )
        };
        match interrupted {
            Interrupted::Cancelled => Failure::new(
                FailureKind::Cancelled,
                stage,
                "the scan was cancelled by the host",
            ),
            Interrupted::Timeout => timeout(),
            Interrupted::Trap(error) if error.as_trap_code() == Some(TrapCode::OutOfFuel) => {
                timeout()
            }
            Interrupted::Trap(error) if error.i32_exit_status().is_some() => {
                let code = error.i32_exit_status().expect("checked");
                Failure {
                    exit_code: Some(code),
                    ..Failure::new(
                        FailureKind::Exit,
                        stage,
                        format!("called proc_exit({code})"),
                    )
                }
            }
            // A trap right after the cap refused a growth (an allocator giving up) is the
            // memory cap at work, and is reported as such.
            Interrupted::Trap(error) => match self.memory_failure(stage) {
                Some(mut failure) => {
                    if !matches!(
                        error.kind(),
                        ErrorKind::Memory(_) | ErrorKind::Instantiation(_)
                    ) {
                        failure.reason = format!(
                            "{error}, after the cap refused a growth: {}",
                            failure.reason
                        );
                    }
                    failure
                }
                None => Failure::new(FailureKind::Trap, stage, error.to_string()),
            },
        }
    }
}
