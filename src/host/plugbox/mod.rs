//! The `plugbox` host helpers (CONTRACT §10): an opt-in import module through which a
//! detection plugin reads the scanned data from the host instead of from its own memory, and
//! searches it at native speed. Every rule of these functions is here; `abi/ABI.md` explains
//! them to plugin authors and `limits.rs` holds the numbers.
//!
//! - `file_size() -> i64`: the size of the data.
//! - `read(offset: i64, buf_ptr: i32, buf_len: i32) -> i32`: copies up to `buf_len` bytes
//!   from `offset` into guest memory; returns the count, 0 at or past the end.
//! - `find(needle_ptr: i32, needle_len: i32, from: i64) -> i64`: the offset of the first
//!   occurrence of the needle at or after `from`, or -1. An empty needle is found at `from`,
//!   clamped to the size.
//!
//! Checks, each a trap of the calling plugin naming the helper: a negative offset or length; a
//! guest range outside memory (the whole range, as in `env`); a needle longer than
//! [`MAX_FIND_NEEDLE_BYTES`]. Work is done in steps of [`HELPER_STEP_BYTES`] with the call's
//! deadline checked before each; nothing is allocated (the needle is read in place, the data
//! is shared with the host through [`HostState::input`](super::HostState)).

mod search;

use std::time::Instant;

use wasmi::Caller;

use super::{HostState, memory};
use crate::limits::{HELPER_STEP_BYTES, MAX_FIND_NEEDLE_BYTES};
use crate::sandbox::guest_memory;

super::imports::host_functions! {
    "plugbox";
    file_size,
    read,
    find,
}

fn file_size(caller: Caller<'_, HostState>) -> Result<i64, wasmi::Error> {
    caller.data().check_deadline()?;
    Ok(to_i64(caller.data().input().len()))
}

fn read(
    mut caller: Caller<'_, HostState>,
    offset: i64,
    buf_ptr: i32,
    buf_len: i32,
) -> Result<i32, wasmi::Error> {
    timed(&mut caller, |mem, state| {
        read_into(mem, state, offset, buf_ptr, buf_len)
    })
}

fn read_into(
    mem: &mut [u8],
    state: &HostState,
    offset: i64,
    buf_ptr: i32,
    buf_len: i32,
) -> Result<i32, wasmi::Error> {
    non_negative("plugbox.read", "buf_len", buf_len.into())?;
    let buf = guest_memory::range(mem.len(), buf_ptr, buf_len, "plugbox.read buffer")?;
    let data = state.input();
    let start = offset_in("plugbox.read", "offset", offset, data.len())?;
    let count = buf.len().min(data.len() - start);
    let source = &data[start..start + count];
    let target = &mut mem[buf.start..buf.start + count];
    for (to, from) in target
        .chunks_mut(HELPER_STEP_BYTES)
        .zip(source.chunks(HELPER_STEP_BYTES))
    {
        state.check_deadline()?;
        to.copy_from_slice(from);
    }
    // `count` is at most `buf_len`, an i32: the fallback never applies.
    Ok(i32::try_from(count).expect("at most buf_len"))
}

fn find(
    mut caller: Caller<'_, HostState>,
    needle_ptr: i32,
    needle_len: i32,
    from: i64,
) -> Result<i64, wasmi::Error> {
    timed(&mut caller, |mem, state| {
        find_in(mem, state, needle_ptr, needle_len, from)
    })
}

/// Runs `body` with guest memory and the host state once the deadline is checked; its time
/// counts as host time, which the fuel slicer does not count as the guest's.
fn timed<R>(
    caller: &mut Caller<'_, HostState>,
    body: impl FnOnce(&mut [u8], &HostState) -> Result<R, wasmi::Error>,
) -> Result<R, wasmi::Error> {
    caller.data().check_deadline()?;
    let started = Instant::now();
    let (mem, state) = memory(caller)?.data_and_store_mut(&mut *caller);
    let result = body(mem, state);
    state.host_time += started.elapsed();
    result
}

fn find_in(
    mem: &[u8],
    state: &HostState,
    needle_ptr: i32,
    needle_len: i32,
    from: i64,
) -> Result<i64, wasmi::Error> {
    non_negative("plugbox.find", "needle_len", needle_len.into())?;
    let needle = guest_memory::range(mem.len(), needle_ptr, needle_len, "plugbox.find needle")?;
    if needle.len() > MAX_FIND_NEEDLE_BYTES {
        return Err(wasmi::Error::new(format!(
            "plugbox.find: a needle of {} bytes is longer than the {MAX_FIND_NEEDLE_BYTES} bytes accepted",
            needle.len()
        )));
    }
    let data = state.input();
    let from = offset_in("plugbox.find", "from", from, data.len())?;
    let found = search::find(data, &mem[needle], from, HELPER_STEP_BYTES, || {
        state.check_deadline()
    })?;
    Ok(found.map_or(-1, to_i64))
}

/// Traps on a negative `value`: offsets and lengths of the helpers are signed, and a negative
/// one is a bug the plugin should hear about.
fn non_negative(helper: &str, what: &str, value: i64) -> Result<(), wasmi::Error> {
    if value < 0 {
        return Err(wasmi::Error::new(format!(
            "{helper}: {what} is negative ({value})"
        )));
    }
    Ok(())
}

/// A guest offset into the data, checked non-negative and clamped to its end.
fn offset_in(helper: &str, what: &str, offset: i64, len: usize) -> Result<usize, wasmi::Error> {
    non_negative(helper, what, offset)?;
    Ok(usize::try_from(offset).map_or(len, |offset| offset.min(len)))
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
