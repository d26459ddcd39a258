//! The counts of a scan, kept as results are printed (so they do not depend on `--jobs`),
//! and the end summary made of them: a few lines on stderr, or the `summary` JSON object.

use std::collections::BTreeMap;

use plugbox::{Finding, ScanReport, printable};
use serde_json::{Value, json};

use super::file::HostLimit;

/// Counts that decide the exit code and fill the summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Files read and given to the plugins.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Findings on files, `--alert-exceeds-max` ones included.
    pub findings: u64,
    /// Findings at or above `--fail-score`.
    pub detections: u64,
    /// Problems that make the scan incomplete.
    pub errors: u64,
    /// Findings by band: informational (0-29), suspicious (30-59), malicious (60-100).
    pub bands: [u64; 3],
    /// Files over `--max-file-size`.
    pub over_max_file_size: u64,
    /// Files over every plugin's memory cap.
    pub over_memory_caps: u64,
    /// Files that could not be read (or directories walked).
    pub unreadable: u64,
    /// Files at least one plugin skipped because of its limits.
    pub files_with_skips: u64,
    /// Plugin runs skipped because of the plugin's limits, by plugin.
    pub skips: BTreeMap<String, u64>,
    /// Failed plugin runs, by plugin.
    pub failures: BTreeMap<String, u64>,
    /// Paths `--exclude` matched.
    pub excluded: u64,
}

impl Summary {
    /// Counts the findings of a file.
    pub fn findings(&mut self, findings: &[Finding], fail_score: u32) {
        for finding in findings {
            self.findings += 1;
            self.detections += u64::from(finding.score >= fail_score);
            let band = match finding.score {
                0..=29 => 0,
                30..=59 => 1,
                _ => 2,
            };
            self.bands[band] += 1;
        }
    }

    /// Counts a scanned file.
    pub fn scanned(&mut self, bytes: u64, report: &ScanReport, fail_score: u32) {
        self.files += 1;
        self.bytes += bytes;
        self.findings(&report.findings, fail_score);
        for (plugin, _) in report.failures() {
            self.errors += 1;
            *self.failures.entry(plugin.to_owned()).or_default() += 1;
        }
        let mut skipped = false;
        for (plugin, _) in report.skipped() {
            skipped = true;
            *self.skips.entry(plugin.to_owned()).or_default() += 1;
        }
        self.files_with_skips += u64::from(skipped);
    }

    /// Counts a file a host limit kept from every plugin.
    pub fn not_scanned(&mut self, limit: HostLimit, findings: &[Finding], fail_score: u32) {
        match limit {
            HostLimit::MaxFileSize => self.over_max_file_size += 1,
            HostLimit::MemoryCaps => self.over_memory_caps += 1,
        }
        self.findings(findings, fail_score);
    }

    /// Counts a file that could not be read.
    pub fn unreadable(&mut self) {
        self.unreadable += 1;
        self.errors += 1;
    }

    /// Files not scanned, all reasons together.
    pub fn not_scanned_total(&self) -> u64 {
        self.over_max_file_size + self.over_memory_caps + self.unreadable
    }

    /// Files a limit kept from at least one plugin: the host's limits and the plugins' caps.
    pub fn limits_exceeded(&self) -> u64 {
        self.over_max_file_size + self.over_memory_caps + self.files_with_skips
    }

    /// The `summary` object: the original fields, then the added ones.
    pub fn to_json(&self, plugins: usize, fail_score: u32) -> Value {
        json!({
            "type": "summary",
            "plugins": plugins,
            "files": self.files,
            "findings": self.findings,
            "detections": self.detections,
            "fail_score": fail_score,
            "errors": self.errors,
            "bytes": self.bytes,
            "findings_by_band": {
                "informational": self.bands[0],
                "suspicious": self.bands[1],
                "malicious": self.bands[2],
            },
            "not_scanned": {
                "max_file_size": self.over_max_file_size,
                "memory_caps": self.over_memory_caps,
                "unreadable": self.unreadable,
            },
            "limits_exceeded": self.limits_exceeded(),
            "plugin_skips": self.skips,
            "plugin_failures": self.failures,
            "excluded": self.excluded,
        })
    }

    /// The human summary, one line per topic (the first always; the others when non-zero),
    /// each without the `plugbox: ` prefix.
    pub fn to_text(&self, plugins: usize, fail_score: u32) -> Vec<String> {
        let mut lines = vec![format!(
            "{} files scanned with {plugins} plugins: {} findings, {} at or above score {fail_score}, {} errors",
            self.files, self.findings, self.detections, self.errors
        )];
        if self.findings > 0 {
            lines.push(format!(
                "findings by band: {} informational (1-29), {} suspicious (30-59), {} malicious (60-100)",
                self.bands[0], self.bands[1], self.bands[2]
            ));
        }
        let not_scanned = self.not_scanned_total();
        if not_scanned > 0 {
            let reasons: Vec<String> = [
                (self.over_max_file_size, "over --max-file-size"),
                (self.over_memory_caps, "over every plugin's memory cap"),
                (self.unreadable, "unreadable"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, why)| format!("{n} {why}"))
            .collect();
            lines.push(format!(
                "{not_scanned} files not scanned: {}",
                reasons.join(", ")
            ));
        }
        if self.files_with_skips > 0 {
            lines.push(format!(
                "{} files over a plugin's memory cap, skipped by it: {}",
                self.files_with_skips,
                by_plugin(&self.skips)
            ));
        }
        if !self.failures.is_empty() {
            lines.push(format!("plugin failures: {}", by_plugin(&self.failures)));
        }
        if self.excluded > 0 {
            lines.push(format!("{} paths excluded", self.excluded));
        }
        lines
    }
}

/// `'A' 2, 'B' 1`, in name order.
fn by_plugin(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(plugin, n)| format!("'{}' {n}", printable(plugin)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_fall_into_bands() {
        let mut summary = Summary::default();
        let findings: Vec<Finding> = [0, 1, 29, 30, 59, 60, 100]
            .iter()
            .map(|&score| Finding::new("p", "t", score, ""))
            .collect();
        summary.findings(&findings, 60);
        assert_eq!(summary.bands, [3, 2, 2]);
        assert_eq!((summary.findings, summary.detections), (7, 2));
    }

    #[test]
    fn the_text_summary_shows_only_what_happened() {
        let mut summary = Summary::default();
        assert_eq!(
            summary.to_text(2, 60),
            ["0 files scanned with 2 plugins: 0 findings, 0 at or above score 60, 0 errors"]
        );
        summary.not_scanned(HostLimit::MaxFileSize, &[], 60);
        summary.unreadable();
        summary.excluded = 3;
        summary.skips.insert("B".into(), 1);
        summary.skips.insert("A".into(), 2);
        summary.files_with_skips = 2;
        summary.failures.insert("Trap".into(), 4);
        let text = summary.to_text(2, 60);
        assert_eq!(
            &text[1..],
            [
                "2 files not scanned: 1 over --max-file-size, 1 unreadable",
                "2 files over a plugin's memory cap, skipped by it: 'A' 2, 'B' 1",
                "plugin failures: 'Trap' 4",
                "3 paths excluded",
            ]
        );
        let json = summary.to_json(2, 60);
        assert_eq!(json["limits_exceeded"], 3);
        assert_eq!(json["plugin_skips"], json!({"A": 2, "B": 1}));
        assert_eq!(json["not_scanned"]["unreadable"], 1);
    }
}
