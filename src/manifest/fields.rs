//! Checking a manifest's JSON object field by field, each error naming the field.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{InputMode, Manifest, ManifestError, PLATFORMS, Permissions};
use crate::config::HostConfig;
use crate::limits::{
    MAX_AUTHOR_BYTES, MAX_DESCRIPTION_BYTES, MAX_EXEC_MS_RANGE, MAX_MEMORY_MB_RANGE,
    MAX_NAME_BYTES, MAX_UNKNOWN_KEYS, MAX_VERSION_BYTES, MAX_WASM_FILE_BYTES,
};
use crate::text::is_unprintable;

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
    "input",
];
const KNOWN_PERMISSION_KEYS: &[&str] = &["network", "filesystem", "max_memory_mb", "max_exec_ms"];

/// A JSON object being checked, with the path used in error messages.
pub(super) struct Fields<'a> {
    pub(super) path: &'a Path,
    pub(super) obj: &'a Map<String, Value>,
    pub(super) prefix: &'a str,
}

impl Fields<'_> {
    pub(super) fn manifest(&self, config: &HostConfig) -> Result<Manifest, ManifestError> {
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
        let mut type_names: Vec<&str> = config.file_types().iter().map(String::as_str).collect();
        type_names.push("all");
        let file_types = self.names("file_types", &type_names)?;
        let min_engine_version = self.semver("min_engine_version")?;
        let protocol_version = match self.obj.get("protocol_version") {
            None => 1,
            Some(_) => self.integer("protocol_version", (1, u32::MAX))?,
        };
        let input = self.input_mode()?;
        let stated = |key| {
            self.obj
                .get("permissions")
                .and_then(Value::as_object)
                .is_some_and(|p| p.contains_key(key))
        };
        let stated_limits = (stated("max_memory_mb"), stated("max_exec_ms"));
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
            input,
            stated_limits,
            unknown_keys,
        })
    }

    /// `input`: `"copy"` (the default) or `"host"`.
    fn input_mode(&self) -> Result<InputMode, ManifestError> {
        let accepted = || {
            InputMode::ALL
                .iter()
                .map(|mode| format!("\"{}\"", mode.name()))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match self.obj.get("input") {
            None => Ok(InputMode::default()),
            Some(Value::String(s)) => InputMode::ALL
                .iter()
                .copied()
                .find(|mode| mode.name() == s)
                .ok_or_else(|| {
                    self.error(
                        "input",
                        format!(
                            "unknown value \"{}\"; accepted: {}",
                            s.escape_debug(),
                            accepted()
                        ),
                    )
                }),
            Some(other) => Err(self.error(
                "input",
                format!("expected {}, found {}", accepted(), kind(other)),
            )),
        }
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
                format!(
                    "expected an integer from {min} to {max}, found {}",
                    shown(value)
                ),
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

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An integer as written, anything else by its kind. Not `Value`'s `Display`: that is a JSON
/// serialiser with its own float formatting, about 30 KB of code in an embedding for one
/// error message.
fn shown(value: &Value) -> String {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.to_string(),
            (None, Some(i)) => i.to_string(),
            (None, None) => "a number with a fraction".to_owned(),
        },
        other => kind(other).to_owned(),
    }
}
