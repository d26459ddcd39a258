//! Output: a text report for people, one JSON document for programs. Each is built whole,
//! then written at once.

use std::fmt::Write;

use serde::Serialize;

use crate::plugins::{Outcome, PluginError, PluginFinding};
use crate::sbom::{ChangeSet, Component, VersionChange};

/// `+` added, `~` version changed, `-` removed, then `!` one line per plugin finding.
pub fn text(changes: &ChangeSet, outcome: &Outcome) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    for c in &changes.added {
        let _ = writeln!(out, "+ {} {}", c.name, c.version);
    }
    for c in &changes.changed {
        let _ = writeln!(
            out,
            "~ {} {} -> {}",
            c.after.name, c.before.version, c.after.version
        );
    }
    for c in &changes.removed {
        let _ = writeln!(out, "- {} {}", c.name, c.version);
    }
    for f in &outcome.findings {
        let _ = writeln!(
            out,
            "! {} [{}] {} by '{}': {} ({})",
            f.component_purl,
            f.severity.as_str(),
            f.kind,
            f.plugin_name,
            f.message,
            f.rule_id
        );
    }
    out
}

#[derive(Serialize)]
struct Document<'a> {
    added: &'a [Component],
    removed: &'a [Component],
    changed: &'a [VersionChange],
    plugin_findings: &'a [PluginFinding],
    plugin_errors: &'a [PluginError],
}

/// One JSON document on stdout.
pub fn json(changes: &ChangeSet, outcome: &Outcome) -> String {
    let document = Document {
        added: &changes.added,
        removed: &changes.removed,
        changed: &changes.changed,
        plugin_findings: &outcome.findings,
        plugin_errors: &outcome.errors,
    };
    let mut out = serde_json::to_string_pretty(&document).expect("the report always serialises");
    out.push('\n');
    out
}
