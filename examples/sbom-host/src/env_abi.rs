//! `--plugins DIR`: PRX-SD-style detection plugins (the `env` ABI, `plugin.json`), which get
//! each component's JSON as a "file" of the type `sbom-component`. Their findings join the
//! command plugins' findings: the threat name is the kind and the rule id, the score's band
//! the severity (60 and up an error, 30 to 59 a warning, below that info).

use std::path::Path;

use plugbox::{HostConfig, Input, Registry};

use crate::plugins::{Outcome, PluginError, PluginFinding};
use crate::protocol::Severity;
use crate::sbom::Component;

/// The type name components are passed with; plugin manifests list it in `file_types`.
pub const COMPONENT_TYPE: &str = "sbom-component";

/// Loads the detection plugins in `dir`; any plugin that fails to load is an error.
pub fn load(dir: &Path) -> Result<Registry, String> {
    let config = HostConfig::default()
        .with_file_types([COMPONENT_TYPE])
        .with_log_target("sbom_host::plugin");
    let registry = Registry::new(config);
    registry
        .load_dir(dir)
        .map_err(|e| format!("--plugins {}: {e}", dir.display()))?;
    if let Some(failure) = registry.failures().iter().find(|f| !f.is_skip()) {
        return Err(format!("--plugins {}: {failure}", dir.display()));
    }
    Ok(registry)
}

/// Scans each component with every detection plugin.
pub fn run<'a>(
    registry: &Registry,
    components: impl Iterator<Item = &'a Component>,
    outcome: &mut Outcome,
) {
    for component in components {
        let json = serde_json::to_string(component).expect("a component always serialises");
        let purl = component.label();
        let report = registry.scan(
            Input::new(json.as_bytes())
                .path(purl)
                .file_type(COMPONENT_TYPE),
        );
        outcome
            .findings
            .extend(report.findings.iter().map(|f| PluginFinding {
                plugin_name: f.plugin.clone(),
                component_purl: purl.to_owned(),
                kind: f.threat.clone(),
                message: f.detail.clone(),
                severity: match f.score {
                    60.. => Severity::Error,
                    30..=59 => Severity::Warning,
                    _ => Severity::Info,
                },
                rule_id: f.threat.clone(),
            }));
        outcome
            .errors
            .extend(report.failures().map(|(plugin, failure)| PluginError {
                plugin_name: plugin.to_owned(),
                component_purl: purl.to_owned(),
                reason: format!("{failure}; findings dropped"),
            }));
    }
}
