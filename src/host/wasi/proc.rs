//! Args and environment (empty but for command plugins), clocks, randomness, the process
//! calls, and sockets (there are none).

use std::fs::File;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{CHUNK, Ctx, Ret, answer, command_io, errno, with};
use crate::host::HostState;

// ---- args, environment, clocks, randomness, process ----

/// Args and environment: empty, except what the host gives a command plugin.
fn strings_of(state: &HostState, environment: bool) -> &[String] {
    match (&state.wasi.command, environment) {
        (Some(command), false) => command.args(),
        (Some(command), true) => command.env(),
        (None, _) => &[],
    }
}

fn sizes_get(mut caller: Ctx<'_>, count: i32, size: i32, environment: bool) -> Ret {
    let what = match environment {
        true => "environ_sizes_get",
        false => "args_sizes_get",
    };
    with(&mut caller, |mem, state| {
        let (n, bytes) = command_io::sizes(strings_of(state, environment));
        mem.put_u32(count, n, what)?;
        mem.put_u32(size, bytes, what)?;
        Ok(())
    })
}

fn strings_get(mut caller: Ctx<'_>, pointers: i32, buf: i32, environment: bool) -> Ret {
    let what = match environment {
        true => "environ_get",
        false => "args_get",
    };
    with(&mut caller, |mem, state| {
        let strings = strings_of(state, environment);
        Ok(command_io::put_strings(mem, strings, pointers, buf, what)?)
    })
}

pub(super) fn args_sizes_get(caller: Ctx<'_>, argc: i32, size: i32) -> Ret {
    sizes_get(caller, argc, size, false)
}

pub(super) fn environ_sizes_get(caller: Ctx<'_>, count: i32, size: i32) -> Ret {
    sizes_get(caller, count, size, true)
}

pub(super) fn args_get(caller: Ctx<'_>, argv: i32, buf: i32) -> Ret {
    strings_get(caller, argv, buf, false)
}

pub(super) fn environ_get(caller: Ctx<'_>, environ: i32, buf: i32) -> Ret {
    strings_get(caller, environ, buf, true)
}

pub(super) const CLOCK_REALTIME: i32 = 0;
pub(super) const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME: i32 = 2;
pub(super) const CLOCK_THREAD_CPUTIME: i32 = 3;

pub(super) fn clock_res_get(mut caller: Ctx<'_>, id: i32, res: i32) -> Ret {
    with(&mut caller, |mem, _| {
        if !(CLOCK_REALTIME..=CLOCK_THREAD_CPUTIME).contains(&id) {
            return Err(errno::INVAL.into());
        }
        Ok(mem.put_u64(res, 1, "clock_res_get resolution")?)
    })
}

pub(super) fn clock_time_get(mut caller: Ctx<'_>, id: i32, _precision: i64, time: i32) -> Ret {
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

pub(super) fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(super) fn random_get(mut caller: Ctx<'_>, buf: i32, len: i32) -> Ret {
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

pub(super) fn proc_exit(_: Ctx<'_>, code: i32) -> Result<(), wasmi::Error> {
    Err(wasmi::Error::i32_exit(code))
}

pub(super) fn proc_raise(caller: Ctx<'_>, _signal: i32) -> Ret {
    answer(&caller, errno::NOSYS)
}

pub(super) fn sched_yield(caller: Ctx<'_>) -> Ret {
    answer(&caller, errno::SUCCESS)
}

// ---- sockets: there are none ----

fn no_socket(mut caller: Ctx<'_>, fd: i32) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        Err(errno::NOTSOCK.into())
    })
}

pub(super) fn sock_accept(caller: Ctx<'_>, fd: i32, _flags: i32, _new_fd: i32) -> Ret {
    no_socket(caller, fd)
}

pub(super) fn sock_recv(
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

pub(super) fn sock_send(
    caller: Ctx<'_>,
    fd: i32,
    _data: i32,
    _len: i32,
    _flags: i32,
    _datalen: i32,
) -> Ret {
    no_socket(caller, fd)
}

pub(super) fn sock_shutdown(caller: Ctx<'_>, fd: i32, _how: i32) -> Ret {
    no_socket(caller, fd)
}
