//! A plugbox detection plugin: reports files holding the bytes `MALICIOUS_MARKER`.
//!
//! Each file is scanned in a fresh instance of this module: nothing survives from one file to
//! the next. The `plugbox_guest` crate writes the exports plugbox calls (`scan`, `alloc`,
//! `on_load`, `plugin_name`, `plugin_version`) and wraps the host's imports.

const MARKER: &[u8] = b"MALICIOUS_MARKER";

plugbox_guest::plugin! {
    // Reported by the `plugin_name` export; keep it equal to "name" in plugin.json.
    name: "@@name@@",
    version: env!("CARGO_PKG_VERSION"),
    on_load: on_load,
    scan: scan,
}

/// Runs once, when plugbox loads the plugin; an `Err` refuses the load.
fn on_load() -> Result<(), &'static str> {
    plugbox_guest::info!("loaded, looking for {} bytes", MARKER.len());
    Ok(())
}

/// Called with the whole file; returns the highest score reported (0: clean).
fn scan(data: &[u8]) -> u8 {
    match data.windows(MARKER.len()).position(|w| w == MARKER) {
        Some(offset) => {
            let detail = format!("Found MALICIOUS_MARKER at offset {offset}");
            plugbox_guest::report("Custom.MaliciousMarker", 85, &detail);
            85
        }
        None => 0,
    }
}
