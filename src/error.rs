//! Load errors: why a plugin directory did not become a loaded plugin. Each names what is
//! wrong and why; the registry adds the plugin directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::findings::Failure;
use crate::manifest::ManifestError;

/// Why a plugin could not be loaded (or was skipped on purpose, see [`LoadError::is_skip`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoadError {
    /// `plugin.json` is missing, unreadable or breaks a rule.
    Manifest(ManifestError),
    /// The manifest's platforms do not include this OS (not an error: a skip).
    PlatformMismatch {
        /// The manifest's platforms.
        platforms: Vec<String>,
        /// This host's OS name.
        os: String,
    },
    /// `min_engine_version` is newer than this plugbox.
    EngineTooOld {
        /// What the plugin asks for.
        required: semver::Version,
        /// This engine's version.
        engine: semver::Version,
    },
    /// `protocol_version` names an ABI generation this host does not implement.
    UnsupportedProtocol {
        /// The generation asked for.
        version: u32,
    },
    /// `wasm_file` is absolute, uses `..`, leads out of the plugin directory or is not a file.
    WasmPath {
        /// The `wasm_file` value.
        wasm_file: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// The module file could not be read.
    Read {
        /// The module file.
        path: PathBuf,
        /// The I/O error (shared, so that load errors can be cloned).
        error: Arc<std::io::Error>,
    },
    /// The module is in the WebAssembly text format.
    TextFormat {
        /// The module file.
        path: PathBuf,
    },
    /// The module is not valid WebAssembly (or uses a feature this host does not enable).
    Compile {
        /// The module file.
        path: PathBuf,
        /// wasmi's reason.
        reason: String,
    },
    /// The module would cost more to load than the load limits allow (ABI.md, "Load limits").
    LoadLimit {
        /// The module file.
        path: PathBuf,
        /// Which limit, and by how much.
        reason: String,
    },
    /// The module imports something the host does not provide.
    UnknownImport {
        /// `module.name` of the import.
        import: String,
        /// Its declared type.
        ty: String,
        /// The imports the host provides, as a list for the message.
        provided: String,
    },
    /// The module imports a host function with the wrong signature.
    ImportSignature {
        /// `module.name` of the import.
        import: String,
        /// What the host provides.
        expected: String,
        /// What the module declares.
        found: String,
    },
    /// A required export (`memory`, `scan`) is missing.
    MissingExport {
        /// The export's name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// An export of a listed name has the wrong kind or signature.
    ExportSignature {
        /// The export's name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What the module has.
        found: String,
    },
    /// Instantiation, `_initialize`, `on_load` or reading the name failed.
    Init(Failure),
    /// A plugin loaded from memory asks for `filesystem: true`, which needs a directory.
    FilesystemWithoutDirectory,
    /// A directory given to a command plugin
    /// ([`CommandConfig::with_preopen`](crate::CommandConfig::with_preopen)) cannot be
    /// preopened: it does not exist, is not a directory, its guest path is unusable, or there
    /// are too many.
    Preopen {
        /// The host directory, as given.
        dir: PathBuf,
        /// The guest path it was to be seen at.
        guest: String,
        /// Why it is refused.
        reason: String,
    },
    /// `on_load` returned non-zero.
    OnLoadRefused {
        /// The returned code.
        code: i32,
    },
    /// Another loaded plugin already has this manifest name; names identify plugins in
    /// findings, so they must be unique.
    DuplicateName {
        /// The name.
        name: String,
        /// The directory of the plugin loaded first under that name.
        first: PathBuf,
    },
}

impl LoadError {
    /// Whether this is a deliberate skip (another platform, a newer engine needed) rather
    /// than a broken plugin.
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            LoadError::PlatformMismatch { .. } | LoadError::EngineTooOld { .. }
        )
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Manifest(e) => write!(f, "{e}"),
            LoadError::PlatformMismatch { platforms, os } => write!(
                f,
                "skipped: platforms [{}] do not include this host ({os})",
                platforms.join(", ")
            ),
            LoadError::EngineTooOld { required, engine } => write!(
                f,
                "skipped: needs plugbox {required} or newer (min_engine_version); this is plugbox {engine}"
            ),
            LoadError::UnsupportedProtocol { version } => write!(
                f,
                "protocol_version {version} is not supported; this host implements: {}",
                crate::manifest::SUPPORTED_PROTOCOLS
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LoadError::WasmPath { wasm_file, reason } => {
                write!(f, "wasm_file \"{}\": {reason}", wasm_file.display())
            }
            LoadError::Read { path, error } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            LoadError::TextFormat { path } => write!(
                f,
                "{}: is WebAssembly text format (.wat); plugins must be binary modules: compile it first, e.g. `wat2wasm {} -o module.wasm`",
                path.display(),
                path.display()
            ),
            LoadError::Compile { path, reason } => {
                write!(
                    f,
                    "{}: not a valid WebAssembly module: {reason}",
                    path.display()
                )
            }
            LoadError::LoadLimit { path, reason } => {
                write!(f, "{}: exceeds plugbox's load limits: {reason}", path.display())
            }
            LoadError::UnknownImport {
                import,
                ty,
                provided,
            } => write!(
                f,
                "imports `{import}` ({ty}), which this host does not provide; provided: {provided}"
            ),
            LoadError::ImportSignature {
                import,
                expected,
                found,
            } => write!(
                f,
                "import `{import}` has type {found}; the host provides {expected}"
            ),
            LoadError::MissingExport { name, expected } => {
                write!(f, "missing required export `{name}` ({expected})")
            }
            LoadError::ExportSignature {
                name,
                expected,
                found,
            } => write!(f, "export `{name}` is {found}; expected {expected}"),
            LoadError::Init(failure) => write!(f, "{failure}"),
            LoadError::FilesystemWithoutDirectory => f.write_str(
                "permissions.filesystem is true, but a plugin loaded from memory has no directory to grant",
            ),
            LoadError::Preopen { dir, guest, reason } => write!(
                f,
                "cannot preopen directory {} at guest path {:?}: {reason}",
                dir.display(),
                guest
            ),
            LoadError::DuplicateName { name, first } => write!(
                f,
                "the name '{name}' is already taken by the plugin in {}; plugin names identify findings and must be unique",
                first.display()
            ),
            LoadError::OnLoadRefused { code } => {
                write!(
                    f,
                    "on_load returned {code} (non-zero means the plugin refused to load)"
                )
            }
        }
    }
}

// `Display` already includes the inner errors' text, so `source` adds none: error chains
// would print it twice.
impl std::error::Error for LoadError {}

/// A plugin directory that did not load, and why: what [`Registry::failures`] and
/// [`Registry::skipped`] list, and what loading one plugin returns on failure. `Display`
/// names the directory, the plugin when known, and the reason. Cheap to clone.
///
/// [`Registry::failures`]: crate::Registry::failures
/// [`Registry::skipped`]: crate::Registry::skipped
///
/// ```
/// use plugbox::{HostConfig, LoadError, Registry};
///
/// let registry = Registry::new(HostConfig::default());
/// let failure = registry.load_plugin("no/such/plugin".as_ref()).unwrap_err();
/// assert_eq!(failure.dir(), std::path::Path::new("no/such/plugin"));
/// assert_eq!(failure.plugin(), None); // the manifest could not be read
/// assert!(matches!(failure.error(), LoadError::Manifest(_)));
/// ```
#[derive(Debug, Clone)]
pub struct LoadFailure {
    inner: Arc<(PathBuf, Option<String>, LoadError)>,
}

impl LoadFailure {
    pub(crate) fn new(dir: PathBuf, plugin: Option<String>, error: LoadError) -> Self {
        Self {
            inner: Arc::new((dir, plugin, error)),
        }
    }

    /// The plugin directory (`<memory>` for a plugin loaded from bytes).
    pub fn dir(&self) -> &Path {
        &self.inner.0
    }

    /// The manifest name, when the manifest was read far enough to know it.
    pub fn plugin(&self) -> Option<&str> {
        self.inner.1.as_deref()
    }

    /// Why.
    pub fn error(&self) -> &LoadError {
        &self.inner.2
    }

    /// Whether the plugin was skipped on purpose ([`LoadError::is_skip`]) rather than broken.
    pub fn is_skip(&self) -> bool {
        self.error().is_skip()
    }
}

impl fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir().display();
        match (self.plugin(), self.error()) {
            // Manifest errors already name the file inside the directory.
            (_, LoadError::Manifest(e)) => write!(f, "{e}"),
            (Some(name), error) => write!(f, "{dir} (plugin '{name}'): {error}"),
            (None, error) => write!(f, "{dir}: {error}"),
        }
    }
}

impl std::error::Error for LoadFailure {}
