//! External-process plugins: the executable runs once per invocation, unsandboxed, with the
//! host's environment, as the SBOM differ runs them.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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

enum Pipe {
    Stdout(Result<Vec<u8>, String>),
    Stderr(Vec<u8>),
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
    pub fn invoke(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + self.timeout;
        let mut child = Command::new(&self.exec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.exec.display()))?;
        let (sender, pipes) = mpsc::channel();
        // Each pipe has its own thread, so a plugin that writes before it reads, or fills one
        // pipe while the host waits on another, cannot deadlock the host.
        let stdin = child.stdin.take().expect("stdin is piped");
        let request = request.to_vec();
        thread::spawn(move || {
            let mut stdin = stdin;
            // A plugin may exit without reading its input; that is its business.
            let _ = stdin.write_all(&request);
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let to_host = sender.clone();
        thread::spawn(move || to_host.send(Pipe::Stdout(read_capped(stdout))));
        let stderr = child.stderr.take().expect("stderr is piped");
        thread::spawn(move || {
            let mut quoted = Vec::new();
            let mut stderr = stderr;
            let _ = stderr
                .by_ref()
                .take(MAX_STDERR_QUOTED as u64)
                .read_to_end(&mut quoted);
            // Drain the rest so the plugin never blocks on a full stderr pipe.
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            sender.send(Pipe::Stderr(quoted))
        });

        let (mut stdout, mut stderr) = (None, None);
        while stdout.is_none() || stderr.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match pipes.recv_timeout(left) {
                Ok(Pipe::Stdout(Err(too_large))) => return Err(stop(&mut child, too_large)),
                Ok(Pipe::Stdout(Ok(bytes))) => stdout = Some(bytes),
                Ok(Pipe::Stderr(bytes)) => stderr = Some(bytes),
                Err(_) => {
                    let ms = self.timeout.as_millis();
                    return Err(stop(&mut child, format!("timed out after {ms} ms")));
                }
            }
        }
        // Both pipes are closed: the plugin has exited or is about to.
        let status = child
            .wait()
            .map_err(|e| format!("waiting for the plugin: {e}"))?;
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

/// Kills the plugin and reaps it; returns `why`.
fn stop(child: &mut Child, why: String) -> String {
    let _ = child.kill();
    let _ = child.wait();
    why
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
