//! Protocol v1 on the wire: the request on stdin, the findings on stdout.

use serde::Serialize;
use serde_json::Value;

use crate::manifest::{Event, PROTOCOL_VERSION};
use crate::sbom::Component;

/// The one JSON object a plugin reads from stdin.
#[derive(Serialize)]
struct Request<'a> {
    protocol_version: u32,
    component: &'a Component,
    event: &'static str,
    before: Option<&'a Component>,
}

/// The request bytes for one invocation.
pub fn request(component: &Component, event: Event, before: Option<&Component>) -> Vec<u8> {
    let request = Request {
        protocol_version: PROTOCOL_VERSION,
        component,
        event: event.as_wire(),
        before,
    };
    serde_json::to_vec(&request).expect("a component always serialises")
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "info" => Some(Self::Info),
            "warning" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }

    /// The severity's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One finding as a plugin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    pub kind: String,
    pub message: String,
    pub severity: Severity,
    pub rule_id: String,
}

/// Parses a plugin's stdout: exactly one JSON object with a `findings` array of well-formed
/// findings, whitespace around it allowed. Anything else fails the whole invocation, as in
/// the SBOM differ, where one bad finding (an unknown severity, a missing field) loses them all.
pub fn response(stdout: &[u8]) -> Result<Vec<RawFinding>, String> {
    let value: Value = serde_json::from_slice(stdout.trim_ascii()).map_err(|e| {
        format!(
            "output is not one JSON object ({} bytes): {e}",
            stdout.len()
        )
    })?;
    let findings = value
        .get("findings")
        .ok_or("output has no \"findings\" key")?
        .as_array()
        .ok_or("\"findings\" is not an array")?;
    findings
        .iter()
        .enumerate()
        .map(|(i, finding)| raw_finding(finding).map_err(|why| format!("finding {i}: {why}")))
        .collect()
}

fn raw_finding(value: &Value) -> Result<RawFinding, String> {
    let field = |key: &str| -> Result<String, String> {
        value[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no string \"{key}\""))
    };
    let severity = field("severity")?;
    Ok(RawFinding {
        kind: field("kind")?,
        message: field("message")?,
        severity: Severity::parse(&severity)
            .ok_or_else(|| format!("severity \"{severity}\" is not info, warning or error"))?,
        rule_id: field("rule_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_parse_and_one_bad_finding_fails_them_all() {
        let good =
            r#"{"kind": "k", "message": "m", "severity": "error", "rule_id": "r", "extra": 1}"#;
        let out = format!(r#" {{"findings": [{good}], "other": true}}"#);
        assert_eq!(
            response(out.as_bytes()).unwrap(),
            [RawFinding {
                kind: "k".into(),
                message: "m".into(),
                severity: Severity::Error,
                rule_id: "r".into()
            }]
        );
        let critical = r#"{"kind": "k", "message": "m", "severity": "critical", "rule_id": "r"}"#;
        let out = format!(r#"{{"findings": [{good}, {critical}]}}"#);
        assert_eq!(
            response(out.as_bytes()).unwrap_err(),
            "finding 1: severity \"critical\" is not info, warning or error"
        );
        let no_message = r#"{"kind": "k", "severity": "info", "rule_id": "r"}"#;
        let out = format!(r#"{{"findings": [{no_message}, {good}]}}"#);
        assert_eq!(
            response(out.as_bytes()).unwrap_err(),
            "finding 0: no string \"message\""
        );
    }

    #[test]
    fn bad_output_fails_the_invocation() {
        assert!(
            response(b"")
                .unwrap_err()
                .starts_with("output is not one JSON object (0 bytes)")
        );
        assert!(
            response(b"{\"findings\": []} {}")
                .unwrap_err()
                .contains("trailing characters")
        );
        assert_eq!(
            response(b"{\"finding\": []}").unwrap_err(),
            "output has no \"findings\" key"
        );
        assert_eq!(
            response(b"{\"findings\": {}}").unwrap_err(),
            "\"findings\" is not an array"
        );
        assert_eq!(
            response(b"[]").unwrap_err(),
            "output has no \"findings\" key"
        );
        assert_eq!(
            response(b" {\"findings\": []}\n").unwrap(),
            Vec::<RawFinding>::new()
        );
    }
}
