//! banned-packages: a plugin for SBOM differs that speak bomdrift's plugin protocol v1.
//!
//! It reads one request (`{"protocol_version": 1, "component": {...}, "event": ..., "before": ...}`)
//! from stdin and writes `{"findings": [...]}` to stdout: one `error`, `warning` or `info`
//! finding per line of `banned.txt` whose purl prefix matches the component.
//!
//! The same source builds as a native executable (an external-process plugin) and for
//! `wasm32-wasip1` (a WebAssembly plugin, `filesystem = true`): natively `banned.txt` is read
//! next to the executable, in the sandbox from the plugin's directory, which the host maps to
//! `/plugin`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};

/// Exit code when the request or the list cannot be read: the host drops the invocation.
const BAD_INPUT: u8 = 2;

struct Entry {
    prefix: String,
    severity: String,
    reason: String,
}

fn own_dir() -> Result<PathBuf, String> {
    if cfg!(target_os = "wasi") {
        return Ok(PathBuf::from("/plugin"));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my executable: {e}"))?;
    Ok(exe.parent().map(PathBuf::from).unwrap_or_default())
}

fn banned_list() -> Result<Vec<Entry>, String> {
    let path = own_dir()?.join("banned.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("{}:{}", path.display(), number + 1);
        let mut fields = line.split_whitespace();
        let (Some(prefix), Some(severity)) = (fields.next(), fields.next()) else {
            return Err(format!("{}: expected PURL_PREFIX SEVERITY REASON", at()));
        };
        if !matches!(severity, "info" | "warning" | "error") {
            return Err(format!(
                "{}: severity {severity:?} is not info, warning or error",
                at()
            ));
        }
        entries.push(Entry {
            prefix: prefix.to_owned(),
            severity: severity.to_owned(),
            reason: fields.collect::<Vec<_>>().join(" "),
        });
    }
    Ok(entries)
}

/// Whether `prefix` names `purl`: equal, or `purl` goes on at a purl boundary.
fn matches(prefix: &str, purl: &str) -> bool {
    match purl.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => prefix.ends_with(['@', '/']) || rest.starts_with(['@', '?', '#']),
        None => false,
    }
}

fn findings(request: &Value, list: &[Entry]) -> Vec<Value> {
    let component = &request["component"];
    let Some(purl) = component["purl"].as_str() else {
        return Vec::new();
    };
    let was = match request["before"]["version"].as_str() {
        Some(version) if request["event"] == "version-changed" => format!(" (was {version})"),
        _ => String::new(),
    };
    list.iter()
        .filter(|entry| matches(&entry.prefix, purl))
        .map(|entry| {
            json!({
                "kind": "banned-package",
                "message": format!("{purl}{was}: {}", entry.reason),
                "severity": entry.severity,
                "rule_id": "banned-packages.listed",
            })
        })
        .collect()
}

fn run() -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading stdin: {e}"))?;
    let request: Value =
        serde_json::from_slice(&input).map_err(|e| format!("the request is not JSON: {e}"))?;
    if request["protocol_version"] != 1 {
        return Err(format!(
            "protocol_version {} is not 1",
            request["protocol_version"]
        ));
    }
    let list = banned_list()?;
    println!("{}", json!({ "findings": findings(&request, &list) }));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("banned-packages: {message}");
            ExitCode::from(BAD_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn prefixes_match_at_purl_boundaries() {
        assert!(matches("pkg:npm/colors@1.4.1", "pkg:npm/colors@1.4.1"));
        assert!(!matches("pkg:npm/colors@1.4.1", "pkg:npm/colors@1.4.10"));
        assert!(matches(
            "pkg:npm/colors@1.4.1",
            "pkg:npm/colors@1.4.1?repository_url=x"
        ));
        assert!(matches("pkg:npm/left-pad", "pkg:npm/left-pad@1.3.0"));
        assert!(!matches("pkg:npm/left-pad", "pkg:npm/left-pad-ng@1.0.0"));
        assert!(matches("pkg:npm/", "pkg:npm/anything@1"));
        assert!(!matches("pkg:npm/left-pad", "pkg:pypi/left-pad@1"));
    }
}
