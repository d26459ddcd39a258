//! Helpers shared by the tests of the `plugbox` binary.
#![allow(dead_code)]

use std::process::{Command, Output};

use serde_json::Value;

/// Runs `plugbox ARGS`, with neither the plugin directory nor the log level from the
/// environment.
pub fn plugbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(args)
        .env_remove("PLUGBOX_PLUGINS")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON objects of `--json` output, one per line.
pub fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}
