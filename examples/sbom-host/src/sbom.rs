//! CycloneDX JSON in, the SBOM differ's component model out, and the diff of two SBOMs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

/// One component, as plugins receive it (protocol v1): every field is always present.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    pub version: String,
    /// From the purl's type (`npm`, `pypi`, `cargo`, `maven`, `go`, or the type itself),
    /// else from the CycloneDX component type.
    pub ecosystem: String,
    pub purl: Option<String>,
    pub licenses: Vec<String>,
    pub hashes: Vec<Hash>,
    /// `direct`, `transitive` or `unknown`, from the SBOM's dependency graph.
    pub relationship: &'static str,
    pub supplier: Option<String>,
    pub source_url: Option<String>,
    pub bom_ref: Option<String>,
}

/// A component hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hash {
    pub alg: String,
    pub value: String,
}

impl Component {
    /// The purl, else the name: how findings name their component.
    pub fn label(&self) -> &str {
        self.purl.as_deref().unwrap_or(&self.name)
    }
}

/// What identifies a component across two SBOMs: its purl without the version, qualifiers
/// and subpath (type, namespace and name), else its ecosystem, CycloneDX `group` and name.
/// Two packages of one name in different namespaces (`@angular/core`, `@evil/core`) differ.
fn identity(c: &Value, component: &Component) -> String {
    if let Some(purl) = component.purl.as_deref().filter(|p| p.starts_with("pkg:")) {
        let purl = purl.split(['?', '#']).next().unwrap_or(purl);
        let name_start = purl.rfind('/').map_or(0, |i| i + 1);
        let unversioned = match purl[name_start..].find('@') {
            Some(at) => &purl[..name_start + at],
            None => purl,
        };
        let (kind, rest) = unversioned.split_once('/').unwrap_or((unversioned, ""));
        return format!("{}/{}", kind.to_ascii_lowercase(), rest.replace("%40", "@"));
    }
    let group = c["group"].as_str().unwrap_or_default();
    format!("{}\u{0}{group}\u{0}{}", component.ecosystem, component.name)
}

/// A component with the key that identifies it across SBOMs.
pub type Keyed = (String, Component);

/// Reads the components of a CycloneDX JSON document.
pub fn load(path: &str) -> Result<Vec<Keyed>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let sbom: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    let list = sbom["components"]
        .as_array()
        .ok_or_else(|| format!("{path}: no \"components\" array (CycloneDX JSON expected)"))?;
    let direct = direct_refs(&sbom);
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let component =
                component(c, direct.as_ref()).map_err(|e| format!("{path}: component {i}: {e}"))?;
            Ok((identity(c, &component), component))
        })
        .collect()
}

fn component(c: &Value, direct: Option<&BTreeSet<String>>) -> Result<Component, String> {
    let text = |key: &str| c[key].as_str().map(str::to_owned);
    let name = text("name").ok_or("no \"name\"")?;
    let purl = text("purl");
    let ecosystem = purl
        .as_deref()
        .and_then(ecosystem_from_purl)
        .unwrap_or_else(|| c["type"].as_str().unwrap_or("unknown").to_owned());
    let licenses = c["licenses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let license = &l["license"];
            l["expression"]
                .as_str()
                .or_else(|| license["id"].as_str())
                .or_else(|| license["name"].as_str())
                .map(str::to_owned)
        })
        .collect();
    let hashes = c["hashes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some(Hash {
                alg: h["alg"].as_str()?.to_owned(),
                value: h["content"].as_str()?.to_owned(),
            })
        })
        .collect();
    let source_url = c["externalReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| matches!(r["type"].as_str(), Some("vcs" | "vcs-git")))
        .and_then(|r| r["url"].as_str().map(str::to_owned));
    let bom_ref = text("bom-ref");
    let relationship = match (direct, &bom_ref) {
        (Some(direct), Some(r)) if direct.contains(r) => "direct",
        (Some(_), Some(_)) => "transitive",
        _ => "unknown",
    };
    Ok(Component {
        name,
        version: text("version").unwrap_or_default(),
        ecosystem,
        purl,
        licenses,
        hashes,
        relationship,
        supplier: c["supplier"]["name"].as_str().map(str::to_owned),
        source_url,
        bom_ref,
    })
}

/// The package-url type (between `pkg:` and the first `/` or `@`), normalised.
pub fn ecosystem_from_purl(purl: &str) -> Option<String> {
    let kind = purl.strip_prefix("pkg:")?.split(['/', '@']).next()?;
    Some(match kind {
        "" => return None,
        "golang" => "go".to_owned(),
        other => other.to_ascii_lowercase(),
    })
}

/// The bom-refs the root component (`metadata.component`) depends on directly, when the SBOM
/// has a dependency graph.
fn direct_refs(sbom: &Value) -> Option<BTreeSet<String>> {
    let root = sbom["metadata"]["component"]["bom-ref"].as_str()?;
    let entry = sbom["dependencies"]
        .as_array()?
        .iter()
        .find(|d| d["ref"].as_str() == Some(root))?;
    Some(
        entry["dependsOn"]
            .as_array()?
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
    )
}

/// What changed between two SBOMs, each list in the order of the components' keys.
#[derive(Debug, Default, Serialize)]
pub struct ChangeSet {
    pub added: Vec<Component>,
    pub removed: Vec<Component>,
    /// Same component, another version.
    pub changed: Vec<VersionChange>,
}

/// A component whose version changed.
#[derive(Debug, Serialize)]
pub struct VersionChange {
    pub before: Component,
    pub after: Component,
}

/// Components are the same when their keys are; a later duplicate replaces an earlier one.
pub fn diff(old: Vec<Keyed>, new: Vec<Keyed>) -> ChangeSet {
    let mut old: BTreeMap<_, _> = old.into_iter().collect();
    let mut changes = ChangeSet::default();
    for (key, after) in new.into_iter().collect::<BTreeMap<_, _>>() {
        match old.remove(&key) {
            None => changes.added.push(after),
            Some(before) if before.version != after.version => {
                changes.changed.push(VersionChange { before, after })
            }
            Some(_) => {}
        }
    }
    changes.removed = old.into_values().collect();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ecosystem_comes_from_the_purl_type() {
        assert_eq!(
            ecosystem_from_purl("pkg:npm/axios@1.14.0").as_deref(),
            Some("npm")
        );
        assert_eq!(
            ecosystem_from_purl("pkg:npm/%40babel/core@7.0.0").as_deref(),
            Some("npm")
        );
        assert_eq!(
            ecosystem_from_purl("pkg:PyPI/requests@2.31.0").as_deref(),
            Some("pypi")
        );
        assert_eq!(
            ecosystem_from_purl("pkg:golang/github.com/spf13/cobra@v1.8.0").as_deref(),
            Some("go")
        );
        assert_eq!(
            ecosystem_from_purl("pkg:gem/rails@7.1.0").as_deref(),
            Some("gem")
        );
        assert_eq!(ecosystem_from_purl("pkg:/x"), None);
        assert_eq!(ecosystem_from_purl("not-a-purl"), None);
    }

    #[test]
    fn cyclonedx_fields_map_to_the_protocol_fields() {
        let sbom = json!({
            "metadata": {"component": {"bom-ref": "app"}},
            "dependencies": [{"ref": "app", "dependsOn": ["a"]}],
            "components": [
                {"type": "library", "name": "a", "version": "1", "purl": "pkg:cargo/a@1", "bom-ref": "a",
                 "licenses": [{"expression": "MIT OR Apache-2.0"}, {"license": {"id": "MIT"}}, {"license": {"name": "Custom"}}],
                 "hashes": [{"alg": "SHA-256", "content": "ab"}],
                 "supplier": {"name": "Acme"},
                 "externalReferences": [{"type": "website", "url": "w"}, {"type": "vcs", "url": "https://git/a"}]},
                {"type": "framework", "name": "b", "bom-ref": "b"}
            ]
        });
        let direct = direct_refs(&sbom);
        let a = component(&sbom["components"][0], direct.as_ref()).unwrap();
        assert_eq!(a.ecosystem, "cargo");
        assert_eq!(a.licenses, ["MIT OR Apache-2.0", "MIT", "Custom"]);
        assert_eq!(
            a.hashes,
            [Hash {
                alg: "SHA-256".into(),
                value: "ab".into()
            }]
        );
        assert_eq!(
            (a.relationship, a.supplier.as_deref()),
            ("direct", Some("Acme"))
        );
        assert_eq!(a.source_url.as_deref(), Some("https://git/a"));
        let b = component(&sbom["components"][1], direct.as_ref()).unwrap();
        assert_eq!(
            (b.ecosystem.as_str(), b.version.as_str(), b.relationship),
            ("framework", "", "transitive")
        );
        assert_eq!(
            component(&json!({"version": "1"}), None).unwrap_err(),
            "no \"name\""
        );
    }

    #[test]
    fn components_are_identified_by_namespace_and_name() {
        let keyed = |c: Value| {
            let component = component(&c, None).unwrap();
            (identity(&c, &component), component)
        };
        let old = vec![
            keyed(
                json!({"name": "core", "version": "17.0.0", "purl": "pkg:npm/%40angular/core@17.0.0"}),
            ),
            keyed(
                json!({"name": "commons-lang3", "group": "org.apache.commons", "version": "3.12.0"}),
            ),
            keyed(
                json!({"name": "requests", "version": "2.31.0", "purl": "pkg:pypi/requests@2.31.0?x=1#sub"}),
            ),
            keyed(json!({"name": "gone", "version": "1", "purl": "pkg:cargo/gone@1"})),
        ];
        let new = vec![
            keyed(
                json!({"name": "core", "version": "18.0.0", "purl": "pkg:npm/@angular/core@18.0.0"}),
            ),
            keyed(
                json!({"name": "core", "version": "1.0.0", "purl": "pkg:npm/%40evil/core@1.0.0"}),
            ),
            keyed(
                json!({"name": "commons-lang3", "group": "org.apache.commons", "version": "3.14.0"}),
            ),
            keyed(json!({"name": "commons-lang3", "group": "org.evil", "version": "1.0.0"})),
            keyed(
                json!({"name": "requests", "version": "2.32.0", "purl": "pkg:PyPI/requests@2.32.0"}),
            ),
        ];
        assert_eq!(old[0].0, "pkg:npm/@angular/core");
        let changes = diff(old, new);
        let summary = |list: &[Component]| -> Vec<String> {
            list.iter()
                .map(|c| format!("{} {}", c.label(), c.version))
                .collect()
        };
        assert_eq!(
            summary(&changes.added),
            ["pkg:npm/%40evil/core@1.0.0 1.0.0", "commons-lang3 1.0.0"]
        );
        let changed: Vec<(&str, &str)> = changes
            .changed
            .iter()
            .map(|c| (c.before.version.as_str(), c.after.version.as_str()))
            .collect();
        assert_eq!(
            changed,
            [
                ("17.0.0", "18.0.0"),
                ("2.31.0", "2.32.0"),
                ("3.12.0", "3.14.0")
            ]
        );
        assert_eq!(summary(&changes.removed), ["pkg:cargo/gone@1 1"]);
    }
}
