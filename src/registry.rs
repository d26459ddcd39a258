//! The plugin registry (CONTRACT §1): discovers plugin directories in name order, loads each
//! in isolation, keeps what failed with its reason, and runs the loaded plugins on inputs.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{LoadError, LoadFailure};
use crate::file_type;
use crate::findings::ScanReport;
use crate::host::env::PLUGIN_LOG_TARGET;
use crate::manifest::Manifest;
use crate::plugin::{Input, Plugin};
use crate::runtime::Runtime;

/// What the host tells the registry about itself.
///
/// The defaults suit a file scanner (the CLI's type names, this OS, this crate's version,
/// plugin logs under `plugbox::guest`). A host with its own kind of input names its types, so
/// that a manifest naming an unknown type is refused at load:
///
/// ```
/// use plugbox::{HostConfig, Registry};
///
/// let config = HostConfig::default()
///     .with_file_types(["sbom-component"])
///     .with_log_target("my_tool::plugins");
/// let mut registry = Registry::new(config);
/// // The example plugin accepts "all" types, so it loads under any host's type names.
/// registry.load_plugin("examples/plugins/marker-scanner".as_ref()).unwrap();
/// let report = registry.scan(br#"{"name":"MALICIOUS_MARKER"}"#, "component 1", "sbom-component");
/// assert_eq!(report.findings[0].threat, "Custom.MaliciousMarker");
/// ```
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// File-type names manifests may list besides `all`; a name outside this set is a
    /// manifest error, so typos are caught at load.
    pub file_types: Vec<String>,
    /// The OS name matched against `platforms` (`linux`, `macos`, `windows`).
    pub platform: String,
    /// The version `min_engine_version` is compared with.
    pub engine_version: semver::Version,
    /// The `log` target plugin messages (`log_message`, WASI stdout/stderr) are written to,
    /// each starting with `[plugin name]`.
    pub log_target: String,
}

impl Default for HostConfig {
    /// The CLI's file types ([`file_type::KNOWN`]), this OS, this crate's version, and the
    /// log target [`PLUGIN_LOG_TARGET`].
    fn default() -> Self {
        Self {
            file_types: file_type::KNOWN.iter().map(|t| t.to_string()).collect(),
            platform: std::env::consts::OS.to_owned(),
            engine_version: engine_version(),
            log_target: PLUGIN_LOG_TARGET.to_owned(),
        }
    }
}

impl HostConfig {
    /// Replaces the file-type names manifests may list (`all` is always accepted).
    pub fn with_file_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.file_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Sends plugin log messages to the `log` target `target`.
    pub fn with_log_target(mut self, target: impl Into<String>) -> Self {
        self.log_target = target.into();
        self
    }
}

/// The plugbox crate version, which `min_engine_version` is compared with.
pub fn engine_version() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver")
}

/// Loaded plugins, and the plugin directories that did not load.
///
/// Each plugin is compiled once, at load; every [`Registry::scan`] runs each applicable plugin
/// in a fresh instance, so nothing survives from one input to the next. A registry is
/// `Send + Sync`: scan from as many threads as you like.
///
/// ```
/// use plugbox::{HostConfig, Registry, RunStatus};
///
/// let mut registry = Registry::new(HostConfig::default());
/// registry.load_dir("examples/plugins".as_ref())?;
/// assert!(registry.failures().is_empty());
///
/// let report = registry.scan(b"... MALICIOUS_MARKER ...", "upload.bin", "unknown");
/// assert!(report.max_score() >= 60);
/// for run in &report.runs {
///     match &run.status {
///         RunStatus::Ok { score } => println!("{}: score {score}", run.plugin),
///         RunStatus::Failed(failure) => println!("{}: {failure}", run.plugin),
///         RunStatus::Skipped { reason } => println!("{}: skipped, {reason}", run.plugin),
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Registry {
    runtime: Runtime,
    config: HostConfig,
    plugins: Vec<Plugin>,
    failures: Vec<LoadFailure>,
    skipped: Vec<LoadFailure>,
}

impl Registry {
    /// An empty registry for a host described by `config`.
    pub fn new(config: HostConfig) -> Self {
        Self {
            runtime: Runtime::new(&config.log_target),
            config,
            plugins: Vec::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Loads every immediate subdirectory of `dir` that holds a `plugin.json`, in name order.
    /// A plugin that fails to load is kept in [`Registry::failures`] (or
    /// [`Registry::skipped`], for another platform) and the others load regardless.
    ///
    /// Errors only when `dir` itself cannot be read.
    pub fn load_dir(&mut self, dir: &Path) -> io::Result<()> {
        for candidate in discover(dir)? {
            match candidate {
                Ok(plugin_dir) => {
                    // A failure is already recorded by load_plugin.
                    let _ = self.load_plugin(&plugin_dir);
                }
                Err(failure) => self.failures.push(failure),
            }
        }
        Ok(())
    }

    /// Loads the plugin in `plugin_dir`. On failure the reason is also recorded in
    /// [`Registry::failures`] or [`Registry::skipped`].
    ///
    /// ```
    /// # use plugbox::{HostConfig, Registry};
    /// let mut registry = Registry::new(HostConfig::default());
    /// let plugin = registry.load_plugin("examples/plugins/rust-marker".as_ref()).unwrap();
    /// assert_eq!(plugin.name(), "Rust Marker Scanner");
    /// assert_eq!(plugin.guest_version(), Some("0.1.0"));
    ///
    /// let missing = registry.load_plugin("no/such/plugin".as_ref()).unwrap_err();
    /// assert!(missing.to_string().contains("plugin.json"));
    /// ```
    pub fn load_plugin(&mut self, plugin_dir: &Path) -> Result<&Plugin, &LoadFailure> {
        let result = Plugin::load(&self.runtime, &self.config, plugin_dir);
        self.record(plugin_dir.to_path_buf(), result)
    }

    /// Keeps a loaded plugin, or records why it did not load.
    fn record(
        &mut self,
        dir: PathBuf,
        result: Result<Plugin, (Option<String>, LoadError)>,
    ) -> Result<&Plugin, &LoadFailure> {
        let result = result.and_then(|plugin| match self.by_name(plugin.name()) {
            Some(first) => Err((
                Some(plugin.name().to_owned()),
                LoadError::DuplicateName {
                    name: plugin.name().to_owned(),
                    first: first
                        .dir()
                        .unwrap_or(Path::new(crate::plugin::IN_MEMORY))
                        .to_path_buf(),
                },
            )),
            None => Ok(plugin),
        });
        match result {
            Ok(plugin) => {
                self.plugins.push(plugin);
                Ok(self.plugins.last().expect("just pushed"))
            }
            Err((plugin, error)) => {
                let failure = LoadFailure { dir, plugin, error };
                // The host reports failures from `failures()`; logging them louder would say it twice.
                log::debug!("plugin not loaded: {failure}");
                let list = if failure.error.is_skip() {
                    &mut self.skipped
                } else {
                    &mut self.failures
                };
                list.push(failure);
                Err(list.last().expect("just pushed"))
            }
        }
    }

    /// Loads a plugin from a manifest and module bytes held in memory, e.g. plugins built
    /// into the host binary. Such a plugin has no directory, so `permissions.filesystem`
    /// cannot be granted. On failure the reason is also recorded in [`Registry::failures`].
    ///
    /// ```
    /// # use plugbox::{HostConfig, Manifest, Registry, manifest::ManifestRules};
    /// let json = std::fs::read("examples/plugins/marker-scanner/plugin.json").unwrap();
    /// let rules = ManifestRules { file_types: &["unknown"] };
    /// let manifest = Manifest::parse(&json, "built-in".as_ref(), rules).unwrap();
    /// let wasm = std::fs::read("examples/plugins/marker-scanner/marker_scanner.wasm").unwrap();
    /// let mut registry = Registry::new(HostConfig::default());
    /// registry.add_plugin(manifest, &wasm).unwrap();
    /// assert_eq!(registry.scan(b"MALICIOUS_MARKER", "x", "unknown").max_score(), 85);
    /// ```
    pub fn add_plugin(&mut self, manifest: Manifest, wasm: &[u8]) -> Result<&Plugin, &LoadFailure> {
        let name = manifest.name().to_owned();
        let result = Plugin::from_bytes(&self.runtime, &self.config, manifest, wasm);
        self.record(
            PathBuf::from(crate::plugin::IN_MEMORY),
            result.map_err(|e| (Some(name), e)),
        )
    }

    /// The loaded plugin named `name`, if any.
    pub fn by_name(&self, name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|plugin| plugin.name() == name)
    }

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// Plugin directories that failed to load, with the reasons.
    pub fn failures(&self) -> &[LoadFailure] {
        &self.failures
    }

    /// Plugins skipped on purpose: their `platforms` exclude this host, or they need a newer
    /// plugbox (`min_engine_version`).
    pub fn skipped(&self) -> &[LoadFailure] {
        &self.skipped
    }

    /// Runs every plugin whose `file_types` accept `file_type` on `data`, each in a fresh
    /// instance. A plugin's trap, timeout or memory refusal ends only its own run.
    pub fn scan(&self, data: &[u8], path: &str, file_type: &str) -> ScanReport {
        let input = Input {
            data,
            path,
            file_type,
        };
        let mut report = ScanReport::default();
        for plugin in self.plugins.iter().filter(|p| p.accepts(file_type)) {
            let (run, findings) = plugin.run(&self.runtime, input);
            report.findings.extend(findings);
            report.runs.push(run);
        }
        report
    }
}

/// Plugin directories under `dir` in name order; entries that cannot be read become failures.
fn discover(dir: &Path) -> io::Result<Vec<Result<PathBuf, LoadFailure>>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                found.push(Err(LoadFailure {
                    dir: dir.to_path_buf(),
                    plugin: None,
                    error: LoadError::Read {
                        path: dir.to_path_buf(),
                        error,
                    },
                }));
                continue;
            }
        };
        let path = entry.path();
        // A dangling or unreadable plugin.json still counts: loading it reports why.
        if path.is_dir() && path.join("plugin.json").symlink_metadata().is_ok() {
            found.push(Ok(path));
        } else if path.is_dir() {
            log::debug!("{}: no plugin.json, not a plugin", path.display());
        }
    }
    found.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => a.file_name().cmp(&b.file_name()),
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
    Ok(found)
}
