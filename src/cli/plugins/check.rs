//! `plugbox plugins check DIR... [--json]`: loads each plugin directory alone, as a scan
//! would, and prints what the plugin is, or every problem found with its fix.

use std::path::Path;

use plugbox::inspect::ModuleInfo;
use plugbox::{HostConfig, Plugin, Registry, printable};
use serde_json::{Value, json};

use super::problems::{Problem, problems};
use super::{BROKEN, OK, say, shown};

/// Checks each directory; exit 0 when every one loads, 2 otherwise.
pub fn check(dirs: &[std::path::PathBuf], json: bool) -> u8 {
    let mut code = OK;
    for dir in dirs {
        // A registry per directory: each plugin is checked alone, so that names cannot clash.
        let config = HostConfig::default();
        let registry = Registry::new(config.clone());
        match registry.load_plugin(dir) {
            Ok(plugin) => match json {
                true => say(
                    json!({"type": "plugin_check", "dir": dir.display().to_string(),
                    "ok": true, "plugin": facts_json(&plugin, dir), "problems": []}),
                ),
                false => print_facts(&plugin, dir),
            },
            Err(failure) => {
                code = BROKEN;
                let found = problems(&config, dir, failure.error());
                match json {
                    true => say(
                        json!({"type": "plugin_check", "dir": dir.display().to_string(),
                        "ok": false, "plugin": null,
                        "problems": found.iter().map(Problem::json).collect::<Vec<_>>()}),
                    ),
                    false => print_problems(dir, failure.plugin(), &found),
                }
            }
        }
    }
    code
}

fn print_problems(dir: &Path, plugin: Option<&str>, found: &[Problem]) {
    let name = plugin
        .map(|name| format!(" (plugin '{}')", printable(name)))
        .unwrap_or_default();
    let count = match found.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    say(format_args!("FAIL {}{name}: {count}", shown(dir)));
    for problem in found {
        say(format_args!("  {}: {}", problem.kind, problem.message));
        say(format_args!("    fix: {}", problem.fix));
    }
}

fn print_facts(plugin: &Plugin, dir: &Path) {
    let manifest = plugin.manifest();
    let asked = manifest.permissions();
    let granted = plugin.grants();
    let info = plugin.module_info();
    let text = |s: &str| printable(s).into_owned();
    say(format_args!("OK {}", shown(dir)));
    say(format_args!(
        "  name: {} {}",
        text(plugin.name()),
        manifest.version()
    ));
    if plugin.guest_name().is_some() || plugin.guest_version().is_some() {
        say(format_args!(
            "  guest: {} {}",
            text(plugin.guest_name().unwrap_or("-")),
            text(plugin.guest_version().unwrap_or("-"))
        ));
    }
    say(format_args!("  wasm_file: {}", shown(manifest.wasm_file())));
    say(format_args!("  input: {}", manifest.input().name()));
    say(format_args!(
        "  file_types: {}",
        text(&manifest.file_types().join(", "))
    ));
    say(format_args!(
        "  platforms: {}",
        text(&manifest.platforms().join(", "))
    ));
    say(format_args!(
        "  permissions: filesystem {}, max_memory_mb {}, max_exec_ms {}{}",
        granted.filesystem,
        granted.max_memory_mb,
        granted.max_exec_ms,
        match (asked.max_memory_mb, asked.max_exec_ms)
            == (granted.max_memory_mb, granted.max_exec_ms)
        {
            true => String::new(),
            false => format!(
                " (asked for max_memory_mb {}, max_exec_ms {}; lowered to the host's ceilings)",
                asked.max_memory_mb, asked.max_exec_ms
            ),
        }
    ));
    say(format_args!("  imports: {}", info.imports.len()));
    for import in &info.imports {
        say(format_args!(
            "    {}.{}: {}",
            text(&import.module),
            text(&import.name),
            import.ty
        ));
    }
    say(format_args!("  exports: {}", info.exports.len()));
    for export in &info.exports {
        say(format_args!("    {}: {}", text(&export.name), export.ty));
    }
    say(format_args!("  memory: {}", memory_text(&info)));
    say(format_args!(
        "  pre-initialised: {}",
        if plugin.is_pre_initialized() {
            "yes"
        } else {
            "no"
        }
    ));
    let cost = plugin.load_cost();
    say(format_args!(
        "  load cost: {} fuel, {} us",
        cost.fuel, cost.micros
    ));
    if !plugin.load_findings().is_empty() {
        say(format_args!(
            "  note: reported {} findings while loading, when no file is scanned",
            plugin.load_findings().len()
        ));
    }
}

fn memory_text(info: &ModuleInfo) -> String {
    let Some(memory) = info.memory else {
        return "none exported".into();
    };
    let maximum = match (memory.maximum_pages, memory.maximum_bytes()) {
        (Some(pages), Some(bytes)) => format!("{pages} pages ({bytes} bytes)"),
        _ => "none declared".into(),
    };
    format!(
        "initial {} pages ({} bytes), maximum {maximum}",
        memory.initial_pages,
        memory.initial_bytes()
    )
}

fn facts_json(plugin: &Plugin, dir: &Path) -> Value {
    let manifest = plugin.manifest();
    let granted = plugin.grants();
    let info = plugin.module_info();
    let cost = plugin.load_cost();
    json!({
        "name": plugin.name(),
        "version": manifest.version().to_string(),
        "guest_name": plugin.guest_name(),
        "guest_version": plugin.guest_version(),
        "dir": dir.display().to_string(),
        "wasm_file": manifest.wasm_file().display().to_string(),
        "input": manifest.input().name(),
        "file_types": manifest.file_types(),
        "platforms": manifest.platforms(),
        "permissions": {
            "filesystem": granted.filesystem,
            "max_memory_mb": granted.max_memory_mb,
            "max_exec_ms": granted.max_exec_ms,
        },
        "imports": info.imports.iter().map(|i| json!({
            "module": i.module, "name": i.name, "type": i.ty,
        })).collect::<Vec<_>>(),
        "exports": info.exports.iter().map(|e| json!({
            "name": e.name, "type": e.ty,
        })).collect::<Vec<_>>(),
        "memory": info.memory.map(|m| json!({
            "initial_pages": m.initial_pages,
            "initial_bytes": m.initial_bytes(),
            "maximum_pages": m.maximum_pages,
            "maximum_bytes": m.maximum_bytes(),
        })),
        "pre_initialized": plugin.is_pre_initialized(),
        "load_cost": {"fuel": cost.fuel, "micros": cost.micros},
        "load_findings": plugin.load_findings().len(),
    })
}
