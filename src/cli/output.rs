//! What `plugbox scan` prints: findings on stdout, problems on stderr; or, with `--json`, one
//! JSON object per line on stdout, each with a `type` (`load_error`, `load_skipped`,
//! `load_findings`, `file`, `file_skipped`, `file_error`, `error`, `reload`, `summary`).
//! Field names are stable; fields are only ever added.
//!
//! Human output escapes control characters (plugins choose threat names, details and failure
//! messages, and anyone chooses file names): a plugin cannot move the cursor, recolour or
//! clear a terminal. JSON is escaped by JSON itself.
//!
//! With `--quiet`, only findings and errors are printed: no notes, warnings, progress or
//! summary (with `--json`: no `load_skipped`, no `summary`, and `file`, `file_skipped` and
//! `reload` objects only when they hold a finding or an error).

use std::io::{BufWriter, Stdout, Write};
use std::path::Path;

use plugbox::{Finding, LoadFailure, Plugin, ScanReport, printable};
use serde_json::json;

use super::file::{HostLimit, Outcome};
use super::progress::{Counts, Progress};
use super::reload::ReloadEvent;
use super::summary::Summary;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub json: bool,
    pub quiet: bool,
    pub fail_score: u32,
    /// Whether to show the progress line (stderr is a terminal, no `--json`, no `--quiet`).
    pub progress: bool,
}

pub struct Output {
    style: Style,
    summary: Summary,
    /// Items printed so far, for the progress line.
    done: u64,
    progress: Option<Progress>,
    /// Buffered, and flushed whenever the scan catches up with the input, so that results
    /// still appear as soon as they are complete.
    stdout: BufWriter<Stdout>,
}

impl Output {
    pub fn new(style: Style) -> Self {
        Self {
            style,
            summary: Summary::default(),
            done: 0,
            progress: style.progress.then(Progress::new),
            stdout: BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        }
    }

    /// Takes the progress line off the screen before anything else is printed.
    fn clear_progress(&mut self) {
        if let Some(progress) = &mut self.progress {
            progress.clear();
        }
    }

    fn line(&mut self, value: serde_json::Value) {
        self.clear_progress();
        // A closed pipe (`| head`) is not worth a panic; the exit code still tells.
        let _ = writeln!(self.stdout, "{value}");
    }

    fn stderr(&mut self, text: &str) {
        self.clear_progress();
        // Anything on stdout comes first, as it would unbuffered.
        let _ = self.stdout.flush();
        // A closed stderr (`2>&1 | head`) must not end the scan: `eprintln!` would panic.
        let _ = writeln!(std::io::stderr(), "plugbox: {text}");
    }

    /// A note or a warning: not shown with `--quiet`.
    fn notice(&mut self, text: &str) {
        if !self.style.quiet {
            self.stderr(text);
        }
    }

    /// A problem that makes the scan incomplete.
    pub fn error(&mut self, message: &str) {
        self.summary.errors += 1;
        if self.style.json {
            self.line(json!({"type": "error", "reason": message}));
        } else {
            self.stderr(&format!("error: {}", printable(message)));
        }
    }

    /// Findings a plugin reported while loading, and what the caps cut then: shown, not lost.
    pub fn load_report(&mut self, plugin: &Plugin) {
        let (findings, dropped) = (plugin.load_findings(), plugin.load_dropped());
        if findings.is_empty() && !dropped.any() {
            return;
        }
        if self.style.json {
            self.line(json!({
                "type": "load_findings",
                "plugin": plugin.name(),
                "findings": findings,
                "dropped": dropped,
            }));
            return;
        }
        for f in findings {
            self.notice(&format!(
                "warning: plugin '{}' reported while loading, with no file scanned: {} [score {}]: {}",
                printable(plugin.name()),
                printable(&f.threat),
                f.score,
                printable(&f.detail)
            ));
        }
        self.dropped(plugin.name(), "while loading", dropped);
    }

    fn dropped(&mut self, plugin: &str, when: &str, d: plugbox::Dropped) {
        if d.any() {
            self.notice(&format!(
                "warning: plugin '{}' {when}: per-scan caps cut {} findings, {} threat-name bytes, {} detail bytes, {} log messages, {} log bytes",
                printable(plugin),
                d.findings,
                d.threat_name_bytes,
                d.detail_bytes,
                d.log_messages,
                d.log_bytes
            ));
        }
    }

    pub fn load_failure(&mut self, failure: &LoadFailure) {
        self.summary.errors += 1;
        if self.style.json {
            self.line(json!({
                "type": "load_error",
                "plugin_dir": failure.dir().to_string_lossy(),
                "plugin": failure.plugin(),
                "reason": failure.error().to_string(),
            }));
        } else {
            self.stderr(&format!(
                "plugin not loaded: {}",
                printable(&failure.to_string())
            ));
        }
    }

    /// A plugin skipped on purpose (another platform, a newer engine needed): not an error.
    pub fn load_skip(&mut self, skip: &LoadFailure) {
        if self.style.quiet {
            return;
        }
        if self.style.json {
            self.line(json!({
                "type": "load_skipped",
                "plugin_dir": skip.dir().to_string_lossy(),
                "plugin": skip.plugin(),
                "reason": skip.error().to_string(),
            }));
        } else {
            self.notice(&format!("note: {}", printable(&skip.to_string())));
        }
    }

    /// Prints one result of the scan, in input order, and counts it.
    pub fn outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Scanned {
                path,
                file_type,
                bytes,
                report,
            } => {
                self.done += 1;
                self.summary.scanned(bytes, &report, self.style.fail_score);
                self.file(&path, file_type, &report);
            }
            Outcome::NotScanned {
                path,
                limit,
                reason,
                findings,
            } => {
                self.done += 1;
                self.summary
                    .not_scanned(limit, &findings, self.style.fail_score);
                self.file_skipped(&path, limit, &reason, &findings);
            }
            Outcome::Error { path, error } => {
                self.done += 1;
                self.summary.unreadable();
                self.file_error(&path, &error);
            }
            Outcome::Fatal(message) => self.error(&message),
            Outcome::Reload(event) => self.reload(&event),
        }
    }

    /// A path `--exclude` matched: counted, not printed.
    pub fn excluded(&mut self) {
        self.summary.excluded += 1;
    }

    /// A file a host limit kept from every plugin: not read; a warning, or with
    /// `--alert-exceeds-max` a finding.
    fn file_skipped(&mut self, path: &Path, limit: HostLimit, reason: &str, findings: &[Finding]) {
        let shown = path.to_string_lossy();
        if self.style.json {
            if !self.style.quiet || !findings.is_empty() {
                self.line(json!({
                    "type": "file_skipped",
                    "path": shown,
                    "reason": reason,
                    "limit": limit.key(),
                    "findings": findings,
                }));
            }
        } else if findings.is_empty() {
            self.notice(&format!(
                "warning: {} not scanned: {}",
                printable(&shown),
                printable(reason)
            ));
        } else {
            self.findings(&printable(&shown), findings);
        }
    }

    fn file_error(&mut self, path: &Path, error: &std::io::Error) {
        if self.style.json {
            self.line(json!({
                "type": "file_error",
                "path": path.to_string_lossy(),
                "reason": error.to_string(),
            }));
        } else {
            self.stderr(&format!(
                "{}: {}",
                printable(&path.to_string_lossy()),
                printable(&error.to_string())
            ));
        }
    }

    fn findings(&mut self, path: &str, findings: &[Finding]) {
        if !findings.is_empty() {
            self.clear_progress();
        }
        for f in findings {
            let _ = writeln!(
                self.stdout,
                "{path}: {} [score {}] by '{}': {}",
                printable(&f.threat),
                f.score,
                printable(&f.plugin),
                printable(&f.detail)
            );
        }
    }

    fn file(&mut self, path: &str, file_type: &str, report: &ScanReport) {
        if self.style.json {
            let noteworthy = !report.findings.is_empty() || report.failures().next().is_some();
            if !self.style.quiet || noteworthy {
                self.line(json!({
                    "type": "file",
                    "path": path,
                    "file_type": file_type,
                    "max_score": report.max_score(),
                    "findings": report.findings,
                    "plugins": report.runs,
                }));
            }
            return;
        }
        let path = printable(path);
        self.findings(&path, &report.findings);
        for run in &report.runs {
            let plugin = printable(&run.plugin);
            if let Some(failure) = run.failure() {
                self.stderr(&format!(
                    "error: plugin '{plugin}' on {path}: {}",
                    printable(&failure.to_string())
                ));
            } else if let Some(reason) = run.skip_reason() {
                self.notice(&format!(
                    "warning: plugin '{plugin}' skipped {path}: {}",
                    printable(reason)
                ));
            }
            self.dropped(&run.plugin, &format!("on {path}"), run.dropped);
        }
    }

    /// The plugin directory was reloaded (`--files-from`). A plugin that no longer loads
    /// is an error, as at the start.
    fn reload(&mut self, event: &ReloadEvent) {
        self.summary.errors += event.failed.len() as u64;
        let failed = !event.failed.is_empty();
        if self.style.json {
            if !self.style.quiet || failed {
                self.line(event.to_json());
            }
        } else if failed {
            self.stderr(&event.to_text());
        } else {
            self.notice(&event.to_text());
        }
    }

    /// Writes out what is buffered for stdout (the scan has caught up with its input).
    pub fn flush(&mut self) {
        let _ = self.stdout.flush();
    }

    /// Redraws the progress line if it is shown and due.
    pub fn tick(&mut self, total: Option<u64>) {
        if self.progress.is_none() {
            return;
        }
        self.flush();
        let counts = Counts {
            done: self.done,
            total,
            bytes: self.summary.bytes,
        };
        if let Some(progress) = &mut self.progress {
            progress.tick(counts);
        }
    }

    /// Clears the progress line, prints the summary (not with `--quiet`) and returns the
    /// counts.
    pub fn finish(mut self, plugins: usize) -> Summary {
        self.clear_progress();
        let fail_score = self.style.fail_score;
        if !self.style.quiet {
            if self.style.json {
                let summary = self.summary.to_json(plugins, fail_score);
                self.line(summary);
            } else {
                for line in self.summary.to_text(plugins, fail_score) {
                    self.stderr(&line);
                }
            }
        }
        self.flush();
        self.summary
    }
}
