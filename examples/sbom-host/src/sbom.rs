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

    /// What identifies a component across two SBOMs: its ecosystem and name.
    fn key(&self) -> (String, String) {
        (self.ecosystem.clone(), self.name.clone())
    }
}

/// Reads the components of a CycloneDX JSON document.
pub fn load(path: &str) -> Result<Vec<Component>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let sbom: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    let list = sbom["components"]
        .as_array()
        .ok_or_else(|| format!("{path}: no \"components\" array (CycloneDX JSON expected)"))?;
    let direct = direct_refs(&sbom);
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            component(c, direct.as_ref()).map_err(|e| format!("{path}: component {i}: {e}"))
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

/// What changed between two SBOMs, each list in (ecosystem, name) order.
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

/// Components are the same when their ecosystem and name are; a later duplicate replaces an
/// earlier one.
pub fn diff(old: Vec<Component>, new: Vec<Component>) -> ChangeSet {
    let by_key = |list: Vec<Component>| -> BTreeMap<_, _> {
        list.into_iter().map(|c| (c.key(), c)).collect()
    };
    let mut old = by_key(old);
    let mut changes = ChangeSet::default();
    for (key, after) in by_key(new) {
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
}
