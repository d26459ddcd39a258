//! What a host tells plugbox about itself, and the ceilings it puts on every plugin.

use crate::file_type;
use crate::limits::{MAX_EXEC_MS_RANGE, MAX_MEMORY_MB_RANGE, clamp_exec_ms, clamp_memory_mb};

/// The default `log` target of plugin messages ([`HostConfig::with_log_target`]).
pub const PLUGIN_LOG_TARGET: &str = "plugbox::guest";

/// What the host tells the registry about itself, and the most it grants any plugin.
///
/// The defaults suit a file scanner: the CLI's type names, this OS, this crate's version,
/// plugin logs under [`PLUGIN_LOG_TARGET`], and no ceiling below what a manifest may ask for.
/// A host with its own kind of input names its types, so that a manifest naming an unknown
/// type is refused at load:
///
/// ```
/// use plugbox::{HostConfig, Input, Registry};
///
/// let config = HostConfig::default()
///     .with_file_types(["sbom-component"])
///     .with_log_target("my_tool::plugins");
/// let registry = Registry::new(config);
/// // The example plugin accepts "all" types, so it loads under any host's type names.
/// registry.load_plugin("examples/plugins/marker-scanner".as_ref()).unwrap();
/// let component = Input::new(br#"{"name":"MALICIOUS_MARKER"}"#)
///     .path("component 1")
///     .file_type("sbom-component");
/// let report = registry.scan(component);
/// assert_eq!(report.findings[0].threat, "Custom.MaliciousMarker");
/// ```
///
/// Ceilings lower what manifests ask for, never raise it: a plugin asking for more memory or
/// time gets the ceiling (and a warning is logged), and a host that allows no filesystem
/// access grants no plugin its directory:
///
/// ```
/// use plugbox::{HostConfig, Registry};
///
/// let config = HostConfig::default()
///     .with_max_memory_mb(16)
///     .with_max_exec_ms(100)
///     .with_filesystem(false);
/// let registry = Registry::new(config);
/// let plugin = registry.load_plugin("examples/plugins/marker-scanner".as_ref()).unwrap();
/// assert_eq!(plugin.manifest().permissions().max_exec_ms, 1000); // what it asked for
/// assert_eq!(plugin.grants().max_exec_ms, 100); // what it gets
/// assert!(plugin.grants().max_memory_mb <= 16);
/// ```
#[derive(Debug, Clone)]
pub struct HostConfig {
    file_types: Vec<String>,
    platform: String,
    engine_version: semver::Version,
    log_target: String,
    max_memory_mb: u32,
    max_exec_ms: u32,
    filesystem: bool,
    pre_initialization: bool,
}

impl Default for HostConfig {
    /// The CLI's file types ([`file_type::KNOWN`]), this OS, this crate's version, the log
    /// target [`PLUGIN_LOG_TARGET`], and the manifest maximums as ceilings.
    fn default() -> Self {
        Self {
            file_types: file_type::KNOWN.iter().map(|t| t.to_string()).collect(),
            platform: std::env::consts::OS.to_owned(),
            engine_version: engine_version(),
            log_target: PLUGIN_LOG_TARGET.to_owned(),
            max_memory_mb: MAX_MEMORY_MB_RANGE.1,
            max_exec_ms: MAX_EXEC_MS_RANGE.1,
            filesystem: true,
            pre_initialization: true,
        }
    }
}

impl HostConfig {
    /// Whether plugins are pre-initialised (on by default): a plugin's start function and
    /// `_initialize` run once at load, and every scan's fresh instance starts from the state
    /// they left, when nothing they do could differ from one file to the next
    /// ([`Plugin::is_pre_initialized`](crate::Plugin::is_pre_initialized)). Results are the
    /// same either way; turning it off makes every instance run them again, as a fresh
    /// instance without pre-initialisation does (to compare, or to debug a plugin).
    pub fn with_pre_initialization(mut self, enabled: bool) -> Self {
        self.pre_initialization = enabled;
        self
    }

    /// Whether plugins are pre-initialised ([`HostConfig::with_pre_initialization`]).
    pub fn pre_initialization(&self) -> bool {
        self.pre_initialization
    }

    /// Replaces the file-type names manifests may list (`all` is always accepted); a
    /// manifest listing another name is refused at load, so typos are caught there.
    pub fn with_file_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.file_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Sends plugin log messages (`log_message`, WASI stdout/stderr) to the `log` target
    /// `target`, each starting with `[plugin name]`.
    pub fn with_log_target(mut self, target: impl Into<String>) -> Self {
        self.log_target = target.into();
        self
    }

    /// Sets the OS name matched against manifests' `platforms` (`linux`, `macos`, `windows`);
    /// by default the OS plugbox was built for.
    pub fn with_platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = platform.into();
        self
    }

    /// Sets the version manifests' `min_engine_version` is compared with; by default
    /// [`engine_version`]. A host that vets plugins against its own release can pin it.
    pub fn with_engine_version(mut self, version: semver::Version) -> Self {
        self.engine_version = version;
        self
    }

    /// The most linear memory any plugin gets, in MiB (kept within
    /// [`MAX_MEMORY_MB_RANGE`]): a manifest asking for more gets this much.
    pub fn with_max_memory_mb(mut self, mb: u32) -> Self {
        self.max_memory_mb = clamp_memory_mb(mb);
        self
    }

    /// The longest time budget of one call into any plugin, in milliseconds (kept within
    /// [`MAX_EXEC_MS_RANGE`]): a manifest asking for more gets this much.
    pub fn with_max_exec_ms(mut self, ms: u32) -> Self {
        self.max_exec_ms = clamp_exec_ms(ms);
        self
    }

    /// Whether `permissions.filesystem` may be granted at all (by default it may). With
    /// `false`, a plugin asking for it loads without its directory, and a warning is logged.
    pub fn with_filesystem(mut self, allowed: bool) -> Self {
        self.filesystem = allowed;
        self
    }

    /// The file-type names manifests may list besides `all`.
    pub fn file_types(&self) -> &[String] {
        &self.file_types
    }

    /// The OS name matched against `platforms`.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// The version `min_engine_version` is compared with.
    pub fn engine_version(&self) -> &semver::Version {
        &self.engine_version
    }

    /// The `log` target plugin messages go to.
    pub fn log_target(&self) -> &str {
        &self.log_target
    }

    /// The memory ceiling, in MiB.
    pub fn max_memory_mb(&self) -> u32 {
        self.max_memory_mb
    }

    /// The time ceiling of one call, in milliseconds.
    pub fn max_exec_ms(&self) -> u32 {
        self.max_exec_ms
    }

    /// Whether `permissions.filesystem` may be granted.
    pub fn filesystem_allowed(&self) -> bool {
        self.filesystem
    }
}

/// The plugbox crate version, which `min_engine_version` is compared with by default.
///
/// ```
/// assert!(plugbox::engine_version() >= semver::Version::new(0, 1, 0));
/// ```
pub fn engine_version() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver")
}
