//! A `wasi_snapshot_preview1` layer of plugbox's own (CONTRACT §6), deny by default.
//!
//! Every preview1 function is linkable, so modules built by ordinary toolchains load. What
//! detection plugins get: empty args and environment; stdout and stderr as log lines; stdin at
//! end of file (command plugins get the request, a captured stdout and the host's args and
//! environment instead: [`command_io`]);
//! working clocks, OS randomness and `sched_yield`; `poll_oneoff` sleeping at most until the
//! call's deadline; `proc_exit` ending the call with its code. Every filesystem call fails with
//! a WASI errno unless `permissions.filesystem` grants the read-only preopen of the plugin's
//! own directory ([`preopen::GUEST_ROOT`]), or the host gives a command plugin read-only
//! preopens of its own choosing ([`Preopen`]); there are never sockets. Guest pointers are
//! bounds-checked as in the `env` layer: a bad one traps the call.
//!
//! The calls live by concern: [`mem`] (guest memory access), [`stdio`], [`fd`] (descriptors),
//! [`path`], [`poll`] and [`proc`] (args, environment, clocks, randomness, process, sockets).
//! This file holds the state, the plumbing every call shares, and the one list of functions.

// Host functions take the arguments preview1 defines, however many that is.
#![allow(clippy::too_many_arguments)]

mod command_io;
mod errno;
mod fd;
mod fd_table;
mod mem;
mod path;
mod poll;
mod preopen;
mod proc;
mod rights;
mod stdio;

use std::sync::Arc;
use std::time::Instant;

use wasmi::Caller;

use super::{HostState, memory};
use errno::Errno;
use fd::Listing;
use fd_table::FdTable;
use mem::Mem;

pub(crate) use command_io::CommandIo;
pub(crate) use preopen::{GUEST_ROOT, Preopen};
pub(crate) use stdio::flush_stdio;

/// The WASI state of one instance.
#[derive(Debug)]
pub(crate) struct WasiState {
    fds: FdTable,
    /// Unfinished stdout and stderr lines.
    lines: [Vec<u8>; 2],
    epoch: Instant,
    /// The directory listing in progress, if any.
    listing: Option<Listing>,
    /// A command plugin's stdin, stdout, args and environment.
    pub(crate) command: Option<CommandIo>,
}

impl WasiState {
    /// Stdio, plus the read-only `preopens` at fd 3, 4, ... in order.
    pub(crate) fn new(preopens: Arc<[Preopen]>) -> Self {
        Self {
            fds: FdTable::new(preopens),
            lines: [Vec::new(), Vec::new()],
            epoch: Instant::now(),
            listing: None,
            command: None,
        }
    }
}

/// Whether `state` answers as [`WasiState::new`] made it would: the same descriptors (closed
/// slots past them aside: the next file opened gets the same number either way) and no
/// output line in progress. A directory listing left behind is only a cache: a new state
/// reads the directory again and, while it is unchanged, gives the same entries.
pub(crate) fn is_fresh(state: &WasiState) -> bool {
    state.fds.is_fresh() && state.lines.iter().all(Vec::is_empty) && state.command.is_none()
}

/// How a WASI call fails: an errno for the guest, or a trap of the whole call.
enum Fail {
    Errno(Errno),
    Trap(wasmi::Error),
}

impl From<Errno> for Fail {
    fn from(errno: Errno) -> Self {
        Fail::Errno(errno)
    }
}

impl From<wasmi::Error> for Fail {
    fn from(error: wasmi::Error) -> Self {
        Fail::Trap(error)
    }
}

type Outcome = Result<(), Fail>;

/// Runs `body` with guest memory and host state, turning its outcome into an errno.
fn with(
    caller: &mut Caller<'_, HostState>,
    body: impl FnOnce(&mut Mem<'_>, &mut HostState) -> Outcome,
) -> Result<i32, wasmi::Error> {
    caller.data().check_deadline()?;
    let started = Instant::now();
    let (bytes, state) = memory(caller)?.data_and_store_mut(caller);
    let outcome = body(&mut Mem(bytes), state);
    state.host_time += started.elapsed();
    match outcome {
        Ok(()) => Ok(i32::from(errno::SUCCESS)),
        Err(Fail::Errno(errno)) => Ok(i32::from(errno)),
        Err(Fail::Trap(error)) => Err(error),
    }
}

/// `errno` for a call that touches nothing, unless the deadline has passed: even the
/// cheapest host call ends a call that is out of time.
fn answer(caller: &Ctx<'_>, errno: Errno) -> Ret {
    caller.data().check_deadline()?;
    Ok(i32::from(errno))
}

/// Bytes a host loop handles between two deadline checks (filling random bytes, reading
/// files).
const CHUNK: usize = 1 << 20;

type Ctx<'a> = Caller<'a, HostState>;
type Ret = Result<i32, wasmi::Error>;

// Every preview1 function, once: this list makes both the linker's definitions and the
// import table ([`super::imports`]), in this order; each import is named after its function.
super::imports::host_functions! {
    "wasi_snapshot_preview1";
    proc::args_get,
    proc::args_sizes_get,
    proc::environ_get,
    proc::environ_sizes_get,
    proc::clock_res_get,
    proc::clock_time_get,
    fd::fd_advise,
    fd::fd_allocate,
    fd::fd_close,
    fd::fd_datasync,
    fd::fd_fdstat_get,
    fd::fd_fdstat_set_flags,
    fd::fd_fdstat_set_rights,
    fd::fd_filestat_get,
    fd::fd_filestat_set_size,
    fd::fd_filestat_set_times,
    fd::fd_pread,
    fd::fd_prestat_get,
    fd::fd_prestat_dir_name,
    fd::fd_pwrite,
    fd::fd_read,
    fd::fd_readdir,
    fd::fd_renumber,
    fd::fd_seek,
    fd::fd_sync,
    fd::fd_tell,
    stdio::fd_write,
    path::path_create_directory,
    path::path_filestat_get,
    path::path_filestat_set_times,
    path::path_link,
    path::path_open,
    path::path_readlink,
    path::path_remove_directory,
    path::path_rename,
    path::path_symlink,
    path::path_unlink_file,
    poll::poll_oneoff,
    proc::proc_exit,
    proc::proc_raise,
    proc::sched_yield,
    proc::random_get,
    proc::sock_accept,
    proc::sock_recv,
    proc::sock_send,
    proc::sock_shutdown,
}
