//! A `wasi_snapshot_preview1` layer of plugbox's own (CONTRACT §6), deny by default.
//!
//! Every preview1 function is linkable, so modules built by ordinary toolchains load. What they
//! get: empty args and environment; stdout and stderr as log lines; stdin at end of file;
//! working clocks, OS randomness and `sched_yield`; `poll_oneoff` sleeping at most until the
//! call's deadline; `proc_exit` ending the call with its code. Every filesystem call fails with
//! a WASI errno unless `permissions.filesystem` grants the read-only preopen of the plugin's
//! own directory ([`preopen::GUEST_ROOT`]); there are never sockets. Guest pointers are
//! bounds-checked as in the `env` layer: a bad one traps the call.

// Host functions take the arguments preview1 defines, however many that is.
#![allow(clippy::too_many_arguments)]

mod errno;
mod fd_table;
mod preopen;
mod rights;

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmi::ValType::{I32, I64};
use wasmi::{Caller, Linker};

use super::{HostState, ImportSignature, memory};
use crate::findings::MAX_LOG_MESSAGE_BYTES;
use crate::sandbox::guest_memory;
use errno::Errno;
use fd_table::{Entry, FdTable};

pub use fd_table::{MAX_OPEN_FDS, PREOPEN_FD};
pub use preopen::GUEST_ROOT;

/// The import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The WASI state of one instance.
#[derive(Debug)]
pub struct WasiState {
    fds: FdTable,
    /// Unfinished stdout and stderr lines.
    lines: [Vec<u8>; 2],
    epoch: Instant,
}

impl WasiState {
    /// Stdio, plus the read-only preopen of `preopen` (a canonical directory) when given.
    pub fn new(preopen: Option<PathBuf>) -> Self {
        Self {
            fds: FdTable::new(preopen),
            lines: [Vec::new(), Vec::new()],
            epoch: Instant::now(),
        }
    }
}

/// Logs what is left of unfinished stdout/stderr lines (at the end of each call).
pub(crate) fn flush_stdio(state: &mut HostState) {
    for stream in [Stream::Stdout, Stream::Stderr] {
        let line = std::mem::take(&mut state.wasi.lines[stream as usize]);
        if !line.is_empty() {
            state.log(stream.level(), &line);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    fn level(self) -> log::Level {
        match self {
            Stream::Stdout => log::Level::Info,
            Stream::Stderr => log::Level::Warn,
        }
    }
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
    let (bytes, state) = memory(caller)?.data_and_store_mut(caller);
    match body(&mut Mem(bytes), state) {
        Ok(()) => Ok(i32::from(errno::SUCCESS)),
        Err(Fail::Errno(errno)) => Ok(i32::from(errno)),
        Err(Fail::Trap(error)) => Err(error),
    }
}

/// Guest memory with bounds-checked typed access; `what` names the argument in traps.
struct Mem<'a>(&'a mut [u8]);

impl Mem<'_> {
    fn bytes(&self, ptr: i32, len: i32, what: &str) -> Result<&[u8], wasmi::Error> {
        let range = guest_memory::range(self.0.len(), ptr, len, what)?;
        Ok(&self.0[range])
    }

    fn bytes_mut(&mut self, ptr: i32, len: usize, what: &str) -> Result<&mut [u8], wasmi::Error> {
        let len = i32::try_from(len).unwrap_or(-1);
        let range = guest_memory::range(self.0.len(), ptr, len, what)?;
        Ok(&mut self.0[range])
    }

    fn u32_at(&self, ptr: i32, what: &str) -> Result<u32, wasmi::Error> {
        let b = self.bytes(ptr, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64_at(&self, ptr: i32, what: &str) -> Result<u64, wasmi::Error> {
        let mut b = [0; 8];
        b.copy_from_slice(self.bytes(ptr, 8, what)?);
        Ok(u64::from_le_bytes(b))
    }

    fn put(&mut self, ptr: i32, value: &[u8], what: &str) -> Result<(), wasmi::Error> {
        self.bytes_mut(ptr, value.len(), what)?
            .copy_from_slice(value);
        Ok(())
    }

    fn put_u32(&mut self, ptr: i32, value: u32, what: &str) -> Result<(), wasmi::Error> {
        self.put(ptr, &value.to_le_bytes(), what)
    }

    fn put_u64(&mut self, ptr: i32, value: u64, what: &str) -> Result<(), wasmi::Error> {
        self.put(ptr, &value.to_le_bytes(), what)
    }

    /// The `(buf, len)` pairs of an iovec array, each checked against memory.
    fn iovecs(&self, ptr: i32, count: i32, what: &str) -> Result<Vec<(i32, i32)>, wasmi::Error> {
        let array = self.bytes(
            ptr,
            count.saturating_mul(8).max(if count < 0 { -1 } else { 0 }),
            what,
        )?;
        let pairs: Vec<(i32, i32)> = array
            .chunks_exact(8)
            .map(|c| {
                (
                    i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    i32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        for &(buf, len) in &pairs {
            guest_memory::range(self.0.len(), buf, len, what)?;
        }
        Ok(pairs)
    }
}

const fn sig(
    name: &'static str,
    params: &'static [wasmi::ValType],
    results: &'static [wasmi::ValType],
) -> ImportSignature {
    ImportSignature {
        module: MODULE,
        name,
        params,
        results,
    }
}

/// Every preview1 function, with its signature (a test checks them against the linker).
pub const IMPORTS: &[ImportSignature] = &[
    sig("args_get", &[I32, I32], &[I32]),
    sig("args_sizes_get", &[I32, I32], &[I32]),
    sig("environ_get", &[I32, I32], &[I32]),
    sig("environ_sizes_get", &[I32, I32], &[I32]),
    sig("clock_res_get", &[I32, I32], &[I32]),
    sig("clock_time_get", &[I32, I64, I32], &[I32]),
    sig("fd_advise", &[I32, I64, I64, I32], &[I32]),
    sig("fd_allocate", &[I32, I64, I64], &[I32]),
    sig("fd_close", &[I32], &[I32]),
    sig("fd_datasync", &[I32], &[I32]),
    sig("fd_fdstat_get", &[I32, I32], &[I32]),
    sig("fd_fdstat_set_flags", &[I32, I32], &[I32]),
    sig("fd_fdstat_set_rights", &[I32, I64, I64], &[I32]),
    sig("fd_filestat_get", &[I32, I32], &[I32]),
    sig("fd_filestat_set_size", &[I32, I64], &[I32]),
    sig("fd_filestat_set_times", &[I32, I64, I64, I32], &[I32]),
    sig("fd_pread", &[I32, I32, I32, I64, I32], &[I32]),
    sig("fd_prestat_get", &[I32, I32], &[I32]),
    sig("fd_prestat_dir_name", &[I32, I32, I32], &[I32]),
    sig("fd_pwrite", &[I32, I32, I32, I64, I32], &[I32]),
    sig("fd_read", &[I32, I32, I32, I32], &[I32]),
    sig("fd_readdir", &[I32, I32, I32, I64, I32], &[I32]),
    sig("fd_renumber", &[I32, I32], &[I32]),
    sig("fd_seek", &[I32, I64, I32, I32], &[I32]),
    sig("fd_sync", &[I32], &[I32]),
    sig("fd_tell", &[I32, I32], &[I32]),
    sig("fd_write", &[I32, I32, I32, I32], &[I32]),
    sig("path_create_directory", &[I32, I32, I32], &[I32]),
    sig("path_filestat_get", &[I32, I32, I32, I32, I32], &[I32]),
    sig(
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
        &[I32],
    ),
    sig("path_link", &[I32, I32, I32, I32, I32, I32, I32], &[I32]),
    sig(
        "path_open",
        &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
        &[I32],
    ),
    sig("path_readlink", &[I32, I32, I32, I32, I32, I32], &[I32]),
    sig("path_remove_directory", &[I32, I32, I32], &[I32]),
    sig("path_rename", &[I32, I32, I32, I32, I32, I32], &[I32]),
    sig("path_symlink", &[I32, I32, I32, I32, I32], &[I32]),
    sig("path_unlink_file", &[I32, I32, I32], &[I32]),
    sig("poll_oneoff", &[I32, I32, I32, I32], &[I32]),
    sig("proc_exit", &[I32], &[]),
    sig("proc_raise", &[I32], &[I32]),
    sig("sched_yield", &[], &[I32]),
    sig("random_get", &[I32, I32], &[I32]),
    sig("sock_accept", &[I32, I32, I32], &[I32]),
    sig("sock_recv", &[I32, I32, I32, I32, I32, I32], &[I32]),
    sig("sock_send", &[I32, I32, I32, I32, I32], &[I32]),
    sig("sock_shutdown", &[I32, I32], &[I32]),
];

type Ctx<'a> = Caller<'a, HostState>;
type Ret = Result<i32, wasmi::Error>;

pub(super) fn define(linker: &mut Linker<HostState>) {
    macro_rules! link {
        ($($name:ident),* $(,)?) => {
            $(linker.func_wrap(MODULE, stringify!($name), $name).expect("each WASI import is defined once");)*
        };
    }
    link!(
        args_get,
        args_sizes_get,
        environ_get,
        environ_sizes_get,
        clock_res_get,
        clock_time_get,
        fd_advise,
        fd_allocate,
        fd_close,
        fd_datasync,
        fd_fdstat_get,
        fd_fdstat_set_flags,
        fd_fdstat_set_rights,
        fd_filestat_get,
        fd_filestat_set_size,
        fd_filestat_set_times,
        fd_pread,
        fd_prestat_get,
        fd_prestat_dir_name,
        fd_pwrite,
        fd_read,
        fd_readdir,
        fd_renumber,
        fd_seek,
        fd_sync,
        fd_tell,
        fd_write,
        path_create_directory,
        path_filestat_get,
        path_filestat_set_times,
        path_link,
        path_open,
        path_readlink,
        path_remove_directory,
        path_rename,
        path_symlink,
        path_unlink_file,
        poll_oneoff,
        proc_exit,
        proc_raise,
        sched_yield,
        random_get,
        sock_accept,
        sock_recv,
        sock_send,
        sock_shutdown,
    );
}

// ---- args, environment, clocks, randomness, process ----

/// Args and environment are empty: two zero counts.
fn empty_sizes(mut caller: Ctx<'_>, count: i32, size: i32, what: &'static str) -> Ret {
    with(&mut caller, |mem, _| {
        mem.put_u32(count, 0, what)?;
        mem.put_u32(size, 0, what)?;
        Ok(())
    })
}

fn args_sizes_get(caller: Ctx<'_>, argc: i32, size: i32) -> Ret {
    empty_sizes(caller, argc, size, "args_sizes_get")
}

fn environ_sizes_get(caller: Ctx<'_>, count: i32, size: i32) -> Ret {
    empty_sizes(caller, count, size, "environ_sizes_get")
}

fn args_get(_: Ctx<'_>, _argv: i32, _buf: i32) -> Ret {
    Ok(i32::from(errno::SUCCESS))
}

fn environ_get(_: Ctx<'_>, _environ: i32, _buf: i32) -> Ret {
    Ok(i32::from(errno::SUCCESS))
}

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME: i32 = 2;
const CLOCK_THREAD_CPUTIME: i32 = 3;

fn clock_res_get(mut caller: Ctx<'_>, id: i32, res: i32) -> Ret {
    with(&mut caller, |mem, _| {
        if !(CLOCK_REALTIME..=CLOCK_THREAD_CPUTIME).contains(&id) {
            return Err(errno::INVAL.into());
        }
        Ok(mem.put_u64(res, 1, "clock_res_get resolution")?)
    })
}

fn clock_time_get(mut caller: Ctx<'_>, id: i32, _precision: i64, time: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let now = match id {
            CLOCK_REALTIME => realtime_ns(),
            // The other clocks count from the instance's creation: monotonic, and they say
            // nothing about the host's uptime or other plugins.
            CLOCK_MONOTONIC | CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME => {
                state.wasi.epoch.elapsed().as_nanos() as u64
            }
            _ => return Err(errno::INVAL.into()),
        };
        Ok(mem.put_u64(time, now, "clock_time_get time")?)
    })
}

fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn random_get(mut caller: Ctx<'_>, buf: i32, len: i32) -> Ret {
    with(&mut caller, |mem, _| {
        let target = mem.bytes_mut(buf, len as u32 as usize, "random_get buffer")?;
        fill_random(target).map_err(|e| errno::from_io(&e))?;
        Ok(())
    })
}

#[cfg(unix)]
fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    File::open("/dev/urandom")?.read_exact(buf)
}

/// Without /dev/urandom: std's hasher keys come from the OS RNG; hash a counter with them.
#[cfg(not(unix))]
fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    use std::hash::{BuildHasher, RandomState};
    let keys = RandomState::new();
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let word = keys.hash_one(i).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    Ok(())
}

fn proc_exit(_: Ctx<'_>, code: i32) -> Result<(), wasmi::Error> {
    Err(wasmi::Error::i32_exit(code))
}

fn proc_raise(_: Ctx<'_>, _signal: i32) -> Ret {
    Ok(i32::from(errno::NOSYS))
}

fn sched_yield(_: Ctx<'_>) -> Ret {
    Ok(i32::from(errno::SUCCESS))
}

// ---- poll_oneoff ----

const SUBSCRIPTION_SIZE: i32 = 48;
const EVENT_SIZE: i32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAG_ABSTIME: u16 = 1;
const EVENTRWFLAG_HANGUP: u16 = 1;

struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    hangup: bool,
}

fn poll_oneoff(mut caller: Ctx<'_>, subs: i32, events: i32, count: i32, nevents: i32) -> Ret {
    with(&mut caller, |mem, state| {
        if count <= 0 {
            return Err(errno::INVAL.into());
        }
        let in_bytes = count.checked_mul(SUBSCRIPTION_SIZE).unwrap_or(-1);
        let out_bytes = count.checked_mul(EVENT_SIZE).unwrap_or(-1);
        mem.bytes(subs, in_bytes, "poll_oneoff subscriptions")?;
        mem.bytes(events, out_bytes, "poll_oneoff events")?;
        let mut ready = Vec::new();
        let mut clocks = Vec::new();
        for i in 0..count {
            let at = subs + i * SUBSCRIPTION_SIZE;
            let userdata = mem.u64_at(at, "poll_oneoff subscription")?;
            let kind = mem.bytes(at + 8, 1, "poll_oneoff subscription")?[0];
            match kind {
                EVENTTYPE_CLOCK => {
                    let id = mem.u32_at(at + 16, "poll_oneoff subscription")? as i32;
                    let timeout = mem.u64_at(at + 24, "poll_oneoff subscription")?;
                    let flags = u16::from_le_bytes(
                        mem.bytes(at + 40, 2, "poll_oneoff subscription")?
                            .try_into()
                            .expect("2 bytes"),
                    );
                    let wait = clock_wait(state, id, timeout, flags & SUBCLOCKFLAG_ABSTIME != 0);
                    match wait {
                        Ok(wait) => clocks.push((userdata, wait)),
                        Err(error) => ready.push(Event {
                            userdata,
                            error,
                            kind,
                            hangup: false,
                        }),
                    }
                }
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                    let fd = mem.u32_at(at + 16, "poll_oneoff subscription")? as i32;
                    // Nothing here ever blocks: stdin is at end of file, stdout/stderr and
                    // files are always ready.
                    let (error, hangup) = match state.wasi.fds.get(fd) {
                        Ok(Entry::Stdin) => (errno::SUCCESS, true),
                        Ok(_) => (errno::SUCCESS, false),
                        Err(errno) => (errno, false),
                    };
                    ready.push(Event {
                        userdata,
                        error,
                        kind,
                        hangup,
                    });
                }
                _ => return Err(errno::INVAL.into()),
            }
        }
        if ready.is_empty() {
            let shortest = clocks
                .iter()
                .map(|&(_, wait)| wait)
                .min()
                .unwrap_or_default();
            let remaining = state.deadline.map_or(shortest, |d| d.remaining());
            if shortest > remaining {
                std::thread::sleep(remaining);
                return Err(wasmi::Error::host(crate::sandbox::budget::BudgetExhausted).into());
            }
            std::thread::sleep(shortest);
            ready.extend(clocks.iter().filter(|&&(_, wait)| wait <= shortest).map(
                |&(userdata, _)| Event {
                    userdata,
                    error: errno::SUCCESS,
                    kind: EVENTTYPE_CLOCK,
                    hangup: false,
                },
            ));
        }
        for (i, event) in ready.iter().enumerate() {
            let mut record = [0u8; EVENT_SIZE as usize];
            record[0..8].copy_from_slice(&event.userdata.to_le_bytes());
            record[8..10].copy_from_slice(&event.error.to_le_bytes());
            record[10] = event.kind;
            if event.hangup {
                record[24..26].copy_from_slice(&EVENTRWFLAG_HANGUP.to_le_bytes());
            }
            mem.put(
                events + i as i32 * EVENT_SIZE,
                &record,
                "poll_oneoff events",
            )?;
        }
        Ok(mem.put_u32(nevents, ready.len() as u32, "poll_oneoff nevents")?)
    })
}

/// How long a clock subscription waits from now.
fn clock_wait(state: &HostState, id: i32, timeout: u64, absolute: bool) -> Result<Duration, Errno> {
    if !absolute {
        return match id {
            CLOCK_REALTIME..=CLOCK_THREAD_CPUTIME => Ok(Duration::from_nanos(timeout)),
            _ => Err(errno::INVAL),
        };
    }
    let now = match id {
        CLOCK_REALTIME => realtime_ns(),
        CLOCK_MONOTONIC => state.wasi.epoch.elapsed().as_nanos() as u64,
        _ => return Err(errno::NOTSUP),
    };
    Ok(Duration::from_nanos(timeout.saturating_sub(now)))
}

// ---- descriptors ----

fn fd_close(mut caller: Ctx<'_>, fd: i32) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.remove(fd)?;
        Ok(())
    })
}

fn fd_renumber(mut caller: Ctx<'_>, from: i32, to: i32) -> Ret {
    with(&mut caller, |_, state| {
        Ok(state.wasi.fds.renumber(from, to)?)
    })
}

/// Calls that would change a descriptor or its file: refused on every open descriptor.
fn refuse_on_open(mut caller: Ctx<'_>, fd: i32, errno: Errno) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        Err(errno.into())
    })
}

fn fd_allocate(caller: Ctx<'_>, fd: i32, _offset: i64, _len: i64) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

fn fd_datasync(caller: Ctx<'_>, fd: i32) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

fn fd_sync(caller: Ctx<'_>, fd: i32) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

fn fd_filestat_set_size(caller: Ctx<'_>, fd: i32, _size: i64) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

fn fd_filestat_set_times(caller: Ctx<'_>, fd: i32, _atim: i64, _mtim: i64, _flags: i32) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

fn fd_fdstat_set_flags(mut caller: Ctx<'_>, fd: i32, flags: i32) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        if flags == 0 {
            Ok(())
        } else {
            Err(errno::NOTSUP.into())
        }
    })
}

fn fd_fdstat_set_rights(mut caller: Ctx<'_>, fd: i32, _base: i64, _inheriting: i64) -> Ret {
    // Rights can only shrink, and no right here grants more than read access anyway.
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        Ok(())
    })
}

fn fd_advise(mut caller: Ctx<'_>, fd: i32, _offset: i64, _len: i64, _advice: i32) -> Ret {
    with(&mut caller, |_, state| match state.wasi.fds.get(fd)? {
        Entry::File { .. } => Ok(()),
        Entry::Dir { .. } => Err(errno::ISDIR.into()),
        _ => Err(errno::SPIPE.into()),
    })
}

const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;
const FILETYPE_UNKNOWN: u8 = 0;

fn fd_fdstat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let (filetype, base, inheriting) = match state.wasi.fds.get(fd)? {
            Entry::Stdin => (FILETYPE_CHARACTER_DEVICE, rights::STDIN, 0),
            Entry::Stdout | Entry::Stderr => (FILETYPE_CHARACTER_DEVICE, rights::STDOUT, 0),
            Entry::Dir { .. } => (FILETYPE_DIRECTORY, rights::DIR, rights::DIR | rights::FILE),
            Entry::File { .. } => (FILETYPE_REGULAR_FILE, rights::FILE, 0),
        };
        let mut record = [0u8; 24];
        record[0] = filetype;
        record[8..16].copy_from_slice(&base.to_le_bytes());
        record[16..24].copy_from_slice(&inheriting.to_le_bytes());
        Ok(mem.put(stat, &record, "fd_fdstat_get stat")?)
    })
}

fn fd_filestat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let record = match state.wasi.fds.get(fd)? {
            Entry::Stdin | Entry::Stdout | Entry::Stderr => {
                filestat(FILETYPE_CHARACTER_DEVICE, None)
            }
            Entry::Dir { host } | Entry::File { host, .. } => {
                let meta = std::fs::metadata(host).map_err(|e| errno::from_io(&e))?;
                filestat(filetype_of(&meta), Some(&meta))
            }
        };
        Ok(mem.put(stat, &record, "fd_filestat_get stat")?)
    })
}

fn fd_prestat_get(mut caller: Ctx<'_>, fd: i32, prestat: i32) -> Ret {
    with(&mut caller, |mem, state| {
        preopen_of(&state.wasi.fds, fd)?;
        let mut record = [0u8; 8];
        record[4..8].copy_from_slice(&(GUEST_ROOT.len() as u32).to_le_bytes());
        Ok(mem.put(prestat, &record, "fd_prestat_get prestat")?)
    })
}

fn fd_prestat_dir_name(mut caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    with(&mut caller, |mem, state| {
        preopen_of(&state.wasi.fds, fd)?;
        let buf = mem.bytes_mut(path, len as u32 as usize, "fd_prestat_dir_name path")?;
        if buf.len() < GUEST_ROOT.len() {
            return Err(errno::NAMETOOLONG.into());
        }
        buf[..GUEST_ROOT.len()].copy_from_slice(GUEST_ROOT.as_bytes());
        Ok(())
    })
}

/// Only the preopen answers prestat calls; libc scans fds from 3 until `BADF`.
fn preopen_of(fds: &FdTable, fd: i32) -> Result<(), Errno> {
    match fds.get(fd)? {
        Entry::Dir { host } if fd == PREOPEN_FD as i32 && Some(host.as_path()) == fds.root() => {
            Ok(())
        }
        _ => Err(errno::BADF),
    }
}

fn fd_read(mut caller: Ctx<'_>, fd: i32, iovs: i32, count: i32, nread: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let iovecs = mem.iovecs(iovs, count, "fd_read iovecs")?;
        let total = match state.wasi.fds.get_mut(fd)? {
            Entry::Stdin => 0,
            Entry::File { file, .. } => read_into(mem, file, &iovecs)?,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            Entry::Stdout | Entry::Stderr => return Err(errno::BADF.into()),
        };
        Ok(mem.put_u32(nread, total, "fd_read nread")?)
    })
}

fn fd_pread(mut caller: Ctx<'_>, fd: i32, iovs: i32, count: i32, offset: i64, nread: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let iovecs = mem.iovecs(iovs, count, "fd_pread iovecs")?;
        let total = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => {
                let position = file.stream_position().map_err(|e| errno::from_io(&e))?;
                file.seek(SeekFrom::Start(offset as u64))
                    .map_err(|e| errno::from_io(&e))?;
                let read = read_into(mem, file, &iovecs);
                file.seek(SeekFrom::Start(position))
                    .map_err(|e| errno::from_io(&e))?;
                read?
            }
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            _ => return Err(errno::SPIPE.into()),
        };
        Ok(mem.put_u32(nread, total, "fd_pread nread")?)
    })
}

/// Reads from `file` into the iovecs in order, until one is not filled.
fn read_into(mem: &mut Mem<'_>, file: &mut File, iovecs: &[(i32, i32)]) -> Result<u32, Fail> {
    let mut total = 0u32;
    for &(buf, len) in iovecs {
        let target = mem.bytes_mut(buf, len as u32 as usize, "read buffer")?;
        let mut filled = 0;
        while filled < target.len() {
            match file.read(&mut target[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(errno::from_io(&e).into()),
            }
        }
        total = total.saturating_add(filled as u32);
        if filled < target.len() {
            break;
        }
    }
    Ok(total)
}

fn fd_write(mut caller: Ctx<'_>, fd: i32, iovs: i32, count: i32, nwritten: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let iovecs = mem.iovecs(iovs, count, "fd_write iovecs")?;
        let stream = match state.wasi.fds.get(fd)? {
            Entry::Stdout => Stream::Stdout,
            Entry::Stderr => Stream::Stderr,
            _ => return Err(errno::BADF.into()),
        };
        let mut total = 0u32;
        for (buf, len) in iovecs {
            let bytes = mem.bytes(buf, len, "fd_write buffer")?;
            write_lines(state, stream, bytes);
            total = total.saturating_add(bytes.len() as u32);
        }
        Ok(mem.put_u32(nwritten, total, "fd_write nwritten")?)
    })
}

/// Appends to the stream's line buffer, logging each finished line. A line longer than one
/// log message is cut; the cut bytes are counted.
fn write_lines(state: &mut HostState, stream: Stream, bytes: &[u8]) {
    for piece in bytes.split_inclusive(|&b| b == b'\n') {
        let (text, finished) = match piece.strip_suffix(b"\n") {
            Some(text) => (text, true),
            None => (piece, false),
        };
        let line = &mut state.wasi.lines[stream as usize];
        let take = text
            .len()
            .min(MAX_LOG_MESSAGE_BYTES - line.len().min(MAX_LOG_MESSAGE_BYTES));
        line.extend_from_slice(&text[..take]);
        state.dropped.log_bytes += (text.len() - take) as u64;
        if finished {
            let line = std::mem::take(&mut state.wasi.lines[stream as usize]);
            state.log(stream.level(), &line);
        }
    }
}

fn fd_pwrite(
    mut caller: Ctx<'_>,
    fd: i32,
    _iovs: i32,
    _count: i32,
    _offset: i64,
    _nwritten: i32,
) -> Ret {
    with(&mut caller, |_, state| match state.wasi.fds.get(fd)? {
        Entry::File { .. } | Entry::Dir { .. } => Err(errno::NOTCAPABLE.into()),
        _ => Err(errno::SPIPE.into()),
    })
}

fn fd_seek(mut caller: Ctx<'_>, fd: i32, offset: i64, whence: i32, new_offset: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let file = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => file,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            _ => return Err(errno::SPIPE.into()),
        };
        let target = match whence {
            0 if offset >= 0 => SeekFrom::Start(offset as u64),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(errno::INVAL.into()),
        };
        let position = file.seek(target).map_err(|e| errno::from_io(&e))?;
        Ok(mem.put_u64(new_offset, position, "fd_seek newoffset")?)
    })
}

fn fd_tell(mut caller: Ctx<'_>, fd: i32, offset: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let position = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => file.stream_position().map_err(|e| errno::from_io(&e))?,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            _ => return Err(errno::SPIPE.into()),
        };
        Ok(mem.put_u64(offset, position, "fd_tell offset")?)
    })
}

const DIRENT_HEADER: usize = 24;

fn fd_readdir(mut caller: Ctx<'_>, fd: i32, buf: i32, len: i32, cookie: i64, used: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let host = match state.wasi.fds.get(fd)? {
            Entry::Dir { host } => host.clone(),
            _ => return Err(errno::NOTDIR.into()),
        };
        let mut names: Vec<(String, u8)> = Vec::new();
        for entry in std::fs::read_dir(&host).map_err(|e| errno::from_io(&e))? {
            let entry = entry.map_err(|e| errno::from_io(&e))?;
            let filetype = entry.file_type().map_or(FILETYPE_UNKNOWN, |t| {
                if t.is_dir() {
                    FILETYPE_DIRECTORY
                } else if t.is_file() {
                    FILETYPE_REGULAR_FILE
                } else if t.is_symlink() {
                    FILETYPE_SYMBOLIC_LINK
                } else {
                    FILETYPE_UNKNOWN
                }
            });
            names.push((entry.file_name().to_string_lossy().into_owned(), filetype));
        }
        names.sort();
        let out = mem.bytes_mut(buf, len as u32 as usize, "fd_readdir buffer")?;
        let mut written = 0;
        for (index, (name, filetype)) in names.iter().enumerate().skip(cookie.max(0) as usize) {
            let mut record = Vec::with_capacity(DIRENT_HEADER + name.len());
            record.extend_from_slice(&(index as u64 + 1).to_le_bytes());
            record.extend_from_slice(&0u64.to_le_bytes());
            record.extend_from_slice(&(name.len() as u32).to_le_bytes());
            record.extend_from_slice(&[*filetype, 0, 0, 0]);
            record.extend_from_slice(name.as_bytes());
            // A record that does not fit is written in part: a full buffer tells libc to
            // call again with a larger one.
            let n = record.len().min(out.len() - written);
            out[written..written + n].copy_from_slice(&record[..n]);
            written += n;
            if written == out.len() {
                break;
            }
        }
        Ok(mem.put_u32(used, written as u32, "fd_readdir bufused")?)
    })
}

// ---- paths ----

const OFLAGS_CREAT: i32 = 1;
const OFLAGS_DIRECTORY: i32 = 2;
const OFLAGS_EXCL: i32 = 4;
const OFLAGS_TRUNC: i32 = 8;
/// append, dsync, rsync, sync: all imply writing.
const FDFLAGS_WRITING: i32 = 1 | 2 | 8 | 16;

/// Resolves a guest path relative to the directory descriptor `fd`.
fn resolve(
    mem: &Mem<'_>,
    fds: &FdTable,
    fd: i32,
    path: i32,
    len: i32,
    what: &str,
) -> Result<PathBuf, Fail> {
    let guest_path = mem.bytes(path, len, what)?;
    let base = match fds.get(fd)? {
        Entry::Dir { host } => host,
        _ => return Err(errno::NOTDIR.into()),
    };
    let root = fds.root().ok_or(errno::NOTCAPABLE)?;
    Ok(preopen::resolve(root, base, guest_path)?)
}

fn path_open(
    mut caller: Ctx<'_>,
    fd: i32,
    _dirflags: i32,
    path: i32,
    len: i32,
    oflags: i32,
    rights_base: i64,
    _rights_inheriting: i64,
    fdflags: i32,
    opened: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        // Write intent is refused before the path is looked at: a file to be created does not
        // exist yet, and the answer is the same wherever it would be.
        if oflags & (OFLAGS_CREAT | OFLAGS_EXCL | OFLAGS_TRUNC) != 0
            || fdflags & FDFLAGS_WRITING != 0
            || rights_base as u64 & rights::WRITING != 0
        {
            return write_refused(mem, &state.wasi.fds, fd, path, len, "path_open path");
        }
        let host = resolve(mem, &state.wasi.fds, fd, path, len, "path_open path")?;
        let meta = std::fs::metadata(&host).map_err(|e| errno::from_io(&e))?;
        let entry = if meta.is_dir() {
            Entry::Dir { host }
        } else if oflags & OFLAGS_DIRECTORY != 0 {
            return Err(errno::NOTDIR.into());
        } else {
            let file = File::open(&host).map_err(|e| errno::from_io(&e))?;
            Entry::File { file, host }
        };
        let new_fd = state.wasi.fds.insert(entry)?;
        Ok(mem.put_u32(opened, new_fd, "path_open fd")?)
    })
}

fn path_filestat_get(
    mut caller: Ctx<'_>,
    fd: i32,
    _flags: i32,
    path: i32,
    len: i32,
    stat: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        let host = resolve(
            mem,
            &state.wasi.fds,
            fd,
            path,
            len,
            "path_filestat_get path",
        )?;
        let meta = std::fs::metadata(&host).map_err(|e| errno::from_io(&e))?;
        Ok(mem.put(
            stat,
            &filestat(filetype_of(&meta), Some(&meta)),
            "path_filestat_get stat",
        )?)
    })
}

/// A path call that would write: `ROFS` in the preopen, `BADF`/`NOTDIR` elsewhere.
fn write_refused(
    mem: &Mem<'_>,
    fds: &FdTable,
    fd: i32,
    path: i32,
    len: i32,
    what: &str,
) -> Outcome {
    mem.bytes(path, len, what)?;
    match fds.get(fd)? {
        Entry::Dir { .. } => Err(errno::ROFS.into()),
        _ => Err(errno::NOTDIR.into()),
    }
}

fn refuse_write(mut caller: Ctx<'_>, fd: i32, path: i32, len: i32, what: &'static str) -> Ret {
    with(&mut caller, |mem, state| {
        write_refused(mem, &state.wasi.fds, fd, path, len, what)
    })
}

fn path_create_directory(caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_create_directory path")
}

fn path_remove_directory(caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_remove_directory path")
}

fn path_unlink_file(caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_unlink_file path")
}

fn path_filestat_set_times(
    caller: Ctx<'_>,
    fd: i32,
    _flags: i32,
    path: i32,
    len: i32,
    _atim: i64,
    _mtim: i64,
    _fst: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_filestat_set_times path")
}

fn path_link(
    caller: Ctx<'_>,
    _old_fd: i32,
    _flags: i32,
    _old: i32,
    _old_len: i32,
    fd: i32,
    path: i32,
    len: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_link new path")
}

fn path_rename(
    caller: Ctx<'_>,
    _old_fd: i32,
    _old: i32,
    _old_len: i32,
    fd: i32,
    path: i32,
    len: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_rename new path")
}

fn path_symlink(caller: Ctx<'_>, _old: i32, _old_len: i32, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_symlink new path")
}

fn path_readlink(
    mut caller: Ctx<'_>,
    fd: i32,
    path: i32,
    len: i32,
    _buf: i32,
    _buf_len: i32,
    _used: i32,
) -> Ret {
    // Link targets are host paths: not shown. Opening through a link works when it stays inside.
    with(&mut caller, |mem, state| {
        mem.bytes(path, len, "path_readlink path")?;
        match state.wasi.fds.get(fd)? {
            Entry::Dir { .. } => Err(errno::NOTSUP.into()),
            _ => Err(errno::NOTDIR.into()),
        }
    })
}

fn filetype_of(meta: &Metadata) -> u8 {
    if meta.is_dir() {
        FILETYPE_DIRECTORY
    } else if meta.is_file() {
        FILETYPE_REGULAR_FILE
    } else {
        FILETYPE_UNKNOWN
    }
}

/// A preview1 `filestat` record (64 bytes).
fn filestat(filetype: u8, meta: Option<&Metadata>) -> [u8; 64] {
    let ns = |t: std::io::Result<SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64)
    };
    let mut record = [0u8; 64];
    record[16] = filetype;
    record[24..32].copy_from_slice(&1u64.to_le_bytes());
    if let Some(meta) = meta {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            record[0..8].copy_from_slice(&meta.dev().to_le_bytes());
            record[8..16].copy_from_slice(&meta.ino().to_le_bytes());
            record[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
        }
        record[32..40].copy_from_slice(&meta.len().to_le_bytes());
        record[40..48].copy_from_slice(&ns(meta.accessed()).to_le_bytes());
        record[48..56].copy_from_slice(&ns(meta.modified()).to_le_bytes());
        record[56..64].copy_from_slice(&ns(meta.created()).to_le_bytes());
    }
    record
}

// ---- sockets: there are none ----

fn no_socket(mut caller: Ctx<'_>, fd: i32) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        Err(errno::NOTSOCK.into())
    })
}

fn sock_accept(caller: Ctx<'_>, fd: i32, _flags: i32, _new_fd: i32) -> Ret {
    no_socket(caller, fd)
}

fn sock_recv(
    caller: Ctx<'_>,
    fd: i32,
    _data: i32,
    _len: i32,
    _flags: i32,
    _datalen: i32,
    _oflags: i32,
) -> Ret {
    no_socket(caller, fd)
}

fn sock_send(caller: Ctx<'_>, fd: i32, _data: i32, _len: i32, _flags: i32, _datalen: i32) -> Ret {
    no_socket(caller, fd)
}

fn sock_shutdown(caller: Ctx<'_>, fd: i32, _how: i32) -> Ret {
    no_socket(caller, fd)
}
