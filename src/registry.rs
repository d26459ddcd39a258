//! The plugin registry (CONTRACT §1): discovers plugin directories in name order, loads each
//! in isolation, keeps what failed with its reason, and runs the loaded plugins on inputs.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{LoadError, LoadFailure};
use crate::file_type;
use crate::findings::ScanReport;
use crate::plugin::{Input, Plugin};
use crate::runtime::Runtime;

/// What the host tells the registry about itself.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// File-type names manifests may list besides `all`; a name outside this set is a
    /// manifest error, so typos are caught at load.
    pub file_types: Vec<String>,
    /// The OS name matched against `platforms` (`linux`, `macos`, `windows`).
    pub platform: String,
    /// The version `min_engine_version` is compared with.
    pub engine_version: semver::Version,
}

impl Default for HostConfig {
    /// The CLI's file types ([`file_type::KNOWN`]), this OS, and this crate's version.
    fn default() -> Self {
        Self {
            file_types: file_type::KNOWN.iter().map(|t| t.to_string()).collect(),
            platform: std::env::consts::OS.to_owned(),
            engine_version: engine_version(),
        }
    }
}

/// The plugbox crate version, which `min_engine_version` is compared with.
pub fn engine_version() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver")
}

/// Loaded plugins, and the plugin directories that did not load.
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
            runtime: Runtime::new(),
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
    pub fn load_plugin(&mut self, plugin_dir: &Path) -> Result<&Plugin, &LoadFailure> {
        match Plugin::load(&self.runtime, &self.config, plugin_dir) {
            Ok(plugin) => {
                self.plugins.push(plugin);
                Ok(self.plugins.last().expect("just pushed"))
            }
            Err((plugin, error)) => {
                let failure = LoadFailure {
                    dir: plugin_dir.to_path_buf(),
                    plugin,
                    error,
                };
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

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// Plugin directories that failed to load, with the reasons.
    pub fn failures(&self) -> &[LoadFailure] {
        &self.failures
    }

    /// Plugins skipped on purpose (their `platforms` exclude this host).
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
