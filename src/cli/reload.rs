//! Hot reload in `--files-from` mode: what a reload of the plugin directory changed, and how
//! it is shown (a human line on stderr; with `--json`, an object of type `reload`).

use std::path::{Path, PathBuf};

use plugbox::{Registry, printable};
use serde_json::{Value, json};

/// One plugin directory a reload touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadEntry {
    /// The plugin's directory.
    pub plugin_dir: PathBuf,
    /// The plugin's manifest name; `None` when the manifest could not be read.
    pub plugin: Option<String>,
    /// Why it failed (for `failed` entries).
    pub reason: Option<String>,
}

impl ReloadEntry {
    /// The JSON object of one entry: `plugin_dir`, `plugin`, and `reason` when there is one.
    fn to_json(&self) -> Value {
        let mut value = json!({
            "plugin_dir": self.plugin_dir.to_string_lossy(),
            "plugin": self.plugin,
        });
        if let Some(reason) = &self.reason {
            value["reason"] = json!(reason);
        }
        value
    }

    /// `name (dir)`, `name (dir): reason`, or `dir` alone when there is no name.
    fn to_text(&self) -> String {
        let dir = self.plugin_dir.to_string_lossy();
        let mut text = match &self.plugin {
            Some(name) => format!("{name} ({dir})"),
            None => dir.into_owned(),
        };
        if let Some(reason) = &self.reason {
            text += ": ";
            text += reason;
        }
        printable(&text).into_owned()
    }
}

/// What one reload of the plugin directory changed. Empty when nothing did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadEvent {
    /// New plugin directories, now loaded.
    pub added: Vec<ReloadEntry>,
    /// Plugins whose manifest or module changed, now reloaded.
    pub changed: Vec<ReloadEntry>,
    /// Plugin directories that are gone, their plugins dropped.
    pub removed: Vec<ReloadEntry>,
    /// Plugin directories that no longer load (a changed plugin's old version is dropped),
    /// each with its `reason`.
    pub failed: Vec<ReloadEntry>,
}

impl ReloadEvent {
    /// Whether the reload changed nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.failed.is_empty()
    }

    /// `{"type": "reload", "added": [...], "changed": [...], "removed": [...], "failed": [...]}`.
    pub fn to_json(&self) -> Value {
        let list = |entries: &[ReloadEntry]| -> Vec<Value> {
            entries.iter().map(ReloadEntry::to_json).collect()
        };
        json!({
            "type": "reload",
            "added": list(&self.added),
            "changed": list(&self.changed),
            "removed": list(&self.removed),
            "failed": list(&self.failed),
        })
    }

    /// `plugbox: plugins reloaded: added X (dir), changed Y (dir), removed Z (dir), failed W
    /// (dir): reason`, without the `plugbox: ` prefix.
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        for (word, entries) in [
            ("added", &self.added),
            ("changed", &self.changed),
            ("removed", &self.removed),
            ("failed", &self.failed),
        ] {
            parts.extend(entries.iter().map(|e| format!("{word} {}", e.to_text())));
        }
        format!("plugins reloaded: {}", parts.join(", "))
    }
}

/// Picks up added, changed and removed plugin directories under `plugin_dir` into
/// `registry`, and returns what changed. Called between two files, at most once a second,
/// in `--files-from` mode only.
///
/// PLACEHOLDER: the library's `Registry` has no reload yet; until it is wired to it, this
/// reports no change.
pub fn check_plugin_changes(registry: &Registry, plugin_dir: &Path) -> ReloadEvent {
    let _ = (registry, plugin_dir);
    ReloadEvent::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &str, plugin: Option<&str>, reason: Option<&str>) -> ReloadEntry {
        ReloadEntry {
            plugin_dir: dir.into(),
            plugin: plugin.map(str::to_owned),
            reason: reason.map(str::to_owned),
        }
    }

    fn event() -> ReloadEvent {
        ReloadEvent {
            added: vec![entry("p/new", Some("New"), None)],
            changed: vec![entry("p/mod", Some("Mod"), None)],
            removed: vec![entry("p/old", Some("Old"), None)],
            failed: vec![entry(
                "p/bad",
                None,
                Some("plugin.json: field `name`\x1b[2J"),
            )],
        }
    }

    #[test]
    fn reload_events_print_as_one_line() {
        assert_eq!(
            event().to_text(),
            "plugins reloaded: added New (p/new), changed Mod (p/mod), removed Old (p/old), \
             failed p/bad: plugin.json: field `name`\\u{1b}[2J"
        );
        assert!(ReloadEvent::default().is_empty() && !event().is_empty());
    }

    #[test]
    fn reload_events_as_json() {
        assert_eq!(
            event().to_json(),
            json!({
                "type": "reload",
                "added": [{"plugin_dir": "p/new", "plugin": "New"}],
                "changed": [{"plugin_dir": "p/mod", "plugin": "Mod"}],
                "removed": [{"plugin_dir": "p/old", "plugin": "Old"}],
                "failed": [{"plugin_dir": "p/bad", "plugin": null,
                            "reason": "plugin.json: field `name`\x1b[2J"}],
            })
        );
    }

    #[test]
    fn the_placeholder_reports_no_change() {
        let registry = Registry::new(plugbox::HostConfig::default());
        assert!(check_plugin_changes(&registry, Path::new("p")).is_empty());
    }
}
