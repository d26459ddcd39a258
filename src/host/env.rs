//! The `env` host ABI (CONTRACT §4): `report_finding`, `log_message`, `get_file_path`,
//! `get_file_type`. Every pointer/length pair is bounds-checked by
//! [`guest_memory`](crate::sandbox::guest_memory); a bad one traps the calling plugin.

use wasmi::{Caller, Extern, Linker, Memory};

use super::HostState;
use crate::findings::{MAX_DETAIL_BYTES, MAX_THREAT_NAME_BYTES};
use crate::sandbox::guest_memory;

/// The `log` target plugin messages are written to; each message starts with `[plugin name]`.
pub const PLUGIN_LOG_TARGET: &str = "plugbox::guest";

use wasmi::ValType::I32;

use super::ImportSignature;

/// The imports defined here, with their signatures (a test checks them against the linker).
pub const IMPORTS: &[ImportSignature] = &[
    ImportSignature {
        module: "env",
        name: "report_finding",
        params: &[I32, I32, I32, I32, I32],
        results: &[],
    },
    ImportSignature {
        module: "env",
        name: "log_message",
        params: &[I32, I32, I32],
        results: &[],
    },
    ImportSignature {
        module: "env",
        name: "get_file_path",
        params: &[I32, I32],
        results: &[I32],
    },
    ImportSignature {
        module: "env",
        name: "get_file_type",
        params: &[I32, I32],
        results: &[I32],
    },
];

pub(super) fn define(linker: &mut Linker<HostState>) {
    const DUPLICATE: &str = "each env import is defined once";
    linker
        .func_wrap("env", "report_finding", report_finding)
        .expect(DUPLICATE);
    linker
        .func_wrap("env", "log_message", log_message)
        .expect(DUPLICATE);
    linker
        .func_wrap("env", "get_file_path", get_file_path)
        .expect(DUPLICATE);
    linker
        .func_wrap("env", "get_file_type", get_file_type)
        .expect(DUPLICATE);
}

/// The plugin's exported `memory` (its presence and type are checked at load).
fn memory(caller: &Caller<'_, HostState>) -> Result<Memory, wasmi::Error> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("the plugin exports no memory named `memory`"))
}

fn report_finding(
    mut caller: Caller<'_, HostState>,
    name_ptr: i32,
    name_len: i32,
    score: i32,
    detail_ptr: i32,
    detail_len: i32,
) -> Result<(), wasmi::Error> {
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
    state.dropped.threat_name_bytes += name_cut;
    state.dropped.detail_bytes += detail_cut;
    state.record_finding(threat, score, detail);
    Ok(())
}

fn log_message(
    mut caller: Caller<'_, HostState>,
    level: i32,
    msg_ptr: i32,
    msg_len: i32,
) -> Result<(), wasmi::Error> {
    let (mem, state) = memory(&caller)?.data_and_store_mut(&mut caller);
    let full = guest_memory::range(mem.len(), msg_ptr, msg_len, "log_message message")?.len();
    let keep = state.log_allowance(full);
    let (text, cut) = guest_memory::read_str(mem, msg_ptr, msg_len, keep, "log_message message")?;
    state.note_log(keep, cut);
    if keep > 0 || full == 0 {
        let level = log_level(level);
        log::log!(target: PLUGIN_LOG_TARGET, level, "[{}] {}", state.plugin, text);
    }
    Ok(())
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
    let (mem, state) = memory(&caller)?.data_and_store_mut(&mut caller);
    guest_memory::write_truncated(mem, buf_ptr, buf_len, value(state).as_bytes(), what)
}
