//! What a scan produces: findings, and one outcome per plugin that was called
//! (CONTRACT §3 scores, §5 failure reporting). The per-scan caps of §4 are in
//! [`limits`](crate::limits) and enforced in `host/output.rs`.

use crate::limits::MAX_SCORE;

/// Clamps a guest-supplied score to `0..=100`.
pub(crate) fn clamp_score(score: i32) -> u32 {
    score.clamp(0, MAX_SCORE as i32) as u32
}

/// One threat reported by a plugin (or synthesized from its score).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// The manifest name of the plugin that reported it.
    pub plugin: String,
    /// Threat name, e.g. `Custom.MaliciousMarker`.
    pub threat: String,
    /// Score, 0 to 100.
    pub score: u32,
    /// Free-form detail.
    pub detail: String,
}

impl Finding {
    /// A finding, for hosts that add their own to a report (e.g. a file no plugin could
    /// scan). The score is clamped to [`MAX_SCORE`].
    ///
    /// ```
    /// let finding = plugbox::Finding::new("host", "Heuristics.Limits.Exceeded", 60, "too large");
    /// assert_eq!(finding.score, 60);
    /// ```
    pub fn new(
        plugin: impl Into<String>,
        threat: impl Into<String>,
        score: u32,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            plugin: plugin.into(),
            threat: threat.into(),
            score: score.min(MAX_SCORE),
            detail: detail.into(),
        }
    }

    /// The finding made when a plugin returns a non-zero score without reporting anything.
    pub(crate) fn synthesized(plugin: &str, score: u32) -> Self {
        Self {
            plugin: plugin.to_owned(),
            threat: format!("Plugin.{plugin}"),
            score,
            detail: format!("Plugin '{plugin}' returned threat score {score}"),
        }
    }
}

/// What the per-scan caps cut from one plugin's output. All zero in the normal case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Dropped {
    /// Findings beyond [`MAX_FINDINGS_PER_SCAN`](crate::limits::MAX_FINDINGS_PER_SCAN).
    pub findings: u64,
    /// Threat-name bytes beyond [`MAX_THREAT_NAME_BYTES`](crate::limits::MAX_THREAT_NAME_BYTES).
    pub threat_name_bytes: u64,
    /// Detail bytes beyond [`MAX_DETAIL_BYTES`](crate::limits::MAX_DETAIL_BYTES).
    pub detail_bytes: u64,
    /// Log messages dropped whole because the scan's log caps were used up. Once they are,
    /// WASI stdout/stderr output is counted in bytes only, not split into lines.
    pub log_messages: u64,
    /// Log bytes cut, from long messages or dropped ones.
    pub log_bytes: u64,
}

impl Dropped {
    /// Whether anything was cut.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// What calls into a plugin cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CallCost {
    /// Fuel consumed: about one unit per WebAssembly instruction.
    pub fuel: u64,
    /// Wall-clock time, in microseconds.
    pub micros: u64,
}

impl CallCost {
    /// Adds another call's cost to this one.
    pub(crate) fn add(&mut self, other: CallCost) {
        self.fuel = self.fuel.saturating_add(other.fuel);
        self.micros = self.micros.saturating_add(other.micros);
    }
}

/// The step of a plugin's life during which something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Stage {
    /// Instantiation, including the module's start function.
    Instantiate,
    /// The WASI reactor initialiser `_initialize`.
    Initialize,
    /// `on_load`, once at load.
    OnLoad,
    /// Reading `plugin_name` / `plugin_version` at load.
    Identify,
    /// Getting the file data into guest memory (`alloc`, or host-grown memory).
    Transfer,
    /// The `scan` call.
    Scan,
    /// A command plugin's `_start`.
    Start,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Instantiate => "instantiation",
            Stage::Initialize => "_initialize",
            Stage::OnLoad => "on_load",
            Stage::Identify => "plugin_name/plugin_version",
            Stage::Transfer => "data transfer",
            Stage::Scan => "scan",
            Stage::Start => "_start",
        })
    }
}

/// Kinds of failure of a call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FailureKind {
    /// The call used up its `max_exec_ms`.
    Timeout,
    /// The guest trapped (including out-of-bounds pointers handed to host functions and
    /// exhausted call depth).
    Trap,
    /// The guest needed more linear memory than `max_memory_mb`.
    MemoryLimit,
    /// The guest broke the ABI: e.g. `alloc` returned a range outside its memory.
    Abi,
    /// The guest called WASI `proc_exit` with a non-zero code (`exit_code`).
    Exit,
    /// The host cancelled the scan ([`CancelHandle`](crate::CancelHandle)).
    Cancelled,
    /// A command plugin wrote more to stdout than the host's cap.
    OutputLimit,
}

/// A failed call into a plugin, with the stage and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// During which step.
    pub stage: Stage,
    /// Why, in words.
    pub reason: String,
    /// The code passed to `proc_exit`, for [`FailureKind::Exit`].
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub exit_code: Option<i32>,
}

impl Failure {
    /// A failure of `kind` during `stage`.
    pub(crate) fn new(kind: FailureKind, stage: Stage, reason: impl Into<String>) -> Self {
        Self {
            kind,
            stage,
            reason: reason.into(),
            exit_code: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.stage, self.reason)
    }
}

/// How one plugin's run on one file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "status", rename_all = "snake_case"))]
pub enum RunStatus {
    /// `scan` returned this score (clamped).
    Ok {
        /// The clamped score.
        score: u32,
    },
    /// A call failed; findings reported before the failure are kept.
    Failed(Failure),
    /// The plugin was not called for this file.
    Skipped {
        /// Why (e.g. the file cannot fit under the plugin's memory cap).
        reason: String,
    },
}

/// One plugin's run on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PluginRun {
    /// The plugin's manifest name.
    pub plugin: String,
    /// How it ended.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub status: RunStatus,
    /// Fuel and time, summed over instantiation, `alloc` and `scan`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub cost: CallCost,
    /// Largest linear memory the instance held, in bytes.
    pub peak_memory_bytes: usize,
    /// What the per-scan caps cut.
    pub dropped: Dropped,
}

impl PluginRun {
    /// The failure, if the run failed.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.status {
            RunStatus::Failed(failure) => Some(failure),
            _ => None,
        }
    }

    /// The score `scan` returned, if the run succeeded.
    pub fn score(&self) -> Option<u32> {
        match self.status {
            RunStatus::Ok { score } => Some(score),
            _ => None,
        }
    }

    /// Why the plugin was not called, if it was skipped.
    pub fn skip_reason(&self) -> Option<&str> {
        match &self.status {
            RunStatus::Skipped { reason } => Some(reason),
            _ => None,
        }
    }
}

/// Everything the plugins said about one input.
///
/// ```
/// # use plugbox::{HostConfig, Input, Registry};
/// # let registry = Registry::new(HostConfig::default());
/// # registry.load_dir("examples/plugins".as_ref())?;
/// let report = registry.scan(Input::new(b"MALICIOUS_MARKER").path("upload.bin"));
/// for finding in &report.findings {
///     println!("{}: {} ({})", finding.plugin, finding.threat, finding.score);
/// }
/// for (plugin, failure) in report.failures() {
///     eprintln!("{plugin} failed: {failure}");
/// }
/// for (plugin, reason) in report.skipped() {
///     eprintln!("{plugin} did not run: {reason}");
/// }
/// assert!(report.is_complete());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ScanReport {
    /// Findings of all plugins, in plugin order.
    pub findings: Vec<Finding>,
    /// One entry per plugin called (plugins whose `file_types` exclude the input are absent).
    pub runs: Vec<PluginRun>,
}

impl ScanReport {
    /// Highest finding score, 0 if none.
    pub fn max_score(&self) -> u32 {
        self.findings.iter().map(|f| f.score).max().unwrap_or(0)
    }

    /// The plugins whose run failed, with the failure.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &Failure)> {
        self.runs
            .iter()
            .filter_map(|run| Some((run.plugin.as_str(), run.failure()?)))
    }

    /// The plugins that were not called on this input, with the reason (e.g. it does not fit
    /// under the plugin's memory cap).
    pub fn skipped(&self) -> impl Iterator<Item = (&str, &str)> {
        self.runs
            .iter()
            .filter_map(|run| Some((run.plugin.as_str(), run.skip_reason()?)))
    }

    /// Whether every plugin called ran to the end: no failure, no skip.
    pub fn is_complete(&self) -> bool {
        self.runs.iter().all(|run| run.score().is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_clamp_at_both_ends() {
        assert_eq!(clamp_score(-5), 0);
        assert_eq!(clamp_score(i32::MIN), 0);
        assert_eq!(clamp_score(55), 55);
        assert_eq!(clamp_score(1000), 100);
    }

    #[test]
    fn synthesized_finding_follows_the_contract() {
        let f = Finding::synthesized("Foo", 42);
        assert_eq!(f.threat, "Plugin.Foo");
        assert_eq!(f.detail, "Plugin 'Foo' returned threat score 42");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn run_serializes_with_stable_flat_fields() {
        let run = PluginRun {
            plugin: "p".into(),
            status: RunStatus::Failed(Failure::new(FailureKind::Timeout, Stage::Scan, "r")),
            cost: CallCost { fuel: 1, micros: 2 },
            peak_memory_bytes: 3,
            dropped: Dropped::default(),
        };
        let v = serde_json::to_value(&run).unwrap();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["kind"], "timeout");
        assert_eq!(v["stage"], "scan");
        assert_eq!(v["fuel"], 1);
        assert_eq!(v["micros"], 2);
        assert_eq!(v["dropped"]["findings"], 0);
    }
}
