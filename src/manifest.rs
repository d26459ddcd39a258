//! `plugin.json`: parsing and every rule of CONTRACT §2.
//!
//! The manifest is read as a JSON object and checked field by field rather than through a
//! derived `Deserialize`, so that each error names the field, what was found and what is
//! accepted.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::files::ReadError;
use crate::findings::is_unprintable;

/// Largest `plugin.json` accepted. A manifest is a few hundred bytes; anything near this is hostile.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Default linear-memory cap when `permissions.max_memory_mb` is absent.
pub const DEFAULT_MAX_MEMORY_MB: u32 = 64;
/// Default time budget of one call when `permissions.max_exec_ms` is absent.
pub const DEFAULT_MAX_EXEC_MS: u32 = 5000;
/// Accepted range of `permissions.max_memory_mb`: a 32-bit linear memory cannot exceed 4 GiB.
pub const MAX_MEMORY_MB_RANGE: (u32, u32) = (1, 4096);
/// Accepted range of `permissions.max_exec_ms`: up to ten minutes per call.
pub const MAX_EXEC_MS_RANGE: (u32, u32) = (1, 600_000);
/// The ABI generations this host implements (`protocol_version`).
pub const SUPPORTED_PROTOCOLS: &[u32] = &[1];
/// Platform names a manifest may list.
pub const PLATFORMS: &[&str] = &["linux", "macos", "windows", "all"];

const KNOWN_KEYS: &[&str] = &[
    "name",
    "version",
    "author",
    "description",
    "wasm_file",
    "platforms",
    "file_types",
    "min_engine_version",
    "protocol_version",
    "permissions",
];
const KNOWN_PERMISSION_KEYS: &[&str] = &["network", "filesystem", "max_memory_mb", "max_exec_ms"];

/// Longest plugin `name`, in bytes: it is copied into every finding and log line.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest `author`, in bytes.
pub const MAX_AUTHOR_BYTES: usize = 256;
/// Longest `description`, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// Longest `version` or `min_engine_version`, in bytes.
pub const MAX_VERSION_BYTES: usize = 128;
/// Longest `wasm_file`, in bytes.
pub const MAX_WASM_FILE_BYTES: usize = 1024;
/// Most unknown keys remembered for the warning; the rest are counted.
pub const MAX_UNKNOWN_KEYS: usize = 16;

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
    unknown_keys: Vec<String>,
}

impl Manifest {
    /// The plugin's identity in findings: non-empty, at most [`MAX_NAME_BYTES`], no control
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

    /// Top-level and `permissions` keys this host does not know (at most
    /// [`MAX_UNKNOWN_KEYS`], then a count of the rest), kept for a warning.
    pub fn unknown_keys(&self) -> &[String] {
        &self.unknown_keys
    }
}

/// The `permissions` object of a manifest, each key defaulted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The memory cap in bytes.
    pub fn max_memory_bytes(&self) -> usize {
        self.max_memory_mb as usize * 1024 * 1024
    }
}

/// Why a manifest was refused. `Display` names the file, the field and the accepted values.
#[derive(Debug)]
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

/// The host's side of manifest validation: which file-type names it knows.
#[derive(Debug, Clone, Copy)]
pub struct ManifestRules<'a> {
    /// File-type names a manifest may list besides `all`.
    pub file_types: &'a [&'a str],
}

impl Manifest {
    /// Reads and validates `path` (a `plugin.json`).
    pub fn load(path: &Path, rules: ManifestRules<'_>) -> Result<Self, ManifestError> {
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
        Self::parse(&text, path, rules)
    }

    /// Validates manifest bytes; `path` is only used to name the file in errors.
    pub fn parse(
        bytes: &[u8],
        path: &Path,
        rules: ManifestRules<'_>,
    ) -> Result<Self, ManifestError> {
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
        .manifest(rules)
    }
}

/// A JSON object being checked, with the path used in error messages.
struct Fields<'a> {
    path: &'a Path,
    obj: &'a Map<String, Value>,
    prefix: &'a str,
}

impl Fields<'_> {
    fn manifest(&self, rules: ManifestRules<'_>) -> Result<Manifest, ManifestError> {
        let mut unknown_keys = self.unknown(KNOWN_KEYS);
        let name = self.text("name", MAX_NAME_BYTES, Text::Line)?;
        let version = self.semver("version")?;
        let author = self.text("author", MAX_AUTHOR_BYTES, Text::Line)?;
        let description = self.text("description", MAX_DESCRIPTION_BYTES, Text::Paragraphs)?;
        let wasm_file = PathBuf::from(self.text("wasm_file", MAX_WASM_FILE_BYTES, Text::Line)?);
        for (field, value) in [
            ("name", &name),
            ("wasm_file", &wasm_file.to_string_lossy().into_owned()),
        ] {
            if value.trim().is_empty() {
                return Err(self.error(field, "must not be empty".into()));
            }
        }
        let platforms = self.names("platforms", PLATFORMS)?;
        let mut type_names: Vec<&str> = rules.file_types.to_vec();
        type_names.push("all");
        let file_types = self.names("file_types", &type_names)?;
        let min_engine_version = self.semver("min_engine_version")?;
        let protocol_version = match self.obj.get("protocol_version") {
            None => 1,
            Some(_) => self.integer("protocol_version", (1, u32::MAX))?,
        };
        let permissions = match self.obj.get("permissions") {
            None => Permissions::default(),
            Some(Value::Object(obj)) => {
                let inner = Fields {
                    path: self.path,
                    obj,
                    prefix: "permissions.",
                };
                unknown_keys.extend(inner.unknown(KNOWN_PERMISSION_KEYS));
                cap_unknown(&mut unknown_keys);
                inner.permissions()?
            }
            Some(other) => {
                return Err(self.error(
                    "permissions",
                    format!("expected an object, found {}", kind(other)),
                ));
            }
        };
        Ok(Manifest {
            name,
            version,
            author,
            description,
            wasm_file,
            platforms,
            file_types,
            min_engine_version,
            protocol_version,
            permissions,
            unknown_keys,
        })
    }

    fn permissions(&self) -> Result<Permissions, ManifestError> {
        let defaults = Permissions::default();
        Ok(Permissions {
            network: self.optional_bool("network")?.unwrap_or(defaults.network),
            filesystem: self
                .optional_bool("filesystem")?
                .unwrap_or(defaults.filesystem),
            max_memory_mb: match self.obj.get("max_memory_mb") {
                None => defaults.max_memory_mb,
                Some(_) => self.integer("max_memory_mb", MAX_MEMORY_MB_RANGE)?,
            },
            max_exec_ms: match self.obj.get("max_exec_ms") {
                None => defaults.max_exec_ms,
                Some(_) => self.integer("max_exec_ms", MAX_EXEC_MS_RANGE)?,
            },
        })
    }

    fn unknown(&self, known: &[&str]) -> Vec<String> {
        let mut unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .map(|key| format!("{}{}", self.prefix, key.escape_debug()))
            .collect();
        cap_unknown(&mut unknown);
        unknown
    }

    fn error(&self, field: &str, reason: String) -> ManifestError {
        ManifestError {
            path: self.path.to_path_buf(),
            field: Some(format!("{}{field}", self.prefix)),
            reason,
        }
    }

    fn required(&self, field: &str) -> Result<&Value, ManifestError> {
        self.obj
            .get(field)
            .ok_or_else(|| self.error(field, "is required but missing".into()))
    }

    fn string(&self, field: &str) -> Result<String, ManifestError> {
        match self.required(field)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.error(field, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// A string of at most `max` bytes without control or invisible formatting characters (but
    /// for tabs and line breaks in [`Text::Paragraphs`]): manifest strings reach logs,
    /// terminals and findings, and a name must not pass for another.
    fn text(&self, field: &str, max: usize, shape: Text) -> Result<String, ManifestError> {
        let s = self.string(field)?;
        if s.len() > max {
            return Err(self.error(
                field,
                format!(
                    "is {} bytes long; at most {max} bytes are accepted",
                    s.len()
                ),
            ));
        }
        let allowed = |c: char| shape == Text::Paragraphs && matches!(c, '\n' | '\t' | '\r');
        if let Some(c) = s.chars().find(|&c| is_unprintable(c) && !allowed(c)) {
            return Err(self.error(
                field,
                format!(
                    "contains the control or invisible character {}; only printable text is accepted",
                    c.escape_unicode()
                ),
            ));
        }
        Ok(s)
    }

    fn semver(&self, field: &str) -> Result<semver::Version, ManifestError> {
        let s = self.text(field, MAX_VERSION_BYTES, Text::Line)?;
        semver::Version::parse(&s).map_err(|e| {
            self.error(
                field,
                format!("\"{s}\" is not a semantic version like \"1.2.3\": {e}"),
            )
        })
    }

    fn names(&self, field: &str, accepted: &[&str]) -> Result<Vec<String>, ManifestError> {
        let accepted_list = accepted.join(", ");
        let shape = || format!("expected a non-empty array of strings from: {accepted_list}");
        let Value::Array(items) = self.required(field)? else {
            return Err(self.error(field, shape()));
        };
        if items.is_empty() {
            return Err(self.error(field, format!("is empty; {}", shape())));
        }
        items
            .iter()
            .map(|item| match item {
                Value::String(s) if accepted.contains(&s.as_str()) => Ok(s.clone()),
                Value::String(s) => Err(self.error(
                    field,
                    format!("unknown name \"{s}\"; accepted: {accepted_list}"),
                )),
                other => {
                    Err(self.error(field, format!("{} in the array; {}", kind(other), shape())))
                }
            })
            .collect()
    }

    fn optional_bool(&self, field: &str) -> Result<Option<bool>, ManifestError> {
        match self.obj.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.error(
                field,
                format!("expected true or false, found {}", kind(other)),
            )),
        }
    }

    fn integer(&self, field: &str, (min, max): (u32, u32)) -> Result<u32, ManifestError> {
        let value = self.required(field)?;
        let out_of_range = || {
            self.error(
                field,
                format!("expected an integer from {min} to {max}, found {value}"),
            )
        };
        let n = value.as_u64().ok_or_else(out_of_range)?;
        match u32::try_from(n) {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(out_of_range()),
        }
    }
}

/// Keeps the first [`MAX_UNKNOWN_KEYS`] names, and a count of the rest.
fn cap_unknown(keys: &mut Vec<String>) {
    if keys.len() > MAX_UNKNOWN_KEYS {
        let more = keys.len() - MAX_UNKNOWN_KEYS;
        keys.truncate(MAX_UNKNOWN_KEYS);
        keys.push(format!("({more} more)"));
    }
}

/// What a manifest string may hold besides printable characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// Nothing else: names, versions, paths.
    Line,
    /// Tabs and line breaks too: descriptions.
    Paragraphs,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: ManifestRules<'static> = ManifestRules {
        file_types: &["pe", "elf", "pdf"],
    };

    fn parse(json: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(json.as_bytes(), Path::new("p/plugin.json"), RULES)
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
    fn non_object_and_invalid_json_name_the_file() {
        assert!(error_of("[]").starts_with("p/plugin.json: expected a JSON object"));
        assert!(error_of("{").starts_with("p/plugin.json: not valid JSON"));
    }
}
