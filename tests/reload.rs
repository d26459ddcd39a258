//! Hot reload (CONTRACT §7): `Registry::reload` picks up added, changed and removed plugin
//! directories, keeps unchanged plugins' compiled modules, and never shows a scan a torn set.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{Plugins, module, scan};
use plugbox::{HostConfig, Registry, ReloadReport};
use serde_json::json;

/// A plugin module that reports `threat` (score 50) on every input.
fn reporter(threat: &str) -> String {
    module(
        1,
        &format!(
            r#"(data (i32.const 0) "{threat}")
  (func (export "scan") (param i32 i32) (result i32)
    (call $report_finding (i32.const 0) (i32.const {len}) (i32.const 50) (i32.const 0) (i32.const 0))
    (i32.const 50))"#,
            len = threat.len()
        ),
    )
}

/// The threats a scan of anything reports, sorted.
fn threats(registry: &Registry) -> Vec<String> {
    let mut threats: Vec<String> = scan(registry, b"x")
        .findings
        .into_iter()
        .map(|f| f.threat)
        .collect();
    threats.sort();
    threats
}

/// `(dir name, plugin)` of each change listed.
fn names(changes: &[plugbox::PluginChange]) -> Vec<(String, String)> {
    changes
        .iter()
        .map(|c| {
            let dir = c.dir.file_name().unwrap().to_string_lossy().into_owned();
            (dir, c.plugin.clone())
        })
        .collect()
}

fn summary(report: &ReloadReport) -> [Vec<(String, String)>; 3] {
    [
        names(&report.added),
        names(&report.changed),
        names(&report.removed),
    ]
}

fn pair(dir: &str, plugin: &str) -> Vec<(String, String)> {
    vec![(dir.to_owned(), plugin.to_owned())]
}

/// Sets a file's modification time to `seconds` ago, so that size and time can be trusted.
fn age(path: &std::path::Path, seconds: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(seconds))
        .unwrap();
}

#[test]
fn added_changed_removed_and_unchanged() {
    let plugins = Plugins::new();
    let a = plugins.add("a", "A", json!({}), &reporter("Threat.A"));
    let registry = plugins.registry();
    let first_a = registry.plugin("A").unwrap();
    assert!(registry.reload().unwrap().is_empty());
    assert!(Arc::ptr_eq(&first_a, &registry.plugin("A").unwrap()));

    // Touched but unchanged: size and time differ, the content does not. Still the same
    // compiled plugin.
    age(&a.join("plugin.wasm"), 100);
    age(&a.join("plugin.json"), 100);
    assert!(registry.reload().unwrap().is_empty());
    assert!(Arc::ptr_eq(&first_a, &registry.plugin("A").unwrap()));

    // Added.
    plugins.add("b", "B", json!({}), &reporter("Threat.B"));
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [pair("b", "B"), vec![], vec![]]);
    assert_eq!(threats(&registry), ["Threat.A", "Threat.B"]);
    assert!(Arc::ptr_eq(&first_a, &registry.plugin("A").unwrap()));

    // Module only.
    std::fs::write(
        a.join("plugin.wasm"),
        wat::parse_str(reporter("Threat.A2")).unwrap(),
    )
    .unwrap();
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [vec![], pair("a", "A"), vec![]]);
    assert_eq!(threats(&registry), ["Threat.A2", "Threat.B"]);
    assert!(!Arc::ptr_eq(&first_a, &registry.plugin("A").unwrap()));

    // Manifest only: the granted memory follows it.
    plugins.add(
        "b",
        "B",
        json!({"permissions": {"max_memory_mb": 8}}),
        &reporter("Threat.B"),
    );
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [vec![], pair("b", "B"), vec![]]);
    assert_eq!(registry.plugin("B").unwrap().grants().max_memory_mb, 8);

    // Removed.
    std::fs::remove_dir_all(plugins.path().join("b")).unwrap();
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [vec![], vec![], pair("b", "B")]);
    assert_eq!(threats(&registry), ["Threat.A2"]);
    assert!(registry.reload().unwrap().is_empty());
}

#[test]
fn a_broken_plugin_is_dropped_reported_and_picked_up_when_fixed() {
    let plugins = Plugins::new();
    let a = plugins.add("a", "A", json!({}), &reporter("Threat.A"));
    let registry = plugins.registry();
    std::fs::write(a.join("plugin.wasm"), b"(module)").unwrap();
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [vec![], vec![], pair("a", "A")]);
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].to_string().contains("text format"),
        "{}",
        report.failed[0]
    );
    assert!(registry.plugins().is_empty(), "the old version is dropped");
    assert_eq!(registry.failures().len(), 1);
    assert!(threats(&registry).is_empty());
    // Still broken, unchanged: not reported again.
    assert!(registry.reload().unwrap().is_empty());
    assert_eq!(registry.failures().len(), 1);

    std::fs::write(
        a.join("plugin.wasm"),
        wat::parse_str(reporter("Threat.A")).unwrap(),
    )
    .unwrap();
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [pair("a", "A"), vec![], vec![]]);
    assert!(registry.failures().is_empty());
    assert_eq!(threats(&registry), ["Threat.A"]);
}

/// Rewrites the module of `a` to report `Threat.2` (the same size as `Threat.1`), puts its
/// modification time back, reloads, and checks that the change was seen.
fn rewrite_with_the_old_time_and_reload(registry: &Registry, a: &std::path::Path) {
    let module = a.join("plugin.wasm");
    let old = std::fs::metadata(&module).unwrap().modified().unwrap();
    std::fs::write(&module, wat::parse_str(reporter("Threat.2")).unwrap()).unwrap();
    let file = std::fs::File::options().write(true).open(&module).unwrap();
    file.set_modified(old).unwrap();
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [vec![], pair("a", "A"), vec![]]);
    assert_eq!(threats(registry), ["Threat.2"]);
}

#[test]
fn a_change_in_the_same_clock_tick_is_still_seen() {
    let plugins = Plugins::new();
    let a = plugins.add("a", "A", json!({}), &reporter("Threat.1"));
    let registry = plugins.registry();
    // Within the racy window of the load: the content is checked whatever the stamp says.
    rewrite_with_the_old_time_and_reload(&registry, &a);
}

#[test]
fn single_plugins_memory_plugins_and_name_clashes() {
    let plugins = Plugins::new();
    let registry = Registry::new(HostConfig::default());
    let single = plugins.add("single", "Single", json!({}), &reporter("Threat.S"));
    registry.load_plugin(&single).unwrap();
    let json = serde_json::to_vec(&common::manifest("Memory")).unwrap();
    let wasm = wat::parse_str(reporter("Threat.M")).unwrap();
    registry.add_plugin(&json, &wasm).unwrap();
    let dir = tempfile::tempdir().unwrap();
    registry.load_dir(dir.path()).unwrap();
    assert!(registry.reload().unwrap().is_empty());

    // A new plugin directory may not take a loaded plugin's name.
    let clash = dir.path().join("clash");
    std::fs::create_dir(&clash).unwrap();
    for file in ["plugin.json", "plugin.wasm"] {
        std::fs::copy(single.join(file), clash.join(file)).unwrap();
    }
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [vec![], vec![], vec![]]);
    assert!(
        report.failed[0].to_string().contains("already taken"),
        "{}",
        report.failed[0]
    );

    // When the plugin holding the name goes, the one refused for it loads.
    std::fs::remove_dir_all(&single).unwrap();
    let report = registry.reload().unwrap();
    assert_eq!(
        summary(&report),
        [pair("clash", "Single"), vec![], pair("single", "Single")]
    );
    assert_eq!(report.failed.len(), 1, "the gone directory: {report:?}");
    assert_eq!(
        threats(&registry),
        ["Threat.M", "Threat.S"],
        "the memory plugin stays"
    );
}

#[test]
fn a_module_written_after_its_manifest_is_picked_up() {
    let plugins = Plugins::new();
    let a = plugins.add("a", "A", json!({}), &reporter("Threat.A"));
    let module = std::fs::read(a.join("plugin.wasm")).unwrap();
    std::fs::remove_file(a.join("plugin.wasm")).unwrap();
    let registry = plugins.registry();
    assert_eq!(registry.failures().len(), 1);
    std::fs::write(a.join("plugin.wasm"), module).unwrap();
    age(&a.join("plugin.wasm"), 100);
    let report = registry.reload().unwrap();
    assert_eq!(summary(&report), [pair("a", "A"), vec![], vec![]]);
    assert_eq!(threats(&registry), ["Threat.A"]);
}

#[cfg(unix)]
#[test]
fn a_change_with_its_old_modification_time_put_back_is_seen() {
    let plugins = Plugins::new();
    let a = plugins.add("a", "A", json!({}), &reporter("Threat.1"));
    // Long before the load: the stamp alone is trusted. `cp -p` or `touch -r` put the old
    // modification time back, but the inode change time still moves.
    age(&a.join("plugin.wasm"), 100);
    age(&a.join("plugin.json"), 100);
    let registry = plugins.registry();
    // Past the racy window of the load (aging the files changed them just before it), so
    // that only the stamp can tell.
    std::thread::sleep(Duration::from_millis(2100));
    assert!(registry.reload().unwrap().is_empty());
    rewrite_with_the_old_time_and_reload(&registry, &a);
}

#[test]
fn a_plugin_for_another_platform_is_skipped_not_failed() {
    let plugins = Plugins::new();
    plugins.add("a", "A", json!({}), &reporter("Threat.A"));
    let registry = plugins.registry();
    plugins.add(
        "other",
        "Other",
        json!({"platforms": [if cfg!(windows) { "linux" } else { "windows" }]}),
        &reporter("Threat.O"),
    );
    let report = registry.reload().unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(registry.skipped().len(), 1);
}

#[test]
fn reloads_racing_scans_never_show_a_torn_set() {
    let plugins = Plugins::new();
    plugins.add("a", "A", json!({}), &reporter("Version.1"));
    plugins.add("b", "B", json!({}), &reporter("Version.1"));
    let registry = plugins.registry();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let scanners: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut scans = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let seen = threats(&registry);
                        // Both plugins, each at one version; the two move together.
                        assert_eq!(seen.len(), 2, "{seen:?}");
                        assert_eq!(seen[0], seen[1], "a torn set: {seen:?}");
                        scans += 1;
                    }
                    scans
                })
            })
            .collect();
        for version in 2..40 {
            // Both plugins change, in one reload: a scan sees both old or both new.
            let threat = format!("Version.{version}");
            plugins.add("a", "A", json!({}), &reporter(&threat));
            plugins.add("b", "B", json!({}), &reporter(&threat));
            let report = registry.reload().unwrap();
            assert_eq!(report.changed.len(), 2, "{report:?}");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for scanner in scanners {
            assert!(scanner.join().unwrap() > 0);
        }
    });
    assert_eq!(threats(&registry), ["Version.39", "Version.39"]);
}

#[test]
fn an_unreadable_plugins_directory_changes_nothing() {
    let plugins = Plugins::new();
    plugins.add("a", "A", json!({}), &reporter("Threat.A"));
    let root = tempfile::tempdir().unwrap();
    let moved = root.path().join("plugins");
    std::fs::rename(plugins.path(), &moved).unwrap();
    let registry = Registry::new(HostConfig::default());
    registry.load_dir(&moved).unwrap();
    std::fs::rename(&moved, root.path().join("elsewhere")).unwrap();
    let error = registry.reload().unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(threats(&registry), ["Threat.A"]);
    std::fs::rename(root.path().join("elsewhere"), &moved).unwrap();
    assert!(registry.reload().unwrap().is_empty());
}
