//! sbom-host end to end, with and without `--features wasm-plugins`.

use std::process::{Command, Output};

fn sbom_host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbom-host"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

const DIFF: &str = "\
+ colors 1.4.1
~ event-stream 3.3.5 -> 3.3.6
~ express 4.18.2 -> 4.19.2
+ left-pad 1.3.0
- request 2.88.2
";

#[test]
fn diffs_components_without_plugins() {
    let out = sbom_host(&["samples/old.cdx.json", "samples/new.cdx.json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), DIFF);
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = sbom_host(&["samples/old.cdx.json", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cargo.toml:"));
}

#[cfg(feature = "wasm-plugins")]
#[test]
fn plugins_flag_banned_components() {
    let out = sbom_host(&[
        "--plugins",
        "plugins",
        "samples/old.cdx.json",
        "samples/new.cdx.json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let flagged: Vec<&str> = stdout.lines().filter(|l| l.starts_with('!')).collect();
    assert_eq!(
        flagged,
        [
            "! colors 1.4.1: SBOM.BannedPackage [score 70] by 'Banned Packages': colors@1.4.1: sabotaged by its maintainer: an endless loop on import",
            "! event-stream 3.3.6: SBOM.BannedPackage [score 95] by 'Banned Packages': event-stream@3.3.6: compromised release carrying the flatmap-stream backdoor",
            "! left-pad 1.3.0: SBOM.BannedPackage [score 20] by 'Banned Packages': left-pad@1.3.0: unpublished once and broke builds: pin or vendor it",
        ]
    );
    assert!(stdout.starts_with(DIFF));
}

#[cfg(not(feature = "wasm-plugins"))]
#[test]
fn without_the_feature_plugins_are_refused_with_a_hint() {
    let out = sbom_host(&[
        "--plugins",
        "plugins",
        "samples/old.cdx.json",
        "samples/new.cdx.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rebuild with --features wasm-plugins"));
}
