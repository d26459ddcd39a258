//! Running the plugins of a diff: one invocation per (plugin, component, event), plugins in
//! the order given, for each plugin the added components first, then the version changes.

use serde::Serialize;

use crate::manifest::{Event, Kind, Manifest};
use crate::process::ProcessPlugin;
use crate::protocol::{self, Severity};
use crate::sbom::{ChangeSet, Component};

/// A finding, with the plugin and component it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginFinding {
    pub plugin_name: String,
    pub component_purl: String,
    pub kind: String,
    pub message: String,
    pub severity: Severity,
    pub rule_id: String,
}

/// An invocation whose findings were dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginError {
    pub plugin_name: String,
    pub component_purl: String,
    pub reason: String,
}

/// Everything the plugins said about a diff.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<PluginFinding>,
    pub errors: Vec<PluginError>,
}

enum Runner {
    Process(ProcessPlugin),
    #[cfg(feature = "wasm-plugins")]
    Wasm(Box<crate::wasm::WasmPlugin>),
}

/// A plugin ready to run.
pub struct Plugin {
    manifest: Manifest,
    runner: Runner,
}

impl Plugin {
    /// Prepares the plugin a manifest describes: checks a process plugin's executable,
    /// compiles a WebAssembly one.
    pub fn new(manifest: Manifest) -> Result<Self, String> {
        let runner = match manifest.kind {
            Kind::Process => Runner::Process(ProcessPlugin::new(&manifest)?),
            #[cfg(feature = "wasm-plugins")]
            Kind::Wasm {
                max_memory_mb,
                filesystem,
            } => {
                let plugin = crate::wasm::WasmPlugin::new(&manifest, max_memory_mb, filesystem)?;
                Runner::Wasm(Box::new(plugin))
            }
            #[cfg(not(feature = "wasm-plugins"))]
            Kind::Wasm { .. } => {
                return Err(format!(
                    "plugin '{}': {} is a WebAssembly plugin and this build has no WebAssembly support; rebuild with --features wasm-plugins",
                    manifest.name,
                    manifest.exec.display()
                ));
            }
        };
        Ok(Self { manifest, runner })
    }

    fn invoke(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        match &self.runner {
            Runner::Process(plugin) => plugin.invoke(request),
            #[cfg(feature = "wasm-plugins")]
            Runner::Wasm(plugin) => plugin.invoke(request),
        }
    }

    fn run_one(
        &self,
        component: &Component,
        event: Event,
        before: Option<&Component>,
        outcome: &mut Outcome,
    ) {
        let purl = component.label();
        let request = protocol::request(component, event, before);
        let stdout = self.invoke(&request);
        match stdout.and_then(|stdout| protocol::response(&stdout)) {
            Ok(findings) => outcome
                .findings
                .extend(findings.into_iter().map(|f| PluginFinding {
                    plugin_name: self.manifest.name.clone(),
                    component_purl: purl.to_owned(),
                    kind: f.kind,
                    message: f.message,
                    severity: f.severity,
                    rule_id: f.rule_id,
                })),
            Err(reason) => outcome.errors.push(PluginError {
                plugin_name: self.manifest.name.clone(),
                component_purl: purl.to_owned(),
                reason: format!("{reason}; findings dropped"),
            }),
        }
    }
}

/// Runs every plugin on the components of `changes` it asks for.
pub fn run(plugins: &[Plugin], changes: &ChangeSet) -> Outcome {
    let mut outcome = Outcome::default();
    for plugin in plugins {
        if plugin.manifest.wants(Event::Added) {
            for component in &changes.added {
                plugin.run_one(component, Event::Added, None, &mut outcome);
            }
        }
        if plugin.manifest.wants(Event::VersionChanged) {
            for change in &changes.changed {
                plugin.run_one(
                    &change.after,
                    Event::VersionChanged,
                    Some(&change.before),
                    &mut outcome,
                );
            }
        }
    }
    outcome
}
