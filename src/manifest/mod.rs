//! `plugin.json`: parsing and every rule of CONTRACT §2.
//!
//! The manifest is read as a JSON object and checked field by field rather than through a
//! derived `Deserialize`, so that each error names the field, what was found and what is
//! accepted (`fields.rs`).

mod fields;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use fields::{Fields, kind};

use crate::config::HostConfig;
use crate::files::ReadError;
use crate::limits::{DEFAULT_MAX_EXEC_MS, DEFAULT_MAX_MEMORY_MB, MAX_MANIFEST_BYTES};

/// The ABI generations this host implements (`protocol_version`).
pub(crate) const SUPPORTED_PROTOCOLS: &[u32] = &[1];
/// Platform names a manifest may list.
pub(crate) const PLATFORMS: &[&str] = &["linux", "macos", "windows", "all"];

/// A validated plugin manifest. It can only be made by [`Manifest::parse`] or
/// [`Manifest::load`], and cannot be changed afterwards, so a `Manifest` always obeys every
/// rule of CONTRACT §2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    name: String,
    version: semver::Version,
    author: String,
    description: String,
    wasm_file: PathBuf,
    platforms: Vec<String>,
    file_types: Vec<String>,
    min_engine_version: semver::Version,
    protocol_version: u32,
    permissions: Permissions,
    input: InputMode,
    /// Whether `max_memory_mb` and `max_exec_ms` were written, rather than defaulted.
    stated_limits: (bool, bool),
    unknown_keys: Vec<String>,
}

impl Manifest {
    /// The plugin's identity in findings: non-empty, at most [`MAX_NAME_BYTES`](crate::limits::MAX_NAME_BYTES), no control
    /// characters.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's own semantic version.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }

    /// Who wrote it.
    pub fn author(&self) -> &str {
        &self.author
    }

    /// What it detects.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Path of the module, relative to the plugin directory (confinement is checked at load).
    pub fn wasm_file(&self) -> &Path {
        &self.wasm_file
    }

    /// Platforms the plugin runs on (`linux`, `macos`, `windows`, `all`).
    pub fn platforms(&self) -> &[String] {
        &self.platforms
    }

    /// File types the plugin wants to see (`all` or names the host knows).
    pub fn file_types(&self) -> &[String] {
        &self.file_types
    }

    /// Oldest plugbox version the plugin works with.
    pub fn min_engine_version(&self) -> &semver::Version {
        &self.min_engine_version
    }

    /// ABI generation (default 1).
    pub fn protocol_version(&self) -> u32 {
        self.protocol_version
    }

    /// Sandbox permissions and limits.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// How the scanned data reaches the plugin (`input`, default `copy`).
    pub fn input(&self) -> InputMode {
        self.input
    }

    /// Whether `permissions.max_memory_mb` and `permissions.max_exec_ms` were written in the
    /// manifest, rather than defaulted.
    pub(crate) fn stated_limits(&self) -> (bool, bool) {
        self.stated_limits
    }

    /// Top-level and `permissions` keys this host does not know (at most
    /// [`MAX_UNKNOWN_KEYS`](crate::limits::MAX_UNKNOWN_KEYS), then a count of the rest), kept for a warning.
    pub fn unknown_keys(&self) -> &[String] {
        &self.unknown_keys
    }
}

/// The `permissions` object of a manifest, each key defaulted on its own: what a plugin asks
/// for. What it gets, within the host's ceilings, is [`Plugin::grants`](crate::Plugin::grants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Permissions {
    /// Declared wish for network access (never granted: plugins get no sockets).
    pub network: bool,
    /// Read-only access to the plugin's own directory.
    pub filesystem: bool,
    /// Cap on all linear memory, in MiB.
    pub max_memory_mb: u32,
    /// Wall-clock budget of one call into the plugin, in milliseconds.
    pub max_exec_ms: u32,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            network: false,
            filesystem: false,
            max_memory_mb: DEFAULT_MAX_MEMORY_MB,
            max_exec_ms: DEFAULT_MAX_EXEC_MS,
        }
    }
}

impl Permissions {
    /// The memory cap in bytes (saturating where `usize` is 32 bits wide).
    pub fn max_memory_bytes(&self) -> usize {
        (self.max_memory_mb as usize).saturating_mul(1024 * 1024)
    }
}

/// How the data to scan reaches a detection plugin: the manifest key `input` (CONTRACT §10,
/// `abi/ABI.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum InputMode {
    /// `"copy"`, the default: the data is copied into guest memory (through `alloc`, or at
    /// the end of memory grown for it) and `scan(ptr, len)` is called; data larger than the
    /// plugin's memory cap is skipped.
    #[default]
    Copy,
    /// `"host"`: the data stays in the host, `alloc` is never called, `scan(0, 0)` is called,
    /// and the plugin reads the data through the `plugbox` helpers (`file_size`, `read`,
    /// `find`). The memory cap does not bound the data; [`MAX_HOST_INPUT_BYTES`] does.
    ///
    /// [`MAX_HOST_INPUT_BYTES`]: crate::limits::MAX_HOST_INPUT_BYTES
    Host,
}

impl InputMode {
    /// Every mode, in the order error messages list them.
    pub(crate) const ALL: &[InputMode] = &[InputMode::Copy, InputMode::Host];

    /// The manifest value: `copy` or `host`.
    pub fn name(self) -> &'static str {
        match self {
            InputMode::Copy => "copy",
            InputMode::Host => "host",
        }
    }
}

impl fmt::Display for InputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a manifest was refused. `Display` names the file, the field and the accepted values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManifestError {
    /// The `plugin.json` concerned.
    pub path: PathBuf,
    /// The field concerned (`permissions.max_memory_mb`), or `None` for the file as a whole.
    pub field: Option<String>,
    /// What is wrong, and what would be accepted.
    pub reason: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "{}: field `{field}`: {}",
                self.path.display(),
                self.reason
            ),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// Reads and validates `path` (a `plugin.json`) for the host described by `config`
    /// (which file types it knows). A plugin author's check of a manifest:
    ///
    /// ```
    /// use plugbox::{HostConfig, Manifest};
    ///
    /// let path = "examples/plugins/marker-scanner/plugin.json".as_ref();
    /// let manifest = Manifest::load(path, &HostConfig::default()).unwrap();
    /// assert_eq!(manifest.name(), "Marker Scanner");
    /// ```
    pub fn load(path: &Path, config: &HostConfig) -> Result<Self, ManifestError> {
        let whole = |reason: String| ManifestError {
            path: path.to_path_buf(),
            field: None,
            reason,
        };
        let text = crate::files::read_regular(path, MAX_MANIFEST_BYTES).map_err(|e| match e {
            ReadError::TooLarge { limit } => whole(format!(
                "a manifest may be at most {limit} bytes; this one is larger"
            )),
            ReadError::Io(e) => whole(format!("cannot read: {e}")),
        })?;
        Self::parse(&text, path, config)
    }

    /// Validates manifest bytes for the host described by `config`; `path` only names the
    /// file in errors.
    ///
    /// ```
    /// use plugbox::{HostConfig, Manifest};
    ///
    /// let json = br#"{"name": "X", "version": "1.0.0", "author": "a", "description": "d",
    ///     "wasm_file": "x.wasm", "platforms": ["all"], "file_types": ["pe"],
    ///     "min_engine_version": "0.1.0", "permissions": {"max_memory_mb": 9000}}"#;
    /// let error = Manifest::parse(json, "x/plugin.json".as_ref(), &HostConfig::default())
    ///     .unwrap_err();
    /// assert_eq!(error.field.as_deref(), Some("permissions.max_memory_mb"));
    /// ```
    pub fn parse(bytes: &[u8], path: &Path, config: &HostConfig) -> Result<Self, ManifestError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ManifestError {
            path: path.to_path_buf(),
            field: None,
            reason: format!("not valid JSON: {e}"),
        })?;
        let Value::Object(root) = value else {
            return Err(ManifestError {
                path: path.to_path_buf(),
                field: None,
                reason: format!("expected a JSON object, found {}", kind(&value)),
            });
        };
        Fields {
            path,
            obj: &root,
            prefix: "",
        }
        .manifest(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Manifest, ManifestError> {
        let config = HostConfig::default().with_file_types(["pe", "elf", "pdf"]);
        Manifest::parse(json.as_bytes(), Path::new("p/plugin.json"), &config)
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "name": "Example", "version": "0.1.0", "author": "a", "description": "d",
            "wasm_file": "x.wasm", "platforms": ["all"], "file_types": ["all"],
            "min_engine_version": "0.1.0"
        })
    }

    fn with(key: &str, value: serde_json::Value) -> String {
        let mut v = base();
        v[key] = value;
        v.to_string()
    }

    fn error_of(json: &str) -> String {
        parse(json).unwrap_err().to_string()
    }

    #[test]
    fn minimal_manifest_takes_defaults() {
        let m = parse(&base().to_string()).unwrap();
        assert_eq!(m.protocol_version, 1);
        assert_eq!(m.permissions, Permissions::default());
        assert!(m.unknown_keys.is_empty());
    }

    #[test]
    fn each_permission_key_is_optional_on_its_own() {
        let m = parse(&with(
            "permissions",
            serde_json::json!({"max_exec_ms": 200}),
        ))
        .unwrap();
        assert_eq!(m.permissions.max_exec_ms, 200);
        assert_eq!(m.permissions.max_memory_mb, DEFAULT_MAX_MEMORY_MB);
        assert!(!m.permissions.filesystem);
    }

    #[test]
    fn unknown_keys_are_kept_for_a_warning() {
        let mut v = base();
        v["homepage"] = "x".into();
        v["permissions"] = serde_json::json!({"gpu": true});
        let m = parse(&v.to_string()).unwrap();
        assert_eq!(m.unknown_keys, ["homepage", "permissions.gpu"]);
    }

    #[test]
    fn missing_required_fields_are_named() {
        for field in [
            "name",
            "version",
            "author",
            "description",
            "wasm_file",
            "platforms",
            "file_types",
            "min_engine_version",
        ] {
            let mut v = base();
            v.as_object_mut().unwrap().remove(field);
            let e = error_of(&v.to_string());
            assert!(
                e.contains(&format!("field `{field}`")) && e.contains("missing"),
                "{e}"
            );
        }
    }

    #[test]
    fn wrong_types_empty_lists_and_unknown_names_are_errors() {
        let e = error_of(&with("name", 5.into()));
        assert!(
            e.contains("`name`") && e.contains("expected a string, found a number"),
            "{e}"
        );
        let e = error_of(&with("name", " ".into()));
        assert!(e.contains("must not be empty"), "{e}");
        let e = error_of(&with("platforms", serde_json::json!([])));
        assert!(
            e.contains("`platforms`") && e.contains("linux, macos, windows, all"),
            "{e}"
        );
        let e = error_of(&with("platforms", serde_json::json!(["beos"])));
        assert!(e.contains("unknown name \"beos\""), "{e}");
        let e = error_of(&with("file_types", serde_json::json!(["exe"])));
        assert!(
            e.contains("`file_types`") && e.contains("pe, elf, pdf, all"),
            "{e}"
        );
        let e = error_of(&with("version", "one".into()));
        assert!(
            e.contains("`version`") && e.contains("semantic version"),
            "{e}"
        );
        let e = error_of(&with("min_engine_version", "1.0".into()));
        assert!(e.contains("`min_engine_version`"), "{e}");
        let e = error_of(&with("permissions", serde_json::json!({"network": "yes"})));
        assert!(
            e.contains("`permissions.network`") && e.contains("true or false"),
            "{e}"
        );
        let e = error_of(&with("permissions", serde_json::json!([])));
        assert!(
            e.contains("`permissions`") && e.contains("expected an object"),
            "{e}"
        );
        let e = error_of(&with("protocol_version", "1".into()));
        assert!(e.contains("`protocol_version`"), "{e}");
    }

    #[test]
    fn limits_out_of_range_are_errors_naming_the_range() {
        for (field, bad) in [
            ("max_memory_mb", serde_json::json!(0)),
            ("max_memory_mb", serde_json::json!(5000)),
            ("max_memory_mb", serde_json::json!(-1)),
            ("max_memory_mb", serde_json::json!(1.5)),
            ("max_exec_ms", serde_json::json!(0)),
            ("max_exec_ms", serde_json::json!(10_000_000_000u64)),
        ] {
            let e = error_of(&with("permissions", serde_json::json!({ field: bad })));
            assert!(
                e.contains(&format!("`permissions.{field}`"))
                    && e.contains("expected an integer from"),
                "{e}"
            );
        }
    }

    #[test]
    fn input_is_copy_or_host() {
        assert_eq!(parse(&base().to_string()).unwrap().input(), InputMode::Copy);
        let m = parse(&with("input", "host".into())).unwrap();
        assert_eq!(m.input(), InputMode::Host);
        assert_eq!(
            parse(&with("input", "copy".into())).unwrap().input(),
            InputMode::Copy
        );
        let e = error_of(&with("input", "mmap".into()));
        assert!(
            e.contains("field `input`")
                && e.contains("\"mmap\"")
                && e.contains("\"copy\" or \"host\""),
            "{e}"
        );
        let e = error_of(&with("input", true.into()));
        assert!(
            e.contains("field `input`") && e.contains("found a boolean"),
            "{e}"
        );
        assert!(
            parse(&with("input", "host".into()))
                .unwrap()
                .unknown_keys
                .is_empty()
        );
    }

    #[test]
    fn non_object_and_invalid_json_name_the_file() {
        assert!(error_of("[]").starts_with("p/plugin.json: expected a JSON object"));
        assert!(error_of("{").starts_with("p/plugin.json: not valid JSON"));
    }
}
