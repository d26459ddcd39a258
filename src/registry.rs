//! The plugin registry (CONTRACT §1): discovers plugin directories in name order, loads each
//! in isolation, keeps what failed with its reason, and runs the loaded plugins on inputs.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cancel::CancelHandle;
use crate::config::HostConfig;
use crate::error::{LoadError, LoadFailure};
use crate::findings::ScanReport;
use crate::input::Input;
use crate::manifest::Manifest;
use crate::plugin::{IN_MEMORY, Plugin, Scanned};
use crate::runtime::Runtime;

/// Loaded plugins, and the plugin directories that did not load: the entry point of the
/// library. Configure it with a [`HostConfig`], load plugins from a directory
/// ([`load_dir`](Registry::load_dir), [`load_plugin`](Registry::load_plugin)) or from bytes
/// ([`add_plugin`](Registry::add_plugin)), then [`scan`](Registry::scan) inputs.
///
/// Each plugin is compiled once, at load; every scan runs each applicable plugin in a fresh
/// instance, so nothing survives from one input to the next. A registry is `Send + Sync`:
/// scan from as many threads as you like.
///
/// ```
/// use plugbox::{HostConfig, Input, Registry, RunStatus};
///
/// let mut registry = Registry::new(HostConfig::default());
/// registry.load_dir("examples/plugins".as_ref())?;
/// assert!(registry.failures().is_empty());
///
/// let report = registry.scan(Input::new(b"... MALICIOUS_MARKER ...").path("upload.bin"));
/// assert!(report.max_score() >= 60);
/// for run in &report.runs {
///     match &run.status {
///         RunStatus::Ok { score } => println!("{}: score {score}", run.plugin),
///         RunStatus::Failed(failure) => println!("{}: {failure}", run.plugin),
///         RunStatus::Skipped { reason } => println!("{}: skipped, {reason}", run.plugin),
///         _ => {}
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Registry {
    runtime: Runtime,
    config: HostConfig,
    plugins: Vec<Arc<Plugin>>,
    failures: Vec<LoadFailure>,
    skipped: Vec<LoadFailure>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |plugins: &[Arc<Plugin>]| -> Vec<String> {
            plugins.iter().map(|p| p.name().to_owned()).collect()
        };
        f.debug_struct("Registry")
            .field("config", &self.config)
            .field("plugins", &names(&self.plugins))
            .field("failures", &self.failures.len())
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry for a host described by `config`.
    pub fn new(config: HostConfig) -> Self {
        Self {
            runtime: Runtime::new(config.log_target()),
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

    /// The configuration this registry was made with.
    pub fn config(&self) -> &HostConfig {
        &self.config
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
    /// assert_eq!(registry.failures().len(), 1);
    /// ```
    pub fn load_plugin(&mut self, plugin_dir: &Path) -> Result<Arc<Plugin>, LoadFailure> {
        let result = Plugin::load(&self.runtime, &self.config, plugin_dir);
        self.record(plugin_dir.to_path_buf(), result)
    }

    /// Keeps a loaded plugin, or records why it did not load.
    fn record(
        &mut self,
        dir: PathBuf,
        result: Result<Plugin, (Option<String>, LoadError)>,
    ) -> Result<Arc<Plugin>, LoadFailure> {
        let result = result.and_then(|plugin| match self.plugin(plugin.name()) {
            Some(first) => Err((
                Some(plugin.name().to_owned()),
                LoadError::DuplicateName {
                    name: plugin.name().to_owned(),
                    first: first.dir().unwrap_or(Path::new(IN_MEMORY)).to_path_buf(),
                },
            )),
            None => Ok(plugin),
        });
        match result {
            Ok(plugin) => {
                let plugin = Arc::new(plugin);
                self.plugins.push(Arc::clone(&plugin));
                Ok(plugin)
            }
            Err((plugin, error)) => {
                let failure = LoadFailure::new(dir, plugin, error);
                // The host reports failures from `failures()`; logging them louder would say it twice.
                log::debug!("plugin not loaded: {failure}");
                let list = if failure.error().is_skip() {
                    &mut self.skipped
                } else {
                    &mut self.failures
                };
                list.push(failure.clone());
                Err(failure)
            }
        }
    }

    /// Loads a plugin from its `plugin.json` and module bytes held in memory, e.g. plugins
    /// built into the host binary. The manifest is validated as one read from a directory.
    /// Such a plugin has no directory, so `permissions.filesystem` cannot be granted. On
    /// failure the reason is also recorded in [`Registry::failures`].
    ///
    /// ```
    /// # use plugbox::{HostConfig, Input, Registry};
    /// let json = include_bytes!("../examples/plugins/marker-scanner/plugin.json");
    /// let wasm = std::fs::read("examples/plugins/marker-scanner/marker_scanner.wasm").unwrap();
    /// let mut registry = Registry::new(HostConfig::default());
    /// registry.add_plugin(json, &wasm).unwrap();
    /// assert_eq!(registry.scan(Input::new(b"MALICIOUS_MARKER")).max_score(), 85);
    /// ```
    pub fn add_plugin(
        &mut self,
        manifest_json: &[u8],
        wasm: &[u8],
    ) -> Result<Arc<Plugin>, LoadFailure> {
        let source = Path::new(IN_MEMORY);
        let result = Manifest::parse(manifest_json, &source.join("plugin.json"), &self.config)
            .map_err(|e| (None, LoadError::Manifest(e)))
            .and_then(|manifest| {
                let name = manifest.name().to_owned();
                Plugin::from_bytes(&self.runtime, &self.config, manifest, wasm)
                    .map_err(|e| (Some(name), e))
            });
        self.record(source.to_path_buf(), result)
    }

    /// The loaded plugin named `name` (its manifest name), if any.
    pub fn plugin(&self, name: &str) -> Option<Arc<Plugin>> {
        self.plugins
            .iter()
            .find(|plugin| plugin.name() == name)
            .cloned()
    }

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The largest memory any loaded plugin was granted, in bytes: an input larger than this
    /// fits no plugin, so a host reading files can stop reading there
    /// ([`read_input`](crate::read_input)).
    ///
    /// ```
    /// # use plugbox::{HostConfig, Registry};
    /// let mut registry = Registry::new(HostConfig::default());
    /// registry.load_dir("examples/plugins".as_ref())?;
    /// let data = plugbox::read_input("examples/samples/marked.txt".as_ref(), registry.max_input_bytes())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_input_bytes(&self) -> u64 {
        self.plugins
            .iter()
            .map(|plugin| plugin.grants().max_memory_bytes() as u64)
            .max()
            .unwrap_or(0)
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

    /// Runs every plugin whose `file_types` accept the input's type on it, each in a fresh
    /// instance, in load order. A plugin's trap, timeout or memory refusal ends only its own
    /// run; the report has one [`PluginRun`](crate::PluginRun) per plugin called.
    pub fn scan(&self, input: Input<'_>) -> ScanReport {
        self.scan_with(input, None)
    }

    /// [`scan`](Registry::scan), ended early when `cancel` is cancelled (from another
    /// thread): the plugin running then stops within about a millisecond and the rest are
    /// not run, each reported as [`FailureKind::Cancelled`](crate::FailureKind::Cancelled).
    ///
    /// ```
    /// use std::time::Duration;
    /// use plugbox::{CancelHandle, HostConfig, Input, Registry};
    ///
    /// let mut registry = Registry::new(HostConfig::default());
    /// registry.load_dir("examples/plugins".as_ref())?;
    /// let cancel = CancelHandle::new();
    /// let canceller = cancel.clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_secs(5)); // e.g. the user pressed Ctrl-C
    ///     canceller.cancel();
    /// });
    /// let report = registry.scan_cancellable(Input::new(b"MALICIOUS_MARKER"), &cancel);
    /// assert_eq!(report.max_score(), 85); // finished long before the cancellation
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn scan_cancellable(&self, input: Input<'_>, cancel: &CancelHandle) -> ScanReport {
        self.scan_with(input, Some(cancel))
    }

    fn scan_with(&self, input: Input<'_>, cancel: Option<&CancelHandle>) -> ScanReport {
        let scanned = Scanned {
            data: input.data(),
            path: input.path_name(),
            file_type: input.file_type_name(),
        };
        let mut report = ScanReport::default();
        for plugin in self.plugins.iter().filter(|p| p.accepts(scanned.file_type)) {
            let (run, findings) = plugin.run(&self.runtime, scanned, cancel);
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
                found.push(Err(LoadFailure::new(
                    dir.to_path_buf(),
                    None,
                    LoadError::Read {
                        path: dir.to_path_buf(),
                        error: Arc::new(error),
                    },
                )));
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
