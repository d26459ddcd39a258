//! What a scan produces: findings, and one outcome per plugin that was called
//! (CONTRACT §3 scores, §4 per-scan caps, §5 failure reporting).

use std::borrow::Cow;

pub use crate::sandbox::budget::CallCost;

/// Longest threat name kept, in bytes; the rest is cut and counted in [`Dropped`].
pub const MAX_THREAT_NAME_BYTES: usize = 256;
/// Longest finding detail kept, in bytes.
pub const MAX_DETAIL_BYTES: usize = 4096;
/// Most findings one plugin may report for one file.
pub const MAX_FINDINGS_PER_SCAN: usize = 1000;
/// Longest log message kept, in bytes.
pub const MAX_LOG_MESSAGE_BYTES: usize = 4096;
/// Most log bytes one plugin may emit for one file (or at load), each message's
/// `[plugin] ` prefix included.
pub const MAX_LOG_BYTES_PER_SCAN: usize = 64 * 1024;
/// Most log messages one plugin may emit for one file (or at load), empty ones included.
pub const MAX_LOG_MESSAGES_PER_SCAN: usize = 1024;
/// Highest threat score; scores are clamped to `0..=MAX_SCORE`.
pub const MAX_SCORE: u32 = 100;

/// Clamps a guest-supplied score to `0..=100`.
pub fn clamp_score(score: i32) -> u32 {
    score.clamp(0, MAX_SCORE as i32) as u32
}

/// `text` with control and invisible formatting characters escaped (`\u{1b}`, `\u{202e}`), for showing plugin-chosen text
/// (threat names, details, failure messages) on a terminal: a plugin must not be able to
/// move the cursor, recolour or clear the screen of whoever reads its findings.
///
/// ```
/// assert_eq!(plugbox::findings::printable("Trojan\x1b[2J"), "Trojan\\u{1b}[2J");
/// assert_eq!(plugbox::findings::printable("Good\u{200b}"), "Good\\u{200b}");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unprintable(c) {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Control characters, and the invisible formatting characters that can make text read other
/// than it is (bidirectional overrides, zero-width characters).
pub(crate) fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// One threat reported by a plugin (or synthesized from its score).
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The finding made when a plugin returns a non-zero score without reporting anything.
    pub fn synthesized(plugin: &str, score: u32) -> Self {
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Dropped {
    /// Findings beyond [`MAX_FINDINGS_PER_SCAN`].
    pub findings: u64,
    /// Threat-name bytes beyond [`MAX_THREAT_NAME_BYTES`].
    pub threat_name_bytes: u64,
    /// Detail bytes beyond [`MAX_DETAIL_BYTES`].
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

/// The step of a plugin's life during which something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        })
    }
}

/// Kinds of failure of a call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// A failed call into a plugin, with the stage and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn new(kind: FailureKind, stage: Stage, reason: impl Into<String>) -> Self {
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
}

/// Everything the plugins said about one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

    /// Runs that failed.
    pub fn failures(&self) -> impl Iterator<Item = &PluginRun> {
        self.runs.iter().filter(|run| run.failure().is_some())
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
    fn printable_escapes_control_characters_and_keeps_text() {
        assert_eq!(printable("Trojan.X détail"), "Trojan.X détail");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b[2Jb\nc\u{7}"), "a\\u{1b}[2Jb\\u{a}c\\u{7}");
        assert_eq!(printable("exe.\u{202e}txt"), "exe.\\u{202e}txt");
        assert!(!printable("\u{9b}31m").chars().any(char::is_control));
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
