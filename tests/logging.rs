//! Plugin log messages reach the host's `log` output at the right level, tagged with the
//! plugin (CONTRACT §4). Own test binary: it installs a global logger.

mod common;

use std::sync::Mutex;

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

#[test]
fn log_message_levels_reach_log_tagged_with_the_plugin() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
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
    let registry = plugins.registry();
    RECORDS.lock().unwrap().clear();
    scan(&registry, b"x");
    let got: Vec<_> = RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, target, _)| target == plugbox::host::env::PLUGIN_LOG_TARGET)
        .map(|(level, _, message)| (*level, message.clone()))
        .collect();
    use log::Level::*;
    let expected: Vec<_> = [Trace, Debug, Info, Warn, Error, Error, Trace]
        .into_iter()
        .map(|level| (level, "[Talker] hello".to_owned()))
        .collect();
    assert_eq!(got, expected);
}
