//! `plugbox plugins test DIR... [--json]`: golden tests. `DIR/tests/expected.json` maps
//! sample file names in `DIR/tests/` to the findings expected; each sample is scanned with
//! that plugin alone and the findings compared as multisets.

use std::path::{Path, PathBuf};

use plugbox::{Finding, HostConfig, Registry, ScanReport, file_type, printable};
use serde_json::{Map, Value, json};

use super::{BROKEN, FAILED, OK, say, shown};

/// The file of expectations inside `DIR/tests/`.
const EXPECTED: &str = "expected.json";

/// One expected finding.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    threat: String,
    score: u32,
    /// Compared only when given.
    detail: Option<String>,
}

impl Expected {
    fn matches(&self, found: &Finding) -> bool {
        self.threat == found.threat
            && self.score == found.score
            && self.detail.as_ref().is_none_or(|d| *d == found.detail)
    }

    fn text(&self) -> String {
        let detail = self
            .detail
            .as_ref()
            .map(|d| format!(" ({})", printable(d)))
            .unwrap_or_default();
        format!("{} [score {}]{detail}", printable(&self.threat), self.score)
    }

    fn json(&self) -> Value {
        json!({"threat": self.threat, "score": self.score, "detail": self.detail})
    }
}

fn found_text(found: &Finding) -> String {
    let detail = match found.detail.is_empty() {
        true => String::new(),
        false => format!(" ({})", printable(&found.detail)),
    };
    format!(
        "{} [score {}]{detail}",
        printable(&found.threat),
        found.score
    )
}

fn found_json(found: &Finding) -> Value {
    json!({"threat": found.threat, "score": found.score, "detail": found.detail})
}

/// Runs each directory's golden tests; exit 0 all pass, 1 some failed, 2 some could not run.
pub fn test(dirs: &[PathBuf], json: bool) -> u8 {
    let mut code = OK;
    for dir in dirs {
        let outcome = match test_dir(dir, json) {
            Ok(outcome) => outcome,
            Err(reason) => {
                match json {
                    true => say(json!({"type": "error", "dir": dir.display().to_string(),
                        "reason": reason})),
                    false => super::super::say_error(&printable(&reason)),
                }
                BROKEN
            }
        };
        code = code.max(outcome);
    }
    code
}

/// One directory's tests: `Ok(OK | FAILED)`, or why they could not run.
fn test_dir(dir: &Path, json: bool) -> Result<u8, String> {
    let registry = Registry::new(HostConfig::default());
    registry
        .load_plugin(dir)
        .map_err(|failure| format!("plugins test: the plugin does not load: {failure}"))?;
    let tests = dir.join("tests");
    let cases = read_expected(&tests.join(EXPECTED))?;
    for (sample, _) in &cases {
        let path = tests.join(sample);
        if !path.is_file() {
            return Err(format!(
                "{}: key \"{sample}\": {} does not exist or is not a file",
                tests.join(EXPECTED).display(),
                path.display()
            ));
        }
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (sample, expected) in &cases {
        let path = tests.join(sample);
        let data = plugbox::read_input(&path, registry.max_input_bytes())
            .map_err(|e| format!("{}: cannot read the sample: {e}", path.display()))?;
        let shown_path = path.to_string_lossy().into_owned();
        let kind = file_type::detect(&data);
        let input = plugbox::Input::new(&data).path(&shown_path).file_type(kind);
        let report = registry.scan(input);
        let result = compare(expected, &report);
        let ok = result.ok();
        match ok {
            true => passed += 1,
            false => failed += 1,
        }
        if json {
            say(
                json!({"type": "plugin_test", "dir": dir.display().to_string(),
                "sample": sample, "ok": ok,
                "missing": result.missing.iter().map(|e| e.json()).collect::<Vec<_>>(),
                "extra": result.extra.iter().map(|f| found_json(f)).collect::<Vec<_>>(),
                "problems": result.problems}),
            );
            continue;
        }
        say(format_args!(
            "{} {}",
            if ok { "PASS" } else { "FAIL" },
            shown(&path)
        ));
        for problem in &result.problems {
            say(format_args!("  {}", printable(problem)));
        }
        for missing in &result.missing {
            say(format_args!("  - expected: {}", missing.text()));
        }
        for extra in &result.extra {
            say(format_args!("  + found: {}", found_text(extra)));
        }
        if result.runs == 0 {
            say(format_args!(
                "  note: the plugin does not take this sample's file type ({kind}); see file_types in plugin.json"
            ));
        }
    }
    for unlisted in unlisted(&tests, &cases) {
        match json {
            true => say(json!({"type": "note", "dir": dir.display().to_string(),
                "sample": unlisted, "reason": "not listed in expected.json"})),
            false => say(format_args!(
                "note: {} is not listed in {EXPECTED}: not tested",
                shown(&tests.join(&unlisted))
            )),
        }
    }
    match json {
        true => say(
            json!({"type": "plugin_test_summary", "dir": dir.display().to_string(),
            "passed": passed, "failed": failed}),
        ),
        false => say(format_args!(
            "{}: {passed} passed, {failed} failed",
            shown(dir)
        )),
    }
    Ok(if failed == 0 { OK } else { FAILED })
}

/// How one sample's findings compare with the expected ones.
struct Comparison<'a> {
    missing: Vec<&'a Expected>,
    extra: Vec<&'a Finding>,
    /// Failures and skips of the plugin's run, as text.
    problems: Vec<String>,
    /// How many plugins ran (0: the sample's type is not among the plugin's file types).
    runs: usize,
}

impl Comparison<'_> {
    fn ok(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.problems.is_empty()
    }
}

/// Matches expected findings to found ones, each used once; expectations with a detail
/// first, so that one without takes no finding a more precise one needs.
fn compare<'a>(expected: &'a [Expected], report: &'a ScanReport) -> Comparison<'a> {
    let mut unused: Vec<&Finding> = report.findings.iter().collect();
    let mut ordered: Vec<&Expected> = expected.iter().collect();
    ordered.sort_by_key(|e| e.detail.is_none());
    let mut missing = Vec::new();
    for want in ordered {
        match unused.iter().position(|found| want.matches(found)) {
            Some(i) => {
                unused.remove(i);
            }
            None => missing.push(want),
        }
    }
    // Back in the file's order.
    missing.sort_by_key(|m| expected.iter().position(|e| std::ptr::eq(e, *m)));
    let mut problems: Vec<String> = report
        .failures()
        .map(|(_, failure)| format!("plugin failed: {failure}"))
        .collect();
    problems.extend(
        report
            .skipped()
            .map(|(_, reason)| format!("not scanned: {reason}")),
    );
    Comparison {
        missing,
        extra: unused,
        problems,
        runs: report.runs.len(),
    }
}

/// The expectations, sorted by sample name, or an error naming the file and the key.
fn read_expected(path: &Path) -> Result<Vec<(String, Vec<Expected>)>, String> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{}: no such file; a golden test needs it: an object mapping each sample file in tests/ to the findings expected, e.g. {{\"marked.txt\": [{{\"threat\": \"Custom.Marker\", \"score\": 85}}], \"clean.txt\": []}}",
            path.display()
        ),
        _ => format!("{}: cannot read: {e}", path.display()),
    })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
    let Value::Object(object) = value else {
        return Err(format!(
            "{}: must be a JSON object mapping sample file names to lists of findings",
            path.display()
        ));
    };
    if let Some(key) = duplicate_key(&bytes) {
        return Err(format!(
            "{}: key \"{key}\" is given more than once; list each sample once",
            path.display()
        ));
    }
    let mut cases = Vec::with_capacity(object.len());
    for (sample, findings) in object {
        let at = |reason: String| format!("{}: key \"{sample}\": {reason}", path.display());
        if sample.is_empty()
            || sample.contains(['/', '\\'])
            || sample == "."
            || sample == ".."
            || sample == EXPECTED
        {
            return Err(at(
                "must be the name of a sample file directly inside tests/ (no `/`, not `..`, not expected.json)".into(),
            ));
        }
        let Value::Array(findings) = findings else {
            return Err(at(
                "must be a list of findings, e.g. [{\"threat\": \"Custom.Marker\", \"score\": 85}] or []"
                    .into(),
            ));
        };
        let findings = findings
            .iter()
            .enumerate()
            .map(|(i, f)| expected(f).map_err(|reason| at(format!("finding {}: {reason}", i + 1))))
            .collect::<Result<Vec<_>, _>>()?;
        cases.push((sample, findings));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(cases)
}

/// One expected finding: `{"threat": S, "score": 0-100, "detail"?: S}`.
fn expected(value: &Value) -> Result<Expected, String> {
    let Value::Object(object) = value else {
        return Err(
            "must be an object {\"threat\": S, \"score\": N} (optional \"detail\": S)".into(),
        );
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "threat" | "score" | "detail"))
    {
        return Err(format!(
            "unknown key \"{key}\"; a finding has \"threat\", \"score\" and optionally \"detail\""
        ));
    }
    let threat = string(object, "threat")?.ok_or("\"threat\" is missing")?;
    let score = match object.get("score") {
        None => return Err("\"score\" is missing".into()),
        Some(score) => score
            .as_u64()
            .filter(|s| *s <= u64::from(plugbox::limits::MAX_SCORE))
            .ok_or_else(|| format!("\"score\" must be an integer from 0 to 100, found {score}"))?,
    };
    Ok(Expected {
        threat,
        score: score as u32,
        detail: string(object, "detail")?,
    })
}

fn string(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("\"{key}\" must be a string, found {other}")),
    }
}

/// The files in `tests/` that `expected.json` does not list, sorted.
fn unlisted(tests: &Path, cases: &[(String, Vec<Expected>)]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(tests) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != EXPECTED && !cases.iter().any(|(s, _)| s == name))
        .collect();
    names.sort();
    names
}

/// The first key given twice in the top-level object of `json` (which parses as an object),
/// which a map would silently drop.
fn duplicate_key(json: &[u8]) -> Option<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }
    let Keys(mut keys) = serde_json::from_slice(json).ok()?;
    keys.sort();
    keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0].clone())
}
