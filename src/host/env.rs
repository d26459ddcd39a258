//! The `env` host ABI (CONTRACT §4): `report_finding`, `log_message`, `get_file_path`,
//! `get_file_type`. Every pointer/length pair is bounds-checked by
//! [`guest_memory`](crate::sandbox::guest_memory); a bad one traps the calling plugin.

use wasmi::Caller;

use super::{HostState, memory};
use crate::limits::{MAX_DETAIL_BYTES, MAX_THREAT_NAME_BYTES};
use crate::sandbox::guest_memory;

super::imports::host_functions! {
    "env";
    report_finding,
    log_message,
    get_file_path,
    get_file_type,
    // AssemblyScript's default abort handler; a compatibility import.
    abort,
}

fn report_finding(
    mut caller: Caller<'_, HostState>,
    name_ptr: i32,
    name_len: i32,
    score: i32,
    detail_ptr: i32,
    detail_len: i32,
) -> Result<(), wasmi::Error> {
    caller.data().check_deadline()?;
    let (mem, state) = memory(&caller)?.data_and_store_mut(&mut caller);
    let (threat, name_cut) = guest_memory::read_str(
        mem,
        name_ptr,
        name_len,
        MAX_THREAT_NAME_BYTES,
        "report_finding threat name",
    )?;
    let (detail, detail_cut) = guest_memory::read_str(
        mem,
        detail_ptr,
        detail_len,
        MAX_DETAIL_BYTES,
        "report_finding detail",
    )?;
    state.dropped.threat_name_bytes = state.dropped.threat_name_bytes.saturating_add(name_cut);
    state.dropped.detail_bytes = state.dropped.detail_bytes.saturating_add(detail_cut);
    state.record_finding(threat, score, detail);
    Ok(())
}

fn log_message(
    mut caller: Caller<'_, HostState>,
    level: i32,
    msg_ptr: i32,
    msg_len: i32,
) -> Result<(), wasmi::Error> {
    caller.data().check_deadline()?;
    let (mem, state) = memory(&caller)?.data_and_store_mut(&mut caller);
    let range = guest_memory::range(mem.len(), msg_ptr, msg_len, "log_message message")?;
    state.log(log_level(level), &mem[range]);
    Ok(())
}

/// AssemblyScript's default `abort(message, file, line, column)`: ends the call, with the
/// decoded strings and the location in the failure.
fn abort(
    mut caller: Caller<'_, HostState>,
    msg_ptr: i32,
    file_ptr: i32,
    line: i32,
    column: i32,
) -> Result<(), wasmi::Error> {
    caller.data().check_deadline()?;
    let (mem, _) = memory(&caller)?.data_and_store_mut(&mut caller);
    let message = assemblyscript_string(mem, msg_ptr, "abort message")?;
    let file = assemblyscript_string(mem, file_ptr, "abort file name")?;
    Err(wasmi::Error::new(format!(
        "abort: {message} (at {file}:{line}:{column})"
    )))
}

/// Longest AssemblyScript string decoded for a message, in UTF-16 code units.
const MAX_ABORT_STRING_UNITS: usize = 1024;

/// An AssemblyScript string: UTF-16LE at `ptr`, its byte length in the u32 before it.
fn assemblyscript_string(mem: &[u8], ptr: i32, what: &str) -> Result<String, wasmi::Error> {
    if ptr == 0 {
        return Ok("(no message)".into());
    }
    let header = guest_memory::range(mem.len(), (ptr as u32).wrapping_sub(4) as i32, 4, what)?;
    let len = u32::from_le_bytes(mem[header].try_into().expect("4 bytes"));
    let bytes = &mem[guest_memory::range(mem.len(), ptr, len as i32, what)?];
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .take(MAX_ABORT_STRING_UNITS)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

/// 0 trace, 1 debug, 2 info, 3 warn, 4 error; values outside the range clamp to the nearest.
fn log_level(level: i32) -> log::Level {
    match level {
        i32::MIN..=0 => log::Level::Trace,
        1 => log::Level::Debug,
        2 => log::Level::Info,
        3 => log::Level::Warn,
        _ => log::Level::Error,
    }
}

fn get_file_path(
    caller: Caller<'_, HostState>,
    buf_ptr: i32,
    buf_len: i32,
) -> Result<i32, wasmi::Error> {
    copy_out(caller, buf_ptr, buf_len, "get_file_path buffer", |state| {
        &state.file_path
    })
}

fn get_file_type(
    caller: Caller<'_, HostState>,
    buf_ptr: i32,
    buf_len: i32,
) -> Result<i32, wasmi::Error> {
    copy_out(caller, buf_ptr, buf_len, "get_file_type buffer", |state| {
        &state.file_type
    })
}

/// Copies a host string into a guest buffer, truncated, returning its full length.
fn copy_out(
    mut caller: Caller<'_, HostState>,
    buf_ptr: i32,
    buf_len: i32,
    what: &str,
    value: fn(&HostState) -> &str,
) -> Result<i32, wasmi::Error> {
    caller.data().check_deadline()?;
    let (mem, state) = memory(&caller)?.data_and_store_mut(&mut caller);
    guest_memory::write_truncated(mem, buf_ptr, buf_len, value(state).as_bytes(), what)
}
