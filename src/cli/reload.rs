//! Hot reload in `--files-from` mode: what a reload of the plugin directory changed, and how
//! it is shown (a human line on stderr; with `--json`, an object of type `reload`).

use std::path::{Path, PathBuf};

use plugbox::{LoadFailure, PluginChange, Registry, printable};
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
    /// Plugin directories skipped on purpose (another platform, a newer engine version),
    /// each with its `reason`: notes, not errors, as at the start.
    pub skipped: Vec<ReloadEntry>,
}

impl ReloadEvent {
    /// Whether the reload changed nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.failed.is_empty()
            && self.skipped.is_empty()
    }

    /// `{"type": "reload", "added": [...], "changed": [...], "removed": [...], "failed": [...],
    /// "skipped": [...]}`.
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
            "skipped": list(&self.skipped),
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
            ("skipped", &self.skipped),
        ] {
            parts.extend(entries.iter().map(|e| format!("{word} {}", e.to_text())));
        }
        format!("plugins reloaded: {}", parts.join(", "))
    }
}

/// Picks up added, changed and removed plugin directories under `plugin_dir` into
/// `registry` ([`Registry::reload`]), and returns what changed. Called between two files,
/// at most once a second, in `--files-from` mode only. A plugin directory that cannot be
/// read changes nothing and is reported as failed.
pub fn check_plugin_changes(registry: &Registry, plugin_dir: &Path) -> ReloadEvent {
    let report = match registry.reload() {
        Ok(report) => report,
        Err(error) => {
            return ReloadEvent {
                failed: vec![ReloadEntry {
                    plugin_dir: plugin_dir.to_path_buf(),
                    plugin: None,
                    reason: Some(format!("cannot read the plugin directory: {error}")),
                }],
                ..ReloadEvent::default()
            };
        }
    };
    let changes = |list: &[PluginChange]| -> Vec<ReloadEntry> {
        list.iter()
            .map(|change| ReloadEntry {
                plugin_dir: change.dir.clone(),
                plugin: Some(change.plugin.clone()),
                reason: None,
            })
            .collect()
    };
    let failed = |failure: &LoadFailure| ReloadEntry {
        plugin_dir: failure.dir().to_path_buf(),
        plugin: failure.plugin().map(str::to_owned),
        reason: Some(failure.error().to_string()),
    };
    ReloadEvent {
        added: changes(&report.added),
        changed: changes(&report.changed),
        removed: changes(&report.removed),
        failed: report.failed.iter().map(failed).collect(),
        skipped: report.skipped.iter().map(failed).collect(),
    }
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
            skipped: Vec::new(),
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
                "skipped": [],
            })
        );
    }

    #[test]
    fn an_unreadable_plugin_directory_is_a_failed_entry() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).unwrap();
        let registry = Registry::new(plugbox::HostConfig::default());
        registry.load_dir(&plugins).unwrap();
        assert!(check_plugin_changes(&registry, &plugins).is_empty());
        std::fs::remove_dir(&plugins).unwrap();
        let event = check_plugin_changes(&registry, &plugins);
        assert_eq!(event.failed.len(), 1);
        assert!(
            event.failed[0]
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("cannot read the plugin directory")),
            "{event:?}"
        );
    }
}
