//! Plugin log output reaches the host's `log` at the right level, tagged with the plugin:
//! `log_message` (CONTRACT §4) and WASI stdout/stderr (§6). Own test binary: it installs a
//! global logger.

mod common;

use std::sync::{Mutex, Once};

use common::*;
use serde_json::json;

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// Plugin log records whose message starts with `[plugin]`.
fn records_of(plugin: &str) -> Vec<(log::Level, String)> {
    let tag = format!("[{plugin}] ");
    RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, target, message)| {
            target == plugbox::PLUGIN_LOG_TARGET && message.starts_with(&tag)
        })
        .map(|(level, _, message)| (*level, message[tag.len()..].to_owned()))
        .collect()
}

#[test]
fn log_message_levels_reach_log_tagged_with_the_plugin() {
    capture();
    let plugins = Plugins::new();
    let calls: String = [0, 1, 2, 3, 4, 9, -1]
        .iter()
        .map(|level| format!("(call $log_message (i32.const {level}) (i32.const 0) (i32.const 5))"))
        .collect();
    plugins.add(
        "talker",
        "Talker",
        json!({}),
        &module(1, &format!(r#"(data (i32.const 0) "hello") (func (export "scan") (param i32 i32) (result i32) {calls} (i32.const 0))"#)),
    );
    scan(&plugins.registry(), b"x");
    use log::Level::*;
    let expected: Vec<_> = [Trace, Debug, Info, Warn, Error, Error, Trace]
        .into_iter()
        .map(|level| (level, "hello".to_owned()))
        .collect();
    assert_eq!(records_of("Talker"), expected);
}

#[test]
fn wasi_stdout_and_stderr_become_log_lines() {
    capture();
    // Writes "one\ntwo" to stdout in two pieces and "err\n" to stderr: "one" is a line at
    // once, "two" is flushed at the end of the call.
    let write = |fd: u32, ptr: u32, len: u32| {
        format!(
            "(i32.store (i32.const 200) (i32.const {ptr})) (i32.store (i32.const 204) (i32.const {len}))
             (drop (call $fd_write (i32.const {fd}) (i32.const 200) (i32.const 1) (i32.const 100)))"
        )
    };
    let body = format!("{} {} {}", write(1, 0, 5), write(1, 5, 2), write(2, 16, 4));
    let plugins = Plugins::new();
    plugins.add(
        "stdio",
        "Stdio",
        json!({}),
        &format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "one\ntwo") (data (i32.const 16) "err\n")
              (func (export "scan") (param i32 i32) (result i32) {body} (i32.const 0)))"#
        ),
    );
    scan(&plugins.registry(), b"x");
    use log::Level::*;
    assert_eq!(
        records_of("Stdio"),
        [
            (Info, "one".to_owned()),
            (Warn, "err".to_owned()),
            (Info, "two".to_owned())
        ]
    );
}

#[test]
fn the_host_chooses_the_log_target() {
    capture();
    let plugins = Plugins::new();
    plugins.add(
        "custom",
        "CustomTarget",
        json!({}),
        &module(1, r#"(data (i32.const 0) "hi") (func (export "scan") (param i32 i32) (result i32) (call $log_message (i32.const 2) (i32.const 0) (i32.const 2)) (i32.const 0))"#),
    );
    let registry =
        plugbox::Registry::new(plugbox::HostConfig::default().with_log_target("my_host::plugins"));
    registry.load_dir(plugins.path()).unwrap();
    scan(&registry, b"x");
    let targets: Vec<String> = RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, message)| message == "[CustomTarget] hi")
        .map(|(_, target, _)| target.clone())
        .collect();
    assert_eq!(targets, ["my_host::plugins"]);
}

#[test]
fn lowering_what_a_manifest_states_is_a_warning_lowering_a_default_is_not() {
    capture();
    let plugins = Plugins::new();
    plugins.add(
        "stated",
        "StatedLimits",
        json!({"permissions": {"max_memory_mb": 64, "max_exec_ms": 5000}}),
        MARKER_WAT,
    );
    let mut defaulted = manifest("DefaultLimits");
    defaulted.as_object_mut().unwrap().remove("permissions");
    let dir = plugins.add("defaulted", "DefaultLimits", json!({}), MARKER_WAT);
    std::fs::write(dir.join("plugin.json"), defaulted.to_string()).unwrap();
    let registry = plugbox::Registry::new(
        plugbox::HostConfig::default()
            .with_max_memory_mb(32)
            .with_max_exec_ms(100),
    );
    registry.load_dir(plugins.path()).unwrap();
    // Both get the ceilings; the defaults are the same numbers as the stated values.
    for plugin in registry.plugins() {
        assert_eq!(plugin.grants().max_memory_mb, 32);
        assert_eq!(plugin.grants().max_exec_ms, 100);
    }
    let about = |dir: &str| -> Vec<(log::Level, String)> {
        RECORDS
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, message)| message.contains(&format!("{dir}/plugin.json")))
            .map(|(level, _, message)| (*level, message.clone()))
            .collect()
    };
    let stated = about("stated");
    assert_eq!(stated.len(), 2, "{stated:?}");
    assert!(stated.iter().all(|(level, _)| *level == log::Level::Warn));
    assert!(
        stated[0]
            .1
            .contains("asks for max_memory_mb = 64; the host allows at most 32")
    );
    assert!(
        stated[1]
            .1
            .contains("asks for max_exec_ms = 5000; the host allows at most 100")
    );
    let defaulted = about("defaulted");
    assert_eq!(defaulted.len(), 2, "{defaulted:?}");
    assert!(
        defaulted
            .iter()
            .all(|(level, _)| *level == log::Level::Debug)
    );
    assert!(defaulted[0].1.contains("defaults to max_memory_mb = 64"));
}
