//! What a command plugin's process sees (CONTRACT §9): stdin is the request, stdout is
//! captured up to a cap the host sets, and the arguments and environment are the ones the host
//! chose. Without a `CommandIo` (detection plugins) stdin is at end of file, stdout is log
//! lines, and arguments and environment are empty.

use std::sync::Arc;

use super::mem::{Iovecs, Mem};

/// The request, the captured response, and the process's arguments and environment.
#[derive(Debug)]
pub(crate) struct CommandIo {
    stdin: Vec<u8>,
    stdin_at: usize,
    stdout: Vec<u8>,
    stdout_cap: usize,
    stdout_overflow: bool,
    /// `argv`, the program name first.
    args: Arc<[String]>,
    /// `KEY=VALUE` strings.
    env: Arc<[String]>,
}

impl CommandIo {
    /// A process reading `stdin`, writing at most `stdout_cap` bytes to stdout.
    pub(crate) fn new(
        stdin: &[u8],
        stdout_cap: usize,
        args: Arc<[String]>,
        env: Arc<[String]>,
    ) -> Self {
        Self {
            stdin: stdin.to_vec(),
            stdin_at: 0,
            stdout: Vec::new(),
            stdout_cap,
            stdout_overflow: false,
            args,
            env,
        }
    }

    /// What the process wrote to stdout, and whether it tried to write more than the cap.
    pub(crate) fn into_stdout(self) -> (Vec<u8>, bool) {
        (self.stdout, self.stdout_overflow)
    }

    /// Whether stdin has nothing left to read.
    pub(super) fn stdin_done(&self) -> bool {
        self.stdin_at >= self.stdin.len()
    }

    /// Copies the unread request into the iovecs; 0 at end of input. Each buffer is checked
    /// whole, as for file reads, however little of it is filled.
    pub(super) fn read_stdin(
        &mut self,
        mem: &mut Mem<'_>,
        iovecs: Iovecs,
    ) -> Result<u32, wasmi::Error> {
        let mut total = 0u32;
        for i in 0..iovecs.count {
            let (buf, len) = mem.iovec(iovecs, i, "fd_read iovecs")?;
            let target = mem.bytes_mut(buf, len as u32 as usize, "fd_read buffer")?;
            let rest = &self.stdin[self.stdin_at..];
            let take = rest.len().min(target.len());
            target[..take].copy_from_slice(&rest[..take]);
            self.stdin_at += take;
            total = total.saturating_add(take as u32);
            if take < target.len() {
                break;
            }
        }
        Ok(total)
    }

    /// Appends to the captured stdout. Past the cap nothing more is copied and the call
    /// fails: a response cut short would be read as a whole one.
    pub(super) fn write_stdout(&mut self, bytes: &[u8]) -> Result<(), wasmi::Error> {
        if bytes.len() > self.stdout_cap - self.stdout.len() {
            self.stdout_overflow = true;
            return Err(wasmi::Error::new(format!(
                "stdout is larger than the host's cap of {} bytes",
                self.stdout_cap
            )));
        }
        self.stdout.extend_from_slice(bytes);
        Ok(())
    }

    /// `argv`.
    pub(super) fn args(&self) -> &[String] {
        &self.args
    }

    /// The environment, as `KEY=VALUE` strings.
    pub(super) fn env(&self) -> &[String] {
        &self.env
    }
}

/// The counts `args_sizes_get` / `environ_sizes_get` report: strings, and their bytes with
/// a NUL each.
pub(super) fn sizes(strings: &[String]) -> (u32, u32) {
    let bytes: usize = strings.iter().map(|s| s.len() + 1).sum();
    (strings.len() as u32, bytes as u32)
}

/// Writes `strings` as `args_get` / `environ_get` do: a pointer per string at `pointers`,
/// the NUL-terminated strings one after another at `buf`.
pub(super) fn put_strings(
    mem: &mut Mem<'_>,
    strings: &[String],
    pointers: i32,
    buf: i32,
    what: &str,
) -> Result<(), wasmi::Error> {
    let mut at = buf as u32;
    for (i, string) in strings.iter().enumerate() {
        let slot = super::mem::offset(pointers, (i as u32).saturating_mul(4), what)?;
        mem.put_u32(slot, at, what)?;
        mem.put(at as i32, string.as_bytes(), what)?;
        let end = super::mem::offset(at as i32, string.len() as u32, what)?;
        mem.put(end, &[0], what)?;
        at = super::mem::offset(end, 1, what)? as u32;
    }
    Ok(())
}
