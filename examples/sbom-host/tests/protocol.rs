//! The diff and bomdrift's plugin protocol v1 with external-process plugins: these run in
//! both builds, with and without `--features wasm-plugins`.

mod common;

use common::*;
use serde_json::Value;

const DIFF: &str = "\
+ colors 1.4.1
+ left-pad 1.3.0
+ ctx 0.2.6
~ event-stream 3.3.5 -> 3.3.6
~ express 4.18.2 -> 4.19.2
- request 2.88.2
";

#[test]
fn diffs_components_without_plugins() {
    let out = sbom_host(&SAMPLES);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), DIFF);
}

#[test]
fn json_document_has_the_diff_and_component_fields() {
    let (code, doc, _) = json_run(&SAMPLES);
    assert_eq!(code, Some(0));
    let names = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("added"), ["colors", "left-pad", "ctx"]);
    assert_eq!(names("removed"), ["request"]);
    let changed = &doc["changed"][1];
    assert_eq!(
        (
            changed["before"]["version"].as_str(),
            changed["after"]["version"].as_str()
        ),
        (Some("4.18.2"), Some("4.19.2"))
    );
    assert_eq!(
        changed["after"],
        serde_json::json!({
            "name": "express", "version": "4.19.2", "ecosystem": "npm", "purl": "pkg:npm/express@4.19.2",
            "licenses": ["MIT"],
            "hashes": [{"alg": "SHA-512", "value": changed["after"]["hashes"][0]["value"]}],
            "relationship": "direct", "supplier": null,
            "source_url": "https://github.com/expressjs/express", "bom_ref": "express"
        })
    );
    assert_eq!(doc["added"][2]["ecosystem"], "pypi");
    assert_eq!(doc["added"][1]["relationship"], "transitive");
    assert_eq!(doc["plugin_findings"], Value::Array(vec![]));
    assert_eq!(doc["plugin_errors"], Value::Array(vec![]));
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = sbom_host(&["samples/old.cdx.json", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Cargo.toml: not JSON"),
        "{}",
        stderr(&out)
    );
    for (args, expected) in [
        (
            &["--format", "xml", "a", "b"][..],
            "--format xml: expected text or json",
        ),
        (&["--frobnicate", "a", "b"][..], "unknown flag --frobnicate"),
        (
            &["a"][..],
            "expected two SBOMs, OLD.json and NEW.json, got 1",
        ),
        (&["--plugin"][..], "--plugin needs a value"),
        (
            &["--plugin", "nowhere/plugin.toml", "a", "b"][..],
            "plugin manifest nowhere/plugin.toml: No such file",
        ),
    ] {
        let out = sbom_host(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[cfg(unix)]
mod process {
    use super::*;

    /// A plugin that keeps every request it gets and reports one finding per request.
    fn recorder(root: &std::path::Path, name: &str, table: &str) -> std::path::PathBuf {
        let finding = one_finding(name, "info");
        let script = format!(
            "dir=$(dirname \"$0\")\nn=$(ls \"$dir\" | grep -c '^req')\ncat > \"$dir/req$((n + 1000))\"\necho '{finding}'"
        );
        script_plugin(root, name, &script, table)
    }

    fn requests(manifest: &std::path::Path) -> Vec<Value> {
        let dir = manifest.parent().unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("req"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn requests_follow_protocol_v1_in_order() {
        let root = tempfile::tempdir().unwrap();
        let first = recorder(root.path(), "first", "");
        let second = recorder(root.path(), "second", "invoke_on = [\"version-changed\"]");
        let (code, doc, err) = json_run(&[
            "--plugin",
            path(&first),
            "--plugin",
            path(&second),
            SAMPLES[0],
            SAMPLES[1],
        ]);
        assert_eq!(code, Some(0), "{err}");
        let seen: Vec<(String, String)> = findings(&doc)
            .into_iter()
            .map(|(plugin, purl, _, _)| (plugin, purl))
            .collect();
        let expected = [
            ("first", "pkg:npm/colors@1.4.1"),
            ("first", "pkg:npm/left-pad@1.3.0"),
            ("first", "pkg:pypi/ctx@0.2.6"),
            ("first", "pkg:npm/event-stream@3.3.6"),
            ("first", "pkg:npm/express@4.19.2"),
            ("second", "pkg:npm/event-stream@3.3.6"),
            ("second", "pkg:npm/express@4.19.2"),
        ];
        assert_eq!(seen, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
        assert_eq!(doc["plugin_findings"][0]["kind"], "first");
        assert_eq!(doc["plugin_findings"][0]["rule_id"], "first.rule");

        let requests = requests(&first);
        assert_eq!(requests.len(), 5);
        let added = &requests[0];
        assert_eq!(added["protocol_version"], 1);
        assert_eq!(added["event"], "added");
        assert_eq!(added["before"], Value::Null);
        assert_eq!(added["component"]["purl"], "pkg:npm/colors@1.4.1");
        assert_eq!(added["component"]["supplier"], "Marak");
        let changed = &requests[3];
        assert_eq!(changed["event"], "version-changed");
        assert_eq!(changed["component"]["version"], "3.3.6");
        assert_eq!(changed["before"]["version"], "3.3.5");
        let fields: Vec<&str> = added["component"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected_fields = [
            "name",
            "version",
            "ecosystem",
            "purl",
            "licenses",
            "hashes",
            "relationship",
            "supplier",
            "source_url",
            "bom_ref",
        ];
        expected_fields.sort();
        let mut fields = fields;
        fields.sort();
        assert_eq!(fields, expected_fields);
    }

    #[test]
    fn an_error_finding_exits_1_and_text_output_shows_it() {
        let root = tempfile::tempdir().unwrap();
        let finding = one_finding("bad", "error");
        let plugin = script_plugin(
            root.path(),
            "strict",
            &format!("cat >/dev/null; echo '{finding}'"),
            "invoke_on = [\"added\"]",
        );
        let out = sbom_host(&["--plugin", path(&plugin), SAMPLES[0], SAMPLES[1]]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.starts_with(DIFF));
        assert!(
            text.contains(
                "! pkg:npm/colors@1.4.1 [error] bad by 'strict': bad says hi (bad.rule)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn failed_invocations_drop_their_findings_and_are_reported() {
        let root = tempfile::tempdir().unwrap();
        let good = one_finding("good", "warning");
        let plugins = [
            script_plugin(
                root.path(),
                "exits-3",
                "echo 'partial' ; echo 'went wrong' >&2; exit 3",
                "",
            ),
            script_plugin(root.path(), "not-json", "echo 'findings: none'", ""),
            script_plugin(
                root.path(),
                "no-findings-key",
                "echo '{\"results\": []}'",
                "",
            ),
            script_plugin(
                root.path(),
                "sleeps",
                "sleep 5",
                "timeout_ms = 100\ninvoke_on = [\"added\"]",
            ),
            script_plugin(root.path(), "floods", "yes '{}'", "invoke_on = [\"added\"]"),
            script_plugin(
                root.path(),
                "closes-pipes",
                "cat >/dev/null; echo '{\"findings\": []}'; exec >&- 2>&-; sleep 5",
                "timeout_ms = 200\ninvoke_on = [\"added\"]",
            ),
            script_plugin(
                root.path(),
                "background-job",
                "cat >/dev/null; sh -c 'echo $$ >> \"$(dirname \"$0\")/jobs\"; exec sleep 30' \"$0\" & echo '{\"findings\": []}'",
                "timeout_ms = 200\ninvoke_on = [\"added\"]",
            ),
            script_plugin(
                root.path(),
                "odd-severity",
                "echo '{\"findings\": [{\"kind\": \"k\", \"message\": \"lost\", \"severity\": \"info\", \"rule_id\": \"r\"}, {\"kind\": \"k\", \"message\": \"m\", \"severity\": \"critical\", \"rule_id\": \"r\"}]}'",
                "invoke_on = [\"version-changed\"]",
            ),
            script_plugin(
                root.path(),
                "good",
                &format!("echo '{good}'"),
                "invoke_on = [\"added\"]",
            ),
        ];
        let mut args = Vec::new();
        for p in &plugins {
            args.extend(["--plugin", path(p)]);
        }
        args.extend(SAMPLES);
        let started = std::time::Instant::now();
        let (code, doc, err) = json_run(&args);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "timeouts hold"
        );
        assert_eq!(code, Some(0), "best effort: failures are warnings; {err}");
        let found = findings(&doc);
        assert_eq!(
            found.iter().filter(|f| f.0 == "good").count(),
            3,
            "{found:?}"
        );
        assert_eq!(found.len(), 3, "{found:?}");
        let errors = errors(&doc);
        let reasons = |plugin: &str| -> Vec<String> {
            errors
                .iter()
                .filter(|e| e.0 == plugin)
                .map(|e| e.2.clone())
                .collect()
        };
        assert_eq!(reasons("exits-3").len(), 5);
        assert!(
            reasons("exits-3")[0]
                .starts_with("exited with code 3; stderr: went wrong; findings dropped"),
            "{errors:?}"
        );
        assert!(
            reasons("not-json")[0].starts_with("output is not one JSON object (15 bytes)"),
            "{errors:?}"
        );
        assert_eq!(
            reasons("no-findings-key")[0],
            "output has no \"findings\" key; findings dropped"
        );
        assert_eq!(
            reasons("sleeps"),
            vec!["timed out after 100 ms; findings dropped"; 3]
        );
        // Exiting late with its pipes closed, or leaving a job behind that holds them, is a
        // timeout too; the job is killed with the plugin's process group.
        for plugin in ["closes-pipes", "background-job"] {
            assert_eq!(
                reasons(plugin),
                vec!["timed out after 200 ms; findings dropped"; 3]
            );
        }
        let jobs = std::fs::read_to_string(root.path().join("background-job/jobs")).unwrap();
        assert_eq!(jobs.lines().count(), 3);
        for pid in jobs.lines() {
            // Gone, or a zombie where nothing reaps orphans.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(") ")
                .next()
                .and_then(|rest| rest.chars().next());
            assert!(
                matches!(state, None | Some('Z')),
                "background job {pid} still runs: {stat}"
            );
        }
        assert_eq!(
            reasons("floods"),
            vec!["output too large: more than 1048576 bytes on stdout; findings dropped"; 3]
        );
        assert_eq!(
            reasons("odd-severity"),
            vec![
                "finding 1: severity \"critical\" is not info, warning or error; findings dropped";
                2
            ]
        );
        assert!(err.contains("sbom-host: warning: plugin 'sleeps' on pkg:npm/colors@1.4.1: timed out after 100 ms"), "{err}");

        // --strict-plugins turns any failed invocation into exit 2; the report is still printed.
        let mut strict = vec!["--strict-plugins"];
        strict.extend(&args);
        let (code, doc, _) = json_run(&strict);
        assert_eq!(code, Some(2));
        assert_eq!(findings(&doc).len(), 3);
    }

    #[test]
    fn a_bad_manifest_stops_the_run_before_any_plugin_runs() {
        let root = tempfile::tempdir().unwrap();
        let ran = root.path().join("ran");
        let good = script_plugin(
            root.path(),
            "good",
            &format!("touch {}; echo '{{\"findings\": []}}'", ran.display()),
            "",
        );
        let bad = plugin_dir(
            root.path(),
            "bad",
            "exec = \"x\"\ninvoke_on = [\"removed\"]",
        );
        let missing = plugin_dir(root.path(), "missing", "exec = \"./not-there\"");
        for (manifest, expected) in [
            (
                &bad,
                "unknown variant `removed`, expected `added` or `version-changed`",
            ),
            (&missing, "plugin 'missing': exec"),
        ] {
            let out = sbom_host(&[
                "--plugin",
                path(&good),
                "--plugin",
                path(manifest),
                SAMPLES[0],
                SAMPLES[1],
            ]);
            assert_eq!(out.status.code(), Some(2));
            let err = stderr(&out);
            assert!(
                err.contains(expected) && err.contains(path(manifest.parent().unwrap())),
                "{err}"
            );
            assert!(out.stdout.is_empty());
            assert!(!ran.exists(), "no plugin runs when a manifest is bad");
        }
    }
}

#[cfg(not(feature = "wasm-plugins"))]
#[test]
fn without_the_feature_wasm_plugins_are_refused_with_a_hint() {
    let root = tempfile::tempdir().unwrap();
    let manifest = plugin_dir(root.path(), "w", "exec = \"w.wasm\"");
    for args in [
        vec!["--plugin", path(&manifest), SAMPLES[0], SAMPLES[1]],
        vec![
            "--plugin",
            "plugins/banned-packages/plugin.toml",
            SAMPLES[0],
            SAMPLES[1],
        ],
        vec!["--plugins", "plugins/env-abi", SAMPLES[0], SAMPLES[1]],
    ] {
        let out = sbom_host(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("rebuild with --features wasm-plugins"),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }
}
