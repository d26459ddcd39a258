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
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmi::ValType::{I32, I64};
use wasmi::{Caller, Linker};

use super::{HostState, ImportSignature, memory};
use crate::files::Want;
use crate::findings::MAX_LOG_MESSAGE_BYTES;
use crate::sandbox::budget::{BudgetExhausted, Deadline};
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
    /// The directory listing in progress, if any.
    listing: Option<Listing>,
}

impl WasiState {
    /// Stdio, plus the read-only preopen of `preopen` (a canonical directory) when given.
    pub fn new(preopen: Option<PathBuf>) -> Self {
        Self {
            fds: FdTable::new(preopen),
            lines: [Vec::new(), Vec::new()],
            epoch: Instant::now(),
            listing: None,
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

/// `base + offset` as a guest address; a trap if it passes the end of the 32-bit space.
fn offset(base: i32, offset: u32, what: &str) -> Result<i32, wasmi::Error> {
    match (base as u32).checked_add(offset) {
        Some(address) => Ok(address as i32),
        None => Err(wasmi::Error::new(format!(
            "{what}: address {} + {offset} lies outside the 32-bit address space",
            base as u32
        ))),
    }
}

/// Most iovecs one read or write call may pass, as POSIX's `IOV_MAX` on Linux; more is
/// `INVAL`. Bounds the host work of one call together with the log and deadline checks.
pub const MAX_IOVECS: u32 = 1024;
/// Bytes a host loop handles between two deadline checks (filling random bytes, reading
/// files).
const CHUNK: usize = 1 << 20;

/// A bounds-checked iovec array in guest memory.
#[derive(Clone, Copy)]
struct Iovecs {
    base: i32,
    count: u32,
}

/// Guest memory with bounds-checked typed access; `what` names the argument in traps.
struct Mem<'a>(&'a mut [u8]);

impl Mem<'_> {
    fn bytes(&self, ptr: i32, len: i32, what: &str) -> Result<&[u8], wasmi::Error> {
        let range = guest_memory::range(self.0.len(), ptr, len, what)?;
        Ok(&self.0[range])
    }

    fn bytes_mut(&mut self, ptr: i32, len: usize, what: &str) -> Result<&mut [u8], wasmi::Error> {
        // Guest lengths are unsigned 32-bit values; `range` reads the i32 as one.
        let len = u32::try_from(len).map_err(|_| {
            wasmi::Error::new(format!(
                "{what}: {len} bytes exceed the 32-bit address space"
            ))
        })?;
        let range = guest_memory::range(self.0.len(), ptr, len as i32, what)?;
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

    /// The iovec array of `count` entries at `ptr`, checked against memory as a whole; each
    /// buffer is checked when it is used. More than [`MAX_IOVECS`] is `INVAL`.
    fn iovecs(&self, ptr: i32, count: i32, what: &str) -> Result<Iovecs, Fail> {
        let count = count as u32;
        if count > MAX_IOVECS {
            return Err(errno::INVAL.into());
        }
        self.bytes(ptr, (count * 8) as i32, what)?;
        Ok(Iovecs { base: ptr, count })
    }

    /// The `(buf, len)` pair of iovec `i` of an array checked by [`Mem::iovecs`].
    fn iovec(&self, iovecs: Iovecs, i: u32, what: &str) -> Result<(i32, i32), wasmi::Error> {
        let at = offset(iovecs.base, i * 8, what)?;
        let buf = self.u32_at(at, what)? as i32;
        let len = self.u32_at(offset(at, 4, what)?, what)? as i32;
        Ok((buf, len))
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

fn args_get(caller: Ctx<'_>, _argv: i32, _buf: i32) -> Ret {
    answer(&caller, errno::SUCCESS)
}

fn environ_get(caller: Ctx<'_>, _environ: i32, _buf: i32) -> Ret {
    answer(&caller, errno::SUCCESS)
}

/// `errno` for a call that touches nothing, unless the deadline has passed: even the
/// cheapest host call ends a call that is out of time.
fn answer(caller: &Ctx<'_>, errno: Errno) -> Ret {
    caller.data().check_deadline()?;
    Ok(i32::from(errno))
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
    with(&mut caller, |mem, state| {
        let target = mem.bytes_mut(buf, len as u32 as usize, "random_get buffer")?;
        for chunk in target.chunks_mut(CHUNK) {
            state.check_deadline()?;
            fill_random(chunk).map_err(|e| errno::from_io(&e))?;
        }
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

fn proc_raise(caller: Ctx<'_>, _signal: i32) -> Ret {
    answer(&caller, errno::NOSYS)
}

fn sched_yield(caller: Ctx<'_>) -> Ret {
    answer(&caller, errno::SUCCESS)
}

// ---- poll_oneoff ----

const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAG_ABSTIME: u16 = 1;
const EVENTRWFLAG_HANGUP: u16 = 1;
/// Most subscriptions one `poll_oneoff` call may pass; more is `INVAL`. Programs pass one or
/// two (a sleep, or a descriptor and a timeout); the bound keeps the host's two passes over
/// them short.
pub const MAX_POLL_SUBSCRIPTIONS: u32 = 4096;

/// One subscription record, read from guest memory.
struct Subscription {
    userdata: u64,
    kind: u8,
    /// Clock id, or the descriptor for fd events.
    id: i32,
    timeout: u64,
    flags: u16,
}

impl Subscription {
    fn read(mem: &Mem<'_>, subs: i32, i: u32) -> Result<Self, wasmi::Error> {
        const WHAT: &str = "poll_oneoff subscription";
        let at = offset(subs, i * SUBSCRIPTION_SIZE, WHAT)?;
        let field = |o: u32| offset(at, o, WHAT);
        let flags = mem.bytes(field(40)?, 2, WHAT)?;
        Ok(Self {
            userdata: mem.u64_at(at, WHAT)?,
            kind: mem.bytes(field(8)?, 1, WHAT)?[0],
            id: mem.u32_at(field(16)?, WHAT)? as i32,
            timeout: mem.u64_at(field(24)?, WHAT)?,
            flags: u16::from_le_bytes([flags[0], flags[1]]),
        })
    }
}

/// The clocks, read once per `poll_oneoff` call so that both passes agree.
#[derive(Clone, Copy)]
struct Now {
    realtime: u64,
    monotonic: u64,
}

/// Events are written straight into guest memory as subscriptions are read: the host builds
/// no buffer whose size the guest chooses.
fn poll_oneoff(mut caller: Ctx<'_>, subs: i32, events: i32, count: i32, nevents: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let count = count as u32;
        if count == 0 || count > MAX_POLL_SUBSCRIPTIONS {
            return Err(errno::INVAL.into());
        }
        mem.bytes(
            subs,
            (count * SUBSCRIPTION_SIZE) as i32,
            "poll_oneoff subscriptions",
        )?;
        mem.bytes(events, (count * EVENT_SIZE) as i32, "poll_oneoff events")?;
        let now = Now {
            realtime: realtime_ns(),
            monotonic: state.wasi.epoch.elapsed().as_nanos() as u64,
        };
        let mut written = 0;
        let mut shortest: Option<Duration> = None;
        for i in 0..count {
            let sub = Subscription::read(mem, subs, i)?;
            let (error, hangup) = match sub.kind {
                EVENTTYPE_CLOCK => match clock_wait(now, &sub) {
                    Ok(wait) => {
                        shortest = Some(shortest.map_or(wait, |s| s.min(wait)));
                        continue;
                    }
                    Err(error) => (error, false),
                },
                // Nothing here ever blocks: stdin is at end of file, stdout/stderr and files
                // are always ready.
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => match state.wasi.fds.get(sub.id) {
                    Ok(Entry::Stdin) => (errno::SUCCESS, true),
                    Ok(_) => (errno::SUCCESS, false),
                    Err(errno) => (errno, false),
                },
                _ => return Err(errno::INVAL.into()),
            };
            put_event(mem, events, written, &sub, error, hangup)?;
            written += 1;
        }
        if written == 0 {
            // Only clocks: sleep until the first fires, but never past the call's deadline.
            let shortest = shortest.unwrap_or_default();
            let remaining = state.deadline.remaining();
            if shortest > remaining {
                std::thread::sleep(remaining);
                return Err(wasmi::Error::host(BudgetExhausted).into());
            }
            std::thread::sleep(shortest);
            for i in 0..count {
                let sub = Subscription::read(mem, subs, i)?;
                if sub.kind == EVENTTYPE_CLOCK && clock_wait(now, &sub).is_ok_and(|w| w <= shortest)
                {
                    put_event(mem, events, written, &sub, errno::SUCCESS, false)?;
                    written += 1;
                }
            }
        }
        Ok(mem.put_u32(nevents, written, "poll_oneoff nevents")?)
    })
}

fn put_event(
    mem: &mut Mem<'_>,
    events: i32,
    index: u32,
    sub: &Subscription,
    error: Errno,
    hangup: bool,
) -> Result<(), wasmi::Error> {
    let mut record = [0u8; EVENT_SIZE as usize];
    record[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
    record[8..10].copy_from_slice(&error.to_le_bytes());
    record[10] = sub.kind;
    if hangup {
        record[24..26].copy_from_slice(&EVENTRWFLAG_HANGUP.to_le_bytes());
    }
    let at = offset(events, index * EVENT_SIZE, "poll_oneoff events")?;
    mem.put(at, &record, "poll_oneoff events")
}

/// How long a clock subscription waits from `now`.
fn clock_wait(now: Now, sub: &Subscription) -> Result<Duration, Errno> {
    if sub.flags & SUBCLOCKFLAG_ABSTIME == 0 {
        return match sub.id {
            CLOCK_REALTIME..=CLOCK_THREAD_CPUTIME => Ok(Duration::from_nanos(sub.timeout)),
            _ => Err(errno::INVAL),
        };
    }
    let now = match sub.id {
        CLOCK_REALTIME => now.realtime,
        CLOCK_MONOTONIC => now.monotonic,
        _ => return Err(errno::NOTSUP),
    };
    Ok(Duration::from_nanos(sub.timeout.saturating_sub(now)))
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
            // The open handle, not its path: the path may lead elsewhere by now.
            Entry::File { file, .. } => {
                let meta = file.metadata().map_err(|e| errno::from_io(&e))?;
                filestat(filetype_of(&meta), Some(&meta))
            }
            Entry::Dir { host } => {
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
        let deadline = state.deadline;
        let total = match state.wasi.fds.get_mut(fd)? {
            Entry::Stdin => 0,
            Entry::File { file, .. } => read_into(mem, deadline, file, iovecs)?,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            Entry::Stdout | Entry::Stderr => return Err(errno::BADF.into()),
        };
        Ok(mem.put_u32(nread, total, "fd_read nread")?)
    })
}

fn fd_pread(mut caller: Ctx<'_>, fd: i32, iovs: i32, count: i32, offset: i64, nread: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let iovecs = mem.iovecs(iovs, count, "fd_pread iovecs")?;
        let deadline = state.deadline;
        let total = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => {
                let position = file.stream_position().map_err(|e| errno::from_io(&e))?;
                file.seek(SeekFrom::Start(offset as u64))
                    .map_err(|e| errno::from_io(&e))?;
                let read = read_into(mem, deadline, file, iovecs);
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

/// Reads from `file` into the iovecs in order, until one is not filled, checking the
/// deadline between chunks.
fn read_into(
    mem: &mut Mem<'_>,
    deadline: Deadline,
    file: &mut File,
    iovecs: Iovecs,
) -> Result<u32, Fail> {
    let mut total = 0u32;
    for i in 0..iovecs.count {
        let (buf, len) = mem.iovec(iovecs, i, "read iovecs")?;
        let target = mem.bytes_mut(buf, len as u32 as usize, "read buffer")?;
        let mut filled = 0;
        while filled < target.len() {
            if deadline.is_passed() {
                return Err(wasmi::Error::host(BudgetExhausted).into());
            }
            let end = target.len().min(filled + CHUNK);
            match file.read(&mut target[filled..end]) {
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
        for i in 0..iovecs.count {
            let (buf, len) = mem.iovec(iovecs, i, "fd_write iovecs")?;
            let bytes = mem.bytes(buf, len, "fd_write buffer")?;
            write_lines(state, stream, bytes)?;
            total = total.saturating_add(bytes.len() as u32);
        }
        Ok(mem.put_u32(nwritten, total, "fd_write nwritten")?)
    })
}

/// Appends to the stream's line buffer, logging each finished line; a line longer than one
/// log message is logged in pieces of [`MAX_LOG_MESSAGE_BYTES`]. Once the scan's log caps
/// are used up the rest is only counted, without being looked at: the host reads at most
/// the log volume, whatever the guest writes.
fn write_lines(state: &mut HostState, stream: Stream, bytes: &[u8]) -> Result<(), wasmi::Error> {
    let mut at = 0;
    while at < bytes.len() {
        state.check_deadline()?;
        if state.log_exhausted() {
            state.dropped.log_bytes = state
                .dropped
                .log_bytes
                .saturating_add((bytes.len() - at) as u64);
            return Ok(());
        }
        let line = &mut state.wasi.lines[stream as usize];
        let room = MAX_LOG_MESSAGE_BYTES - line.len();
        let window = &bytes[at..bytes.len().min(at + room)];
        let (text, finished) = match line_end(window) {
            Some(end) => (&window[..end], true),
            None => (window, false),
        };
        at += text.len() + usize::from(finished);
        line.extend_from_slice(text);
        if finished || line.len() == MAX_LOG_MESSAGE_BYTES {
            let line = std::mem::take(&mut state.wasi.lines[stream as usize]);
            state.log(stream.level(), &line);
        }
    }
    Ok(())
}

/// The index of the first newline in `bytes`, found at memchr speed.
fn line_end(bytes: &[u8]) -> Option<usize> {
    let mut reader = bytes;
    let read = reader.skip_until(b'\n').unwrap_or(0);
    (read > 0 && bytes[read - 1] == b'\n').then(|| read - 1)
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
/// Most entries a directory listing shows; the rest of a larger directory is not listed.
/// With names of at most 255 bytes (NAME_MAX), three times that once decoded as lossy UTF-8,
/// a listing holds at most about 800 KiB.
pub const MAX_DIR_ENTRIES: usize = 1024;

/// A directory's entries, read once when a listing starts (cookie 0) and kept for the
/// calls that continue it, so a listing costs one directory read, not one per call.
#[derive(Debug)]
struct Listing {
    fd: i32,
    host: PathBuf,
    entries: Vec<(String, u8)>,
}

fn fd_readdir(mut caller: Ctx<'_>, fd: i32, buf: i32, len: i32, cookie: i64, used: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let host = match state.wasi.fds.get(fd)? {
            Entry::Dir { host } => host.clone(),
            _ => return Err(errno::NOTDIR.into()),
        };
        let fresh = match &state.wasi.listing {
            Some(listing) => cookie == 0 || listing.fd != fd || listing.host != host,
            None => true,
        };
        if fresh {
            state.wasi.listing = None;
            let entries = list_dir(&host, state.deadline)?;
            state.wasi.listing = Some(Listing { fd, host, entries });
        }
        let names = &state.wasi.listing.as_ref().expect("listed above").entries;
        let out = mem.bytes_mut(buf, len as u32 as usize, "fd_readdir buffer")?;
        let mut written = 0;
        let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (index, (name, filetype)) in names.iter().enumerate().skip(skip) {
            let mut record = [0u8; DIRENT_HEADER];
            record[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
            record[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            record[20] = *filetype;
            // A record that does not fit is written in part: a full buffer tells libc to
            // call again with a larger one.
            for part in [&record[..], name.as_bytes()] {
                let n = part.len().min(out.len() - written);
                out[written..written + n].copy_from_slice(&part[..n]);
                written += n;
            }
            if written == out.len() {
                break;
            }
        }
        Ok(mem.put_u32(used, written as u32, "fd_readdir bufused")?)
    })
}

/// The first [`MAX_DIR_ENTRIES`] entries of `dir`, sorted by name.
fn list_dir(dir: &Path, deadline: Deadline) -> Result<Vec<(String, u8)>, Fail> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| errno::from_io(&e))? {
        if names.len() == MAX_DIR_ENTRIES {
            break;
        }
        if deadline.is_passed() {
            return Err(wasmi::Error::host(BudgetExhausted).into());
        }
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
    Ok(names)
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
        let guest_path = mem.bytes(path, len, "path_open path")?;
        let base = match state.wasi.fds.get(fd)? {
            Entry::Dir { host } => host,
            _ => return Err(errno::NOTDIR.into()),
        };
        let root = state.wasi.fds.root().ok_or(errno::NOTCAPABLE)?;
        // Opened once, checked on the handle: only regular files and directories inside the
        // preopen, and a FIFO cannot block the call.
        let found = preopen::open(root, base, guest_path, Want::FileOrDir)?;
        let entry = if found.is_dir {
            Entry::Dir { host: found.real }
        } else if oflags & OFLAGS_DIRECTORY != 0 {
            return Err(errno::NOTDIR.into());
        } else {
            Entry::File { file: found.file }
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
