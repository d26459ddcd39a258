//! Stdio: stdout and stderr lines become log messages of the plugin, within the per-scan log
//! caps; stdin is at end of file (see `fd_read`). A command plugin's stdout is captured
//! instead ([`CommandIo`](super::CommandIo)).

use std::io::BufRead;

use super::fd_table::Entry;
use super::{Ctx, Ret, errno, with};
use crate::host::HostState;
use crate::limits::MAX_LOG_MESSAGE_BYTES;

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

pub(super) fn fd_write(mut caller: Ctx<'_>, fd: i32, iovs: i32, count: i32, nwritten: i32) -> Ret {
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
            match (stream, &mut state.wasi.command) {
                (Stream::Stdout, Some(command)) => command.write_stdout(bytes)?,
                _ => write_lines(state, stream, bytes)?,
            }
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
