//! plugbox: a lightweight, sandboxed WebAssembly plugin runtime on the wasmi interpreter.
//!
//! It runs detection plugins written to the PRX-SD plugin contract (a `plugin.json` manifest
//! plus the `env` host ABI, see `abi/ABI.md`) and enforces what that contract promises: a
//! real memory cap, a wall-clock time budget built from fuel metering, and deny-by-default
//! capabilities.
//!
//! ```no_run
//! use plugbox::{HostConfig, Input, Registry};
//!
//! let registry = Registry::new(HostConfig::default());
//! registry.load_dir("plugins".as_ref())?;
//! for failure in registry.failures() {
//!     eprintln!("plugin not loaded: {failure}");
//! }
//! let data = std::fs::read("sample.bin")?;
//! let report = registry.scan(Input::new(&data).path("sample.bin"));
//! for finding in &report.findings {
//!     println!("{}: {} ({})", finding.plugin, finding.threat, finding.score);
//! }
//! for (plugin, failure) in report.failures() {
//!     eprintln!("{plugin} could not scan sample.bin: {failure}");
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The surface, by task:
//!
//! | task | items |
//! |---|---|
//! | configure a host, with ceilings on every plugin | [`HostConfig`] |
//! | load plugins from a directory or from bytes | [`Registry::load_dir`], [`Registry::load_plugin`], [`Registry::add_plugin`]; what did not load: [`LoadFailure`], [`LoadError`] |
//! | what is loaded | [`Plugin`], [`Manifest`], [`Permissions`], [`Grants`] |
//! | scan bytes with a path and a type | [`Input`], [`Registry::scan`], [`file_type`] |
//! | read findings and per-plugin outcomes | [`ScanReport`], [`Finding`], [`PluginRun`], [`RunStatus`], [`Failure`] |
//! | cancel a running scan from another thread | [`CancelHandle`], [`Registry::scan_cancellable`] |
//! | run programs that speak over stdin and stdout (command plugins) | [`CommandPlugin`], [`CommandConfig`], [`CommandOutput`] |
//! | the numbers plugbox enforces | [`limits`] |
//! | the imports a plugin may use | [`abi`] |
//! | show plugin-chosen text safely | [`printable`] |
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod abi;
mod cancel;
mod command;
mod config;
mod discovery;
mod error;
mod exports;
pub mod file_type;
mod files;
mod findings;
mod host;
mod input;
pub mod inspect;
pub mod limits;
mod manifest;
mod plugin;
mod registry;
mod reload;
mod runtime;
mod sandbox;
mod snapshot;
mod text;

pub use cancel::CancelHandle;
pub use command::{CommandConfig, CommandOutput, CommandPlugin};
pub use config::{HostConfig, PLUGIN_LOG_TARGET, engine_version};
pub use error::{LoadError, LoadFailure};
pub use files::read_input;
pub use findings::{
    CallCost, Dropped, Failure, FailureKind, Finding, PluginRun, RunStatus, ScanReport, Stage,
};
pub use input::{Input, SharedBytes};
pub use manifest::{InputMode, Manifest, ManifestError, Permissions};
pub use plugin::{Grants, Plugin};
pub use registry::Registry;
pub use reload::{PluginChange, ReloadReport};
pub use snapshot::Snapshot;
pub use text::printable;

/// The README's examples, compiled as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
