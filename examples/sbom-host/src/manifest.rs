//! Plugin manifests: the SBOM differ's TOML `[plugin]` table, plus the keys WebAssembly
//! plugins take (`type`, `max_memory_mb`, `filesystem`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The protocol version sent on every request.
pub const PROTOCOL_VERSION: u32 = 1;
const DEFAULT_TIMEOUT_MS: u64 = 5000;
const DEFAULT_MAX_MEMORY_MB: u32 = 64;
/// The largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// The events a plugin can ask to be invoked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Added,
    VersionChanged,
}

impl Event {
    /// The event's name on the wire.
    pub fn as_wire(self) -> &'static str {
        match self {
            Event::Added => "added",
            Event::VersionChanged => "version-changed",
        }
    }
}

/// How a plugin runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An executable run once per invocation, unsandboxed.
    Process,
    /// A WASI command module run once per invocation in plugbox's sandbox.
    Wasm {
        max_memory_mb: u32,
        /// Read-only access to the manifest's directory at the guest path `/plugin`.
        filesystem: bool,
    },
}

/// A loaded, checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    /// Absolute when the manifest gave a relative path: resolved against the manifest's directory.
    pub exec: PathBuf,
    pub timeout_ms: u64,
    pub invoke_on: Vec<Event>,
    pub kind: Kind,
    /// The manifest's own directory.
    #[cfg_attr(not(feature = "wasm-plugins"), allow(dead_code))]
    pub dir: PathBuf,
}

impl Manifest {
    /// Whether the plugin wants `event`.
    pub fn wants(&self, event: Event) -> bool {
        self.invoke_on.contains(&event)
    }
}

#[derive(Deserialize)]
struct File {
    plugin: Table,
}

#[derive(Deserialize)]
struct Table {
    name: String,
    /// Free-form; read so that a non-string is an error, as in the SBOM differ.
    #[serde(rename = "description")]
    _description: Option<String>,
    exec: PathBuf,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_invoke_on")]
    invoke_on: Vec<Event>,
    #[serde(rename = "type")]
    kind: Option<String>,
    max_memory_mb: Option<u32>,
    filesystem: Option<bool>,
    /// Optional: a plugin written for another protocol version is refused.
    protocol_version: Option<u32>,
    /// Keys this host does not know: newer manifests may add some; they are warned about.
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn default_invoke_on() -> Vec<Event> {
    vec![Event::Added, Event::VersionChanged]
}

/// Reads and checks the manifest at `path`; an error names the file and the key.
pub fn load(path: &Path) -> Result<Manifest, String> {
    let shown = path.display();
    let text = read_bounded(path).map_err(|e| format!("plugin manifest {shown}: {e}"))?;
    parse(&text, path).map_err(|e| format!("plugin manifest {shown}: {e}"))
}

fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(format!("larger than {MAX_MANIFEST_BYTES} bytes"));
    }
    Ok(text)
}

fn parse(text: &str, path: &Path) -> Result<Manifest, String> {
    let table = toml::from_str::<File>(text)
        .map_err(|e| match e.span() {
            Some(span) => {
                let line = text.as_bytes()[..span.start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                format!("line {line}: {}", e.message())
            }
            None => e.message().to_owned(),
        })?
        .plugin;
    for key in table.unknown.keys() {
        eprintln!(
            "sbom-host: warning: plugin manifest {}: unknown key `{key}` ignored",
            path.display()
        );
    }
    if table.name.trim().is_empty() {
        return Err("`name` is empty".into());
    }
    if table.exec.as_os_str().is_empty() {
        return Err("`exec` is empty".into());
    }
    if let Some(version) = table.protocol_version.filter(|&v| v != PROTOCOL_VERSION) {
        return Err(format!(
            "protocol_version = {version}: this host speaks protocol version {PROTOCOL_VERSION}"
        ));
    }
    if table.timeout_ms == 0 {
        return Err("timeout_ms must be > 0".into());
    }
    let dir = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let exec = if table.exec.is_absolute() {
        table.exec.clone()
    } else {
        dir.join(&table.exec)
    };
    let is_wasm = match table.kind.as_deref() {
        None => table.exec.extension().is_some_and(|e| e == "wasm"),
        Some("wasm") => true,
        Some("process") => false,
        Some(other) => {
            return Err(format!(
                "type = \"{other}\": expected \"process\" or \"wasm\""
            ));
        }
    };
    let kind = if is_wasm {
        let max_memory_mb = table.max_memory_mb.unwrap_or(DEFAULT_MAX_MEMORY_MB);
        let (low, high) = plugin_limits::MEMORY_MB;
        if !(low..=high).contains(&max_memory_mb) {
            return Err(format!(
                "max_memory_mb = {max_memory_mb}: must be {low} to {high}"
            ));
        }
        if table.timeout_ms > plugin_limits::MAX_TIMEOUT_MS {
            return Err(format!(
                "timeout_ms = {}: a WebAssembly plugin's budget is at most {} ms",
                table.timeout_ms,
                plugin_limits::MAX_TIMEOUT_MS
            ));
        }
        Kind::Wasm {
            max_memory_mb,
            filesystem: table.filesystem.unwrap_or(false),
        }
    } else {
        for (key, given) in [
            ("max_memory_mb", table.max_memory_mb.is_some()),
            ("filesystem", table.filesystem.is_some()),
        ] {
            if given {
                return Err(format!(
                    "`{key}` applies to type = \"wasm\" plugins only; a process plugin is not sandboxed"
                ));
            }
        }
        Kind::Process
    };
    Ok(Manifest {
        name: table.name,
        exec,
        timeout_ms: table.timeout_ms,
        invoke_on: table.invoke_on,
        kind,
        dir,
    })
}

/// The bounds plugbox enforces, also in a build without it, so a manifest means the same in both.
mod plugin_limits {
    /// `max_memory_mb`, inclusive (plugbox's `limits::MAX_MEMORY_MB_RANGE`).
    pub const MEMORY_MB: (u32, u32) = (1, 4096);
    /// `timeout_ms` of a WebAssembly plugin (plugbox's `limits::MAX_EXEC_MS_RANGE`).
    pub const MAX_TIMEOUT_MS: u64 = 600_000;

    #[cfg(all(test, feature = "wasm-plugins"))]
    #[test]
    fn match_plugbox() {
        assert_eq!(MEMORY_MB, plugbox::limits::MAX_MEMORY_MB_RANGE);
        assert_eq!(
            MAX_TIMEOUT_MS,
            u64::from(plugbox::limits::MAX_EXEC_MS_RANGE.1)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(body: &str) -> Result<Manifest, String> {
        parse(body, Path::new("/plugins/demo/plugin.toml"))
    }

    #[test]
    fn minimal_manifest_takes_the_defaults() {
        let m = manifest("[plugin]\nname = \"demo\"\nexec = \"./run.sh\"\n").unwrap();
        assert_eq!((m.name.as_str(), m.timeout_ms), ("demo", 5000));
        assert_eq!(m.invoke_on, [Event::Added, Event::VersionChanged]);
        assert_eq!(m.exec, Path::new("/plugins/demo/./run.sh"));
        assert_eq!(m.kind, Kind::Process);
    }

    #[test]
    fn wasm_by_extension_or_type() {
        let m = manifest("[plugin]\nname = \"d\"\nexec = \"d.wasm\"\n").unwrap();
        assert_eq!(
            m.kind,
            Kind::Wasm {
                max_memory_mb: 64,
                filesystem: false
            }
        );
        let m = manifest(
            "[plugin]\nname = \"d\"\nexec = \"/abs/d\"\ntype = \"wasm\"\nmax_memory_mb = 16\nfilesystem = true\ninvoke_on = [\"added\"]\ntimeout_ms = 10\n",
        )
        .unwrap();
        assert_eq!(
            m.kind,
            Kind::Wasm {
                max_memory_mb: 16,
                filesystem: true
            }
        );
        assert_eq!(
            (m.exec.as_path(), m.invoke_on.as_slice(), m.timeout_ms),
            (Path::new("/abs/d"), &[Event::Added][..], 10)
        );
        let m =
            manifest("[plugin]\nname = \"d\"\nexec = \"d.wasm\"\ntype = \"process\"\n").unwrap();
        assert_eq!(m.kind, Kind::Process);
    }

    #[test]
    fn bad_manifests_name_the_key() {
        for (body, expected) in [
            ("[plugin]\nname = \"d\"\n", "missing field `exec`"),
            ("[plugin]\nexec = \"x\"\n", "missing field `name`"),
            ("name = \"d\"\n", "missing field `plugin`"),
            (
                "[plugin]\nname = \"d\"\nexec = \"x\"\ninvoke_on = [\"removed\"]\n",
                "unknown variant `removed`",
            ),
            (
                "[plugin]\nname = \"d\"\nexec = \"x\"\ntimeout_ms = 0\n",
                "timeout_ms must be > 0",
            ),
            (
                "[plugin]\nname = \"d\"\nexec = \"x\"\ntimeout_ms = -1\n",
                "invalid value",
            ),
            (
                "[plugin]\nname = \"d\"\nexec = \"x\"\ntype = \"docker\"\n",
                "type = \"docker\"",
            ),
            (
                "[plugin]\nname = \"d\"\nexec = \"x.wasm\"\nmax_memory_mb = 0\n",
                "max_memory_mb = 0: must be 1 to 4096",
            ),
            (
                "[plugin]\nname = \"d\"\nexec = \"x.wasm\"\ntimeout_ms = 600001\n",
                "at most 600000 ms",
            ),
            (
                "[plugin]\nname = \"d\"\nexec = \"x\"\nfilesystem = true\n",
                "`filesystem` applies to type = \"wasm\"",
            ),
            ("[plugin]\nname = \" \"\nexec = \"x\"\n", "`name` is empty"),
            (
                "[plugin]\nname = \"d\"\nexec = \"x\"\nprotocol_version = 2\n",
                "protocol_version = 2: this host speaks protocol version 1",
            ),
            ("[plugin\nname = 1", "line 1: unclosed table, expected `]`"),
            (
                "[plugin]\nname = \"d\"\nexec = 7\n",
                "line 3: invalid type: integer `7`",
            ),
        ] {
            let error = manifest(body).unwrap_err();
            assert!(error.contains(expected), "{body:?}: {error}");
        }
    }
}
