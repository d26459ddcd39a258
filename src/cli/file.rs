//! One file, read and scanned on a worker thread: what comes out of it ([`Outcome`]), with
//! the host's limits applied and, with `--alert-exceeds-max`, each limit skip made a finding.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use plugbox::{Finding, Input, InputMode, ScanReport, SharedBytes, Snapshot, file_type};

use super::reload::ReloadEvent;

/// The threat name of a limit skip made a finding (`--alert-exceeds-max`).
pub const LIMITS_EXCEEDED: &str = "Heuristics.Limits.Exceeded";
/// Its score: malicious, so that the default `--fail-score` fails the scan.
pub const LIMITS_EXCEEDED_SCORE: u32 = 60;
/// The plugin name of findings about the host's own limits.
pub const HOST: &str = "plugbox";

/// The host's limits on files, from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileLimits {
    /// `--max-file-size`, in bytes.
    pub max_file_size: Option<u64>,
    /// `--alert-exceeds-max`.
    pub alert: bool,
}

/// Which host limit kept a file from every plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostLimit {
    /// `--max-file-size`.
    MaxFileSize,
    /// Larger than the largest memory cap of the loaded plugins (or, with a plugin reading
    /// through the host, `plugbox::limits::MAX_HOST_INPUT_BYTES`).
    MemoryCaps,
}

impl HostLimit {
    /// The stable name used in JSON.
    pub fn key(self) -> &'static str {
        match self {
            HostLimit::MaxFileSize => "max_file_size",
            HostLimit::MemoryCaps => "memory_caps",
        }
    }
}

/// What one item of the scan produced, printed in input order.
#[derive(Debug)]
pub enum Outcome {
    /// The file was read and given to the plugins.
    Scanned {
        path: String,
        file_type: &'static str,
        bytes: u64,
        report: ScanReport,
    },
    /// A host limit kept the file from every plugin; it was not read.
    NotScanned {
        path: PathBuf,
        limit: HostLimit,
        reason: String,
        /// The limit finding, with `--alert-exceeds-max`.
        findings: Vec<Finding>,
    },
    /// The file could not be read, or a directory walked.
    Error { path: PathBuf, error: io::Error },
    /// A problem that is not one file's.
    Fatal(String),
    /// The plugin directory was reloaded here (`--files-from`).
    Reload(ReloadEvent),
}

/// Reads `path` within the limits and scans it with every plugin.
pub fn scan_file(plugins: &Snapshot, limits: FileLimits, path: PathBuf) -> Outcome {
    // A file larger than every plugin's memory cap (or the host-input limit) fits none of
    // them: it is not read.
    let caps = plugins.max_input_bytes();
    let (limit, host_limit) = match limits.max_file_size {
        Some(max) if max <= caps => (max, HostLimit::MaxFileSize),
        _ => (caps, HostLimit::MemoryCaps),
    };
    match plugbox::read_input(&path, limit) {
        Ok(data) => {
            let shown = path.to_string_lossy().into_owned();
            let kind = file_type::detect(&data);
            let bytes = data.len() as u64;
            // Read once, and shared as it is with plugins reading through the host helpers.
            let data: SharedBytes = Arc::new(data);
            let mut report = plugins.scan(Input::shared(&data).path(&shown).file_type(kind));
            if limits.alert {
                alert_skips(&mut report);
            }
            Outcome::Scanned {
                path: shown,
                file_type: kind,
                bytes,
                report,
            }
        }
        Err(error)
            if error.kind() == io::ErrorKind::FileTooLarge
                && plugins.plugins().is_empty()
                && host_limit == HostLimit::MemoryCaps =>
        {
            // Not a limit: nothing could scan it (an error reported at the start), and no
            // finding says otherwise.
            let reason = "no plugin is loaded to scan it".to_owned();
            Outcome::NotScanned {
                path,
                limit: host_limit,
                reason,
                findings: Vec::new(),
            }
        }
        Err(error) if error.kind() == io::ErrorKind::FileTooLarge => {
            let host_input = plugins
                .plugins()
                .iter()
                .any(|plugin| plugin.input_mode() == InputMode::Host);
            not_scanned(path, host_limit, host_input, &error, limits.alert)
        }
        Err(error) => Outcome::Error { path, error },
    }
}

fn not_scanned(
    path: PathBuf,
    limit: HostLimit,
    host_input: bool,
    error: &io::Error,
    alert: bool,
) -> Outcome {
    let reason = match limit {
        HostLimit::MaxFileSize => format!("{error}, the --max-file-size limit"),
        HostLimit::MemoryCaps if host_input => {
            format!("{error}, the largest input of a plugin with \"input\": \"host\"")
        }
        HostLimit::MemoryCaps => format!("{error}, the largest plugin memory cap"),
    };
    let findings = if alert {
        let detail = format!("the file {reason}; no plugin scanned it");
        vec![limit_finding(HOST, &detail)]
    } else {
        Vec::new()
    };
    Outcome::NotScanned {
        path,
        limit,
        reason,
        findings,
    }
}

/// `--alert-exceeds-max`: each plugin skip (a file over the plugin's memory cap) becomes a
/// finding of that plugin, after the plugins' own findings.
fn alert_skips(report: &mut ScanReport) {
    let alerts: Vec<Finding> = report
        .skipped()
        .map(|(plugin, reason)| limit_finding(plugin, reason))
        .collect();
    report.findings.extend(alerts);
}

fn limit_finding(plugin: &str, reason: &str) -> Finding {
    Finding::new(plugin, LIMITS_EXCEEDED, LIMITS_EXCEEDED_SCORE, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbox::{HostConfig, Registry};

    fn registry() -> Registry {
        let registry = Registry::new(HostConfig::default().with_max_memory_mb(1));
        registry
            .load_plugin("examples/plugins/marker-scanner".as_ref())
            .unwrap();
        registry
    }

    #[test]
    fn files_over_max_file_size_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [b'x'; 100]).unwrap();
        let limits = FileLimits {
            max_file_size: Some(99),
            alert: true,
        };
        match scan_file(&registry().snapshot(), limits, path.clone()) {
            Outcome::NotScanned {
                limit,
                reason,
                findings,
                ..
            } => {
                assert_eq!(limit, HostLimit::MaxFileSize);
                assert_eq!(reason, "is larger than 99 bytes, the --max-file-size limit");
                assert_eq!(findings.len(), 1);
                assert_eq!(
                    (
                        findings[0].plugin.as_str(),
                        findings[0].threat.as_str(),
                        findings[0].score
                    ),
                    (HOST, LIMITS_EXCEEDED, 60)
                );
            }
            other => panic!("{other:?}"),
        }
        let limits = FileLimits {
            max_file_size: Some(100),
            alert: false,
        };
        assert!(matches!(
            scan_file(&registry().snapshot(), limits, path),
            Outcome::Scanned { bytes: 100, .. }
        ));
    }

    #[test]
    fn files_over_every_memory_cap_name_the_caps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; (1 << 20) + 1]).unwrap();
        let limits = FileLimits {
            max_file_size: Some(u64::MAX),
            alert: false,
        };
        match scan_file(&registry().snapshot(), limits, path) {
            Outcome::NotScanned {
                limit, findings, ..
            } => {
                assert_eq!(limit, HostLimit::MemoryCaps);
                assert!(findings.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}
