//! `poll_oneoff`: clock subscriptions sleep, never past the call's deadline; descriptor
//! subscriptions are ready at once, since nothing here ever blocks.

use std::time::Duration;

use super::errno::{self, Errno};
use super::fd_table::Entry;
use super::mem::{Mem, offset};
use super::proc::{CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME, realtime_ns};
use super::{Ctx, Ret, with};
use crate::limits::MAX_POLL_SUBSCRIPTIONS;

const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAG_ABSTIME: u16 = 1;
const EVENTRWFLAG_HANGUP: u16 = 1;

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
pub(super) fn poll_oneoff(
    mut caller: Ctx<'_>,
    subs: i32,
    events: i32,
    count: i32,
    nevents: i32,
) -> Ret {
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
                // Nothing here ever blocks: stdin is a request held in memory or at end of
                // file, stdout/stderr and files are always ready.
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => match state.wasi.fds.get(sub.id) {
                    Ok(Entry::Stdin) => {
                        let done = state.wasi.command.as_ref().is_none_or(|c| c.stdin_done());
                        (errno::SUCCESS, done)
                    }
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
                state.deadline.sleep(remaining);
                return Err(state.deadline.exhausted().into());
            }
            state.deadline.sleep(shortest);
            if state.deadline.is_cancelled() {
                return Err(state.deadline.exhausted().into());
            }
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
