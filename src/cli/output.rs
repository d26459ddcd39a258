//! What `plugbox scan` prints: findings on stdout, problems on stderr; or, with `--json`, one
//! JSON object per line on stdout, each with a `type` (`load_error`, `load_skipped`,
//! `load_findings`, `file`, `file_skipped`, `file_error`, `summary`). Field names are stable.
//!
//! Human output escapes control characters (plugins choose threat names, details and failure
//! messages, and anyone chooses file names): a plugin cannot move the cursor, recolour or
//! clear a terminal. JSON is escaped by JSON itself.

use std::io::Write;
use std::path::Path;

use plugbox::{LoadFailure, Plugin, ScanReport, printable};
use serde_json::json;

/// Counts that decide the exit code.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub files: u64,
    pub findings: u64,
    pub detections: u64,
    pub errors: u64,
}

pub struct Output {
    json: bool,
    fail_score: u32,
    tally: Tally,
    stdout: std::io::StdoutLock<'static>,
}

impl Output {
    pub fn new(json: bool, fail_score: u32) -> Self {
        Self {
            json,
            fail_score,
            tally: Tally::default(),
            stdout: std::io::stdout().lock(),
        }
    }

    fn line(&mut self, value: serde_json::Value) {
        // A closed pipe (`| head`) is not worth a panic; the exit code still tells.
        let _ = writeln!(self.stdout, "{value}");
    }

    /// A problem that makes the scan incomplete.
    pub fn error(&mut self, message: &str) {
        self.tally.errors += 1;
        if self.json {
            self.line(json!({"type": "error", "reason": message}));
        } else {
            eprintln!("plugbox: error: {}", printable(message));
        }
    }

    /// Findings a plugin reported while loading, and what the caps cut then: shown, not lost.
    pub fn load_report(&mut self, plugin: &Plugin) {
        let (findings, dropped) = (plugin.load_findings(), plugin.load_dropped());
        if findings.is_empty() && !dropped.any() {
            return;
        }
        if self.json {
            self.line(json!({
                "type": "load_findings",
                "plugin": plugin.name(),
                "findings": findings,
                "dropped": dropped,
            }));
            return;
        }
        for f in findings {
            eprintln!(
                "plugbox: warning: plugin '{}' reported while loading, with no file scanned: {} [score {}]: {}",
                printable(plugin.name()),
                printable(&f.threat),
                f.score,
                printable(&f.detail)
            );
        }
        self.dropped(plugin.name(), "while loading", dropped);
    }

    fn dropped(&self, plugin: &str, when: &str, d: plugbox::Dropped) {
        if d.any() {
            eprintln!(
                "plugbox: warning: plugin '{}' {when}: per-scan caps cut {} findings, {} threat-name bytes, {} detail bytes, {} log messages, {} log bytes",
                printable(plugin),
                d.findings,
                d.threat_name_bytes,
                d.detail_bytes,
                d.log_messages,
                d.log_bytes
            );
        }
    }

    pub fn load_failure(&mut self, failure: &LoadFailure) {
        self.tally.errors += 1;
        if self.json {
            self.line(json!({
                "type": "load_error",
                "plugin_dir": failure.dir().to_string_lossy(),
                "plugin": failure.plugin(),
                "reason": failure.error().to_string(),
            }));
        } else {
            eprintln!(
                "plugbox: plugin not loaded: {}",
                printable(&failure.to_string())
            );
        }
    }

    /// A plugin skipped on purpose (another platform, a newer engine needed): not an error.
    pub fn load_skip(&mut self, skip: &LoadFailure) {
        if self.json {
            self.line(json!({
                "type": "load_skipped",
                "plugin_dir": skip.dir().to_string_lossy(),
                "plugin": skip.plugin(),
                "reason": skip.error().to_string(),
            }));
        } else {
            eprintln!("plugbox: note: {}", printable(&skip.to_string()));
        }
    }

    /// A file no plugin can take (larger than every memory cap): a warning, as when one plugin
    /// skips a file.
    pub fn file_skipped(&mut self, path: &Path, reason: &str) {
        if self.json {
            self.line(json!({
                "type": "file_skipped",
                "path": path.to_string_lossy(),
                "reason": reason,
            }));
        } else {
            eprintln!(
                "plugbox: warning: {} not scanned: {}",
                printable(&path.to_string_lossy()),
                printable(reason)
            );
        }
    }

    pub fn file_error(&mut self, path: &Path, error: &std::io::Error) {
        self.tally.errors += 1;
        if self.json {
            self.line(json!({
                "type": "file_error",
                "path": path.to_string_lossy(),
                "reason": error.to_string(),
            }));
        } else {
            eprintln!(
                "plugbox: {}: {}",
                printable(&path.to_string_lossy()),
                printable(&error.to_string())
            );
        }
    }

    pub fn file(&mut self, path: &str, file_type: &str, report: &ScanReport) {
        self.tally.files += 1;
        self.tally.findings += report.findings.len() as u64;
        self.tally.detections += report
            .findings
            .iter()
            .filter(|f| f.score >= self.fail_score)
            .count() as u64;
        self.tally.errors += report.failures().count() as u64;
        if self.json {
            self.line(json!({
                "type": "file",
                "path": path,
                "file_type": file_type,
                "max_score": report.max_score(),
                "findings": report.findings,
                "plugins": report.runs,
            }));
            return;
        }
        let path = printable(path);
        for f in &report.findings {
            let _ = writeln!(
                self.stdout,
                "{path}: {} [score {}] by '{}': {}",
                printable(&f.threat),
                f.score,
                printable(&f.plugin),
                printable(&f.detail)
            );
        }
        for run in &report.runs {
            let plugin = printable(&run.plugin);
            if let Some(failure) = run.failure() {
                eprintln!(
                    "plugbox: error: plugin '{plugin}' on {path}: {}",
                    printable(&failure.to_string())
                )
            } else if let Some(reason) = run.skip_reason() {
                eprintln!(
                    "plugbox: warning: plugin '{plugin}' skipped {path}: {}",
                    printable(reason)
                )
            }
            self.dropped(&run.plugin, &format!("on {path}"), run.dropped);
        }
    }

    pub fn finish(mut self, plugins: usize) -> Tally {
        let t = self.tally;
        if self.json {
            self.line(json!({
                "type": "summary",
                "plugins": plugins,
                "files": t.files,
                "findings": t.findings,
                "detections": t.detections,
                "fail_score": self.fail_score,
                "errors": t.errors,
            }));
        } else {
            eprintln!(
                "plugbox: {} files scanned with {plugins} plugins: {} findings, {} at or above score {}, {} errors",
                t.files, t.findings, t.detections, self.fail_score, t.errors
            );
        }
        let _ = self.stdout.flush();
        t
    }
}
