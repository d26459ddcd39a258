//! plugbox: a lightweight, sandboxed WebAssembly plugin runtime on the wasmi interpreter.
//!
//! It runs detection plugins written to the PRX-SD plugin contract (a `plugin.json` manifest
//! plus the `env` host ABI, see `abi/ABI.md`) and enforces what that contract promises: a
//! real memory cap, a wall-clock time budget built from fuel metering, and deny-by-default
//! capabilities.
//!
//! ```no_run
//! use plugbox::{HostConfig, Registry};
//!
//! let mut registry = Registry::new(HostConfig::default());
//! registry.load_dir("plugins".as_ref())?;
//! for failure in registry.failures() {
//!     eprintln!("plugin not loaded: {failure}");
//! }
//! let data = std::fs::read("sample.bin")?;
//! let report = registry.scan(&data, "sample.bin", plugbox::file_type::detect(&data));
//! for finding in &report.findings {
//!     println!("{}: {} ({})", finding.plugin, finding.threat, finding.score);
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod exports;
pub mod file_type;
mod files;
pub mod findings;
pub mod host;
pub mod manifest;
pub mod plugin;
pub mod registry;
mod runtime;
pub mod sandbox;

pub use error::{LoadError, LoadFailure};
pub use files::read_input;
pub use findings::{
    CallCost, Dropped, Failure, FailureKind, Finding, PluginRun, RunStatus, ScanReport, Stage,
};
pub use manifest::{Manifest, Permissions};
pub use plugin::{Input, Plugin};
pub use registry::{HostConfig, Registry, engine_version};

/// The README's examples, compiled as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
