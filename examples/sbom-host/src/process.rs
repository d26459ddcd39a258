//! External-process plugins: the executable runs once per invocation, unsandboxed, with the
//! host's environment, as the SBOM differ runs them.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::manifest::Manifest;

/// The most of a plugin's stdout read, as for WebAssembly plugins: past it the invocation fails.
pub const MAX_STDOUT_BYTES: usize = 1024 * 1024;
/// How much of a failing plugin's stderr is quoted in the error.
const MAX_STDERR_QUOTED: usize = 4096;

/// A process plugin, ready to run.
pub struct ProcessPlugin {
    exec: PathBuf,
    timeout: Duration,
}

/// What the helper threads of one invocation report.
enum Event {
    Stdout(Result<Vec<u8>, String>),
    Stderr(Vec<u8>),
    Exited(std::io::Result<ExitStatus>),
}

impl ProcessPlugin {
    /// Checks that the executable exists, as the SBOM differ does before any diff work.
    pub fn new(manifest: &Manifest) -> Result<Self, String> {
        if !manifest.exec.is_file() {
            return Err(format!(
                "plugin '{}': exec {} does not exist or is not a file",
                manifest.name,
                manifest.exec.display()
            ));
        }
        Ok(Self {
            exec: manifest.exec.clone(),
            timeout: Duration::from_millis(manifest.timeout_ms),
        })
    }

    /// Runs the executable with `request` on stdin; its stdout when it exits 0 in time.
    ///
    /// The invocation ends when the plugin has exited and its stdout and stderr are closed, all
    /// within `timeout_ms`; past it, or once stdout passes its cap, the plugin's whole process
    /// group is killed, so background jobs it started end with it.
    pub fn invoke(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + self.timeout;
        let mut command = Command::new(&self.exec);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.exec.display()))?;
        let group = ProcessGroup(child.id());
        // Each pipe, and the wait, has its own thread, so a plugin that writes before it
        // reads, or fills one pipe while the host waits on another, cannot block the host,
        // and every wait is bounded by the deadline.
        let (sender, events) = mpsc::channel();
        let stdin = child.stdin.take().expect("stdin is piped");
        let request = request.to_vec();
        thread::spawn(move || {
            let mut stdin = stdin;
            // A plugin may exit without reading its input; that is its business.
            let _ = stdin.write_all(&request);
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let to_host = sender.clone();
        thread::spawn(move || to_host.send(Event::Stdout(read_capped(stdout))));
        let stderr = child.stderr.take().expect("stderr is piped");
        let to_host = sender.clone();
        thread::spawn(move || {
            let mut quoted = Vec::new();
            let mut stderr = stderr;
            let _ = stderr
                .by_ref()
                .take(MAX_STDERR_QUOTED as u64)
                .read_to_end(&mut quoted);
            // Drain the rest so the plugin never blocks on a full stderr pipe.
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            to_host.send(Event::Stderr(quoted))
        });
        thread::spawn(move || sender.send(Event::Exited(child.wait())));

        let (mut stdout, mut stderr, mut status) = (None, None, None);
        while stdout.is_none() || stderr.is_none() || status.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match events.recv_timeout(left) {
                Ok(Event::Stdout(Err(too_large))) => return Err(group.kill(too_large)),
                Ok(Event::Stdout(Ok(bytes))) => stdout = Some(bytes),
                Ok(Event::Stderr(bytes)) => stderr = Some(bytes),
                Ok(Event::Exited(exit)) => {
                    status = Some(exit.map_err(|e| format!("waiting for the plugin: {e}"))?);
                }
                Err(_) => {
                    let ms = self.timeout.as_millis();
                    return Err(group.kill(format!("timed out after {ms} ms")));
                }
            }
        }
        let status = status.expect("the loop ends with a status");
        if !status.success() {
            let stderr = String::from_utf8_lossy(stderr.as_deref().unwrap_or_default());
            let how = match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => format!("ended by a signal ({status})"),
            };
            return Err(match stderr.trim() {
                "" => how,
                text => format!("{how}; stderr: {}", text.escape_debug()),
            });
        }
        Ok(stdout.unwrap_or_default())
    }
}

/// The process group a plugin runs in: its own, led by the plugin.
struct ProcessGroup(u32);

impl ProcessGroup {
    /// Kills every process of the group (the waiting thread reaps the plugin); returns `why`.
    /// `kill(1)` does it, since the standard library has no call for a group and this example
    /// keeps to safe code.
    fn kill(&self, why: String) -> String {
        #[cfg(unix)]
        let status = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
        #[cfg(not(unix))]
        let status = Command::new("taskkill")
            .args(["/F", "/T", "/PID", &self.0.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            // A failing `kill` means the group is gone already: it ended on its own.
            Ok(_) => why,
            Err(e) => format!("{why}; the plugin could not be killed: {e}"),
        }
    }
}

fn read_capped(pipe: impl Read) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    pipe.take(MAX_STDOUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the plugin's stdout: {e}"))?;
    if bytes.len() > MAX_STDOUT_BYTES {
        return Err(format!(
            "output too large: more than {MAX_STDOUT_BYTES} bytes on stdout"
        ));
    }
    Ok(bytes)
}
