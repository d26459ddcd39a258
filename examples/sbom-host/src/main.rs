//! sbom-host: diffs two CycloneDX-style SBOMs (components added, removed, changed) and, when
//! built with `--features wasm-plugins`, passes each component of the new SBOM, as JSON, to
//! plugbox plugins with the type name `sbom-component`.
//!
//! `sbom-host [--plugins DIR] OLD.json NEW.json`; exit 0, 1 when a plugin finding scores 60
//! or more, 2 on errors.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::Value;

/// Components by name: (version, the component's JSON object).
type Components = BTreeMap<String, (String, Value)>;

struct Args {
    plugins: Option<String>,
    old: String,
    new: String,
}

fn parse_args() -> Result<Args, String> {
    let mut plugins = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--plugins" => plugins = Some(args.next().ok_or("--plugins needs a directory")?),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            _ => files.push(arg),
        }
    }
    let [old, new] = <[String; 2]>::try_from(files)
        .map_err(|_| "usage: sbom-host [--plugins DIR] OLD.json NEW.json".to_string())?;
    Ok(Args { plugins, old, new })
}

fn components(path: &str) -> Result<Components, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let sbom: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let list = sbom["components"]
        .as_array()
        .ok_or_else(|| format!("{path}: no \"components\" array"))?;
    let mut out = Components::new();
    for component in list {
        let name = component["name"]
            .as_str()
            .ok_or_else(|| format!("{path}: a component has no \"name\""))?;
        let version = component["version"].as_str().unwrap_or("").to_owned();
        out.insert(name.to_owned(), (version, component.clone()));
    }
    Ok(out)
}

fn print_diff(old: &Components, new: &Components) {
    for (name, (version, _)) in new {
        match old.get(name) {
            None => println!("+ {name} {version}"),
            Some((before, _)) if before != version => println!("~ {name} {before} -> {version}"),
            Some(_) => {}
        }
    }
    for (name, (version, _)) in old {
        if !new.contains_key(name) {
            println!("- {name} {version}");
        }
    }
}

#[cfg(feature = "wasm-plugins")]
mod plugins {
    use super::Components;
    use plugbox::{HostConfig, Input, Registry};

    /// The type name components are passed with; plugin manifests list it in `file_types`.
    pub const COMPONENT_TYPE: &str = "sbom-component";

    /// Runs the plugins in `dir` on every component; returns the highest score, or an error
    /// when the scan is incomplete.
    pub fn check(dir: &str, components: &Components) -> Result<u32, String> {
        let config = HostConfig::default()
            .with_file_types([COMPONENT_TYPE])
            .with_log_target("sbom_host::plugins");
        let mut registry = Registry::new(config);
        registry
            .load_dir(dir.as_ref())
            .map_err(|e| format!("{dir}: {e}"))?;
        let mut incomplete = registry.failures().len();
        for failure in registry.failures() {
            eprintln!("sbom-host: plugin not loaded: {failure}");
        }
        let mut max = 0;
        for (name, (version, component)) in components {
            let json = component.to_string();
            let label = component["purl"]
                .as_str()
                .map_or_else(|| format!("{name}@{version}"), str::to_owned);
            let component = Input::new(json.as_bytes())
                .path(&label)
                .file_type(COMPONENT_TYPE);
            let report = registry.scan(component);
            for f in &report.findings {
                println!(
                    "! {name} {version}: {} [score {}] by '{}': {}",
                    f.threat, f.score, f.plugin, f.detail
                );
            }
            for (plugin, failure) in report.failures() {
                eprintln!("sbom-host: plugin '{plugin}' on {label}: {failure}");
                incomplete += 1;
            }
            max = max.max(report.max_score());
        }
        if incomplete > 0 {
            return Err(format!(
                "{incomplete} plugin errors; the check is incomplete"
            ));
        }
        Ok(max)
    }
}

fn run() -> Result<u8, String> {
    let args = parse_args()?;
    let old = components(&args.old)?;
    let new = components(&args.new)?;
    print_diff(&old, &new);
    let Some(dir) = args.plugins else {
        return Ok(0);
    };
    #[cfg(feature = "wasm-plugins")]
    {
        let max = plugins::check(&dir, &new)?;
        Ok(if max >= 60 { 1 } else { 0 })
    }
    #[cfg(not(feature = "wasm-plugins"))]
    {
        Err(format!(
            "--plugins {dir}: this build has no plugin support; rebuild with --features wasm-plugins"
        ))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("sbom-host: {message}");
            ExitCode::from(2)
        }
    }
}
