//! One consistent set of loaded plugins (CONTRACT §7): what a scan runs on, whole, even
//! while the registry reloads.

use std::sync::Arc;

use crate::cancel::CancelHandle;
use crate::error::LoadFailure;
use crate::findings::ScanReport;
use crate::input::{Input, SharedBytes};
use crate::plugin::{Plugin, Scanned};

/// The plugins of a [`Registry`](crate::Registry) at one moment, and what failed to load:
/// [`Registry::snapshot`](crate::Registry::snapshot) returns the current one. A reload
/// never changes a snapshot; it makes a new one. Hold one to run several scans, or to read
/// a limit and then scan, on exactly the same plugins.
///
/// ```
/// # use plugbox::{HostConfig, Input, Registry};
/// let registry = Registry::new(HostConfig::default());
/// registry.load_dir("examples/plugins".as_ref())?;
/// let plugins = registry.snapshot();
/// let data = plugbox::read_input("examples/samples/marked.txt".as_ref(), plugins.max_input_bytes())?;
/// let report = plugins.scan(Input::new(&data)); // the same plugins, whatever reloads meanwhile
/// assert_eq!(report.runs.len(), plugins.plugins().len());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Snapshot {
    pub(crate) plugins: Vec<Arc<Plugin>>,
    pub(crate) failures: Vec<LoadFailure>,
    pub(crate) skipped: Vec<LoadFailure>,
}

impl Snapshot {
    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The loaded plugin named `name` (its manifest name), if any.
    pub fn plugin(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.plugins.iter().find(|plugin| plugin.name() == name)
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

    /// The largest input any of these plugins can scan, in bytes: an input larger than this
    /// fits none of them ([`read_input`](crate::read_input)). That is the largest memory any
    /// of them was granted, or [`MAX_HOST_INPUT_BYTES`](crate::limits::MAX_HOST_INPUT_BYTES)
    /// when one reads its input through the host (`"input": "host"`):
    /// [`Plugin::max_input_bytes`].
    pub fn max_input_bytes(&self) -> u64 {
        self.plugins
            .iter()
            .map(|plugin| plugin.max_input_bytes())
            .max()
            .unwrap_or(0)
    }

    /// Runs every plugin whose `file_types` accept the input's type on it, each in a fresh
    /// instance, in load order. A plugin's trap, timeout or memory refusal ends only its own
    /// run; the report has one [`PluginRun`](crate::PluginRun) per plugin called.
    pub fn scan(&self, input: Input<'_>) -> ScanReport {
        self.scan_with(input, None)
    }

    /// [`scan`](Snapshot::scan), ended early when `cancel` is cancelled (from another
    /// thread): the plugin running then stops within about a millisecond and the rest are
    /// not run, each reported as [`FailureKind::Cancelled`](crate::FailureKind::Cancelled).
    pub fn scan_cancellable(&self, input: Input<'_>, cancel: &CancelHandle) -> ScanReport {
        self.scan_with(input, Some(cancel))
    }

    fn scan_with(&self, input: Input<'_>, cancel: Option<&CancelHandle>) -> ScanReport {
        let file_type = input.file_type_name();
        let called = || self.plugins.iter().filter(|p| p.accepts(file_type));
        // Plugins reading through the host helpers need the bytes shared: as given, or copied
        // once for all of them.
        let copied: Option<SharedBytes> = match input.shared_bytes() {
            None if called().any(|p| p.reads_through_host()) => {
                Some(std::sync::Arc::new(input.data().to_vec()))
            }
            _ => None,
        };
        let scanned = Scanned {
            data: input.data(),
            shared: input.shared_bytes().or(copied.as_ref()),
            path: input.path_name(),
            file_type,
        };
        let mut report = ScanReport::default();
        for plugin in called() {
            let (run, findings) = plugin.run(scanned, cancel);
            report.findings.extend(findings);
            report.runs.push(run);
        }
        report
    }
}
