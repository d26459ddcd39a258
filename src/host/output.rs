//! What a plugin reports, within the per-scan caps of CONTRACT §4 (the numbers are in
//! [`limits`](crate::limits)): findings, and log lines (`log_message`, WASI stdout/stderr).

use super::HostState;
use crate::findings::{Finding, clamp_score};
use crate::limits::{
    MAX_FINDINGS_PER_SCAN, MAX_LOG_BYTES_PER_SCAN, MAX_LOG_MESSAGE_BYTES, MAX_LOG_MESSAGES_PER_SCAN,
};
use crate::text::printable;

impl HostState {
    pub(crate) fn record_finding(&mut self, threat: String, score: i32, detail: String) {
        if self.findings.len() >= MAX_FINDINGS_PER_SCAN {
            self.dropped.findings = self.dropped.findings.saturating_add(1);
            return;
        }
        self.findings.push(Finding {
            plugin: self.plugin.clone(),
            threat,
            score: clamp_score(score),
            detail,
        });
    }

    /// Whether the per-scan log caps are used up, so that further output is only counted.
    pub(crate) fn log_exhausted(&self) -> bool {
        self.log_messages >= MAX_LOG_MESSAGES_PER_SCAN
            || self.log_bytes + self.log_prefix_bytes() >= MAX_LOG_BYTES_PER_SCAN
    }

    /// What the `[plugin] ` prefix of every log line adds to the log volume.
    fn log_prefix_bytes(&self) -> usize {
        self.plugin.len() + 3
    }

    /// Logs `message` as the plugin, under the host's log target, within the per-scan caps
    /// (messages, and bytes including the prefix); what does not fit is counted in `dropped`.
    pub(crate) fn log(&mut self, level: log::Level, message: &[u8]) {
        if self.log_exhausted() {
            self.dropped.log_messages = self.dropped.log_messages.saturating_add(1);
            self.dropped.log_bytes = self.dropped.log_bytes.saturating_add(message.len() as u64);
            return;
        }
        let room = MAX_LOG_BYTES_PER_SCAN - self.log_bytes - self.log_prefix_bytes();
        let keep = message.len().min(MAX_LOG_MESSAGE_BYTES).min(room);
        self.log_messages += 1;
        self.log_bytes += self.log_prefix_bytes() + keep;
        self.dropped.log_bytes = self
            .dropped
            .log_bytes
            .saturating_add((message.len() - keep) as u64);
        // Control characters are escaped: log lines end up on terminals.
        log::log!(
            target: &self.log_target,
            level,
            "[{}] {}",
            self.plugin,
            printable(&String::from_utf8_lossy(&message[..keep]))
        );
    }
}
