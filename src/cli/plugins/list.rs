//! `plugbox plugins list [--plugins DIR] [--json]`: loads the plugin directory as
//! `plugbox scan` does and lists the plugins loaded, the ones skipped and the failures.

use std::path::PathBuf;

use plugbox::{HostConfig, Registry, printable};
use serde_json::json;

use super::problems::class;
use super::{BROKEN, OK, say, shown};

/// Lists the plugin directory; exit 0, or 2 when some plugin failed to load (or the
/// directory could not be read).
pub fn list(flag: Option<PathBuf>, json: bool) -> u8 {
    let dir = match super::super::plugin_dir(flag) {
        Ok(dir) => dir,
        Err(message) => {
            super::super::say_error(&message);
            return BROKEN;
        }
    };
    let registry = Registry::new(HostConfig::default());
    if let Err(error) = registry.load_dir(&dir) {
        super::super::say_error(&format!(
            "cannot read the plugin directory {}: {error}",
            shown(&dir)
        ));
        return BROKEN;
    }
    let (plugins, skipped, failures) =
        (registry.plugins(), registry.skipped(), registry.failures());
    for plugin in &plugins {
        let manifest = plugin.manifest();
        let plugin_dir = plugin.dir().map(|d| d.display().to_string());
        if json {
            say(json!({"type": "plugin", "name": plugin.name(),
                "version": manifest.version().to_string(), "dir": plugin_dir,
                "file_types": manifest.file_types(), "input": manifest.input().name(),
                "guest_name": plugin.guest_name(), "guest_version": plugin.guest_version()}));
        } else {
            say(format_args!(
                "plugin  {} {}  {}  input: {}  file_types: {}",
                printable(plugin.name()),
                manifest.version(),
                printable(&plugin_dir.unwrap_or_default()),
                manifest.input().name(),
                printable(&manifest.file_types().join(", "))
            ));
        }
    }
    for skip in &skipped {
        let reason = skip.error().to_string();
        if json {
            say(
                json!({"type": "skipped", "dir": skip.dir().display().to_string(),
                "plugin": skip.plugin(), "kind": class(skip.error()).0, "reason": reason}),
            );
        } else {
            say(format_args!(
                "skipped {}: {}",
                shown(skip.dir()),
                printable(&reason)
            ));
        }
    }
    for failure in &failures {
        let (kind, fix) = class(failure.error());
        if json {
            say(
                json!({"type": "load_error", "dir": failure.dir().display().to_string(),
                "plugin": failure.plugin(), "kind": kind, "error": failure.to_string(),
                "fix": fix}),
            );
        } else {
            say(format_args!("error   {}", printable(&failure.to_string())));
            say(format_args!("          fix: {fix}"));
        }
    }
    if !json {
        say(format_args!(
            "{}: {} loaded, {} skipped, {} failed",
            shown(&dir),
            plugins.len(),
            skipped.len(),
            failures.len()
        ));
    }
    if failures.is_empty() { OK } else { BROKEN }
}
