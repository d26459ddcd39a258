//! Hot reload (CONTRACT §7): how a change to a plugin directory is detected, and what a
//! reload reports.
//!
//! A plugin's source is its `plugin.json` and its module file. A reload first compares each
//! file's size and modification time with what they were when the plugin was loaded; only
//! when they differ are both files read and their contents compared (a 64-bit hash), so a
//! touched but unchanged plugin keeps its compiled module. A file modified within
//! [`RACY_WINDOW`] of the moment it was last looked at is confirmed by content even when
//! size and time match, since a second write in the same clock tick leaves them unchanged
//! (git calls such entries "racily clean").

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::error::LoadFailure;
use crate::files;
use crate::limits::{MAX_MANIFEST_BYTES, MAX_MODULE_BYTES};
use crate::plugin::confine;

/// How close to the last look a modification time must be for size and time alone not to
/// be trusted.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The size and modification time of one file of a plugin's source.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// What a plugin directory held when it was loaded.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    stamps: Vec<Option<Stamp>>,
    hash: u64,
    looked_at: SystemTime,
}

impl Source {
    /// Stamps and hashes the source in `dir`: `plugin.json`, and the module it names when
    /// that resolves inside the directory. Taken before loading, so a change made while the
    /// plugin loads is seen by the next reload.
    pub(crate) fn read(dir: &Path) -> Self {
        let looked_at = SystemTime::now();
        let manifest_path = dir.join("plugin.json");
        let mut paths = vec![manifest_path.clone()];
        let mut hasher = DefaultHasher::new();
        // Unreadable files hash as empty: loading reports why they are unreadable.
        let manifest = files::read_regular(&manifest_path, MAX_MANIFEST_BYTES).unwrap_or_default();
        hasher.write(&manifest);
        hasher.write_u8(0xff);
        if let Some((file, path)) = module_file(dir, &manifest) {
            hasher.write(&files::read_bounded(file, MAX_MODULE_BYTES).unwrap_or_default());
            paths.push(path);
        }
        Self {
            stamps: paths.iter().map(|p| Stamp::of(p)).collect(),
            hash: hasher.finish(),
            looked_at,
        }
    }

    /// Whether `dir` still holds this source: by size and time, confirmed by content when
    /// they differ or are too recent to be trusted. A source confirmed unchanged by content
    /// takes the new stamps, so the next check can trust them again.
    pub(crate) fn unchanged(&mut self, dir: &Path) -> bool {
        let stamps: Vec<Option<Stamp>> = self
            .stamps
            .iter()
            .map(|stamp| stamp.as_ref().and_then(|s| Stamp::of(&s.path)))
            .collect();
        let racy = stamps.iter().flatten().any(|stamp| {
            stamp
                .modified
                .is_none_or(|modified| modified + RACY_WINDOW >= self.looked_at)
        });
        if stamps == self.stamps && !racy {
            return true;
        }
        let now = Self::read(dir);
        let same = now.stamps.len() == self.stamps.len() && now.hash == self.hash;
        if same {
            *self = now;
        }
        same
    }
}

/// The module file `manifest` names, opened inside `dir`, if it can be.
fn module_file(dir: &Path, manifest: &[u8]) -> Option<(std::fs::File, PathBuf)> {
    let value: Value = serde_json::from_slice(manifest).ok()?;
    let wasm_file = value.get("wasm_file")?.as_str()?;
    confine(dir, Path::new(wasm_file)).ok()
}

/// A plugin a reload added, changed or removed: its directory and manifest name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginChange {
    /// The plugin directory.
    pub dir: PathBuf,
    /// The plugin's manifest name.
    pub plugin: String,
}

/// What [`Registry::reload`](crate::Registry::reload) changed. Plugins not listed kept
/// their compiled module.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Plugin directories that appeared, or that failed before and now load.
    pub added: Vec<PluginChange>,
    /// Loaded plugins whose `plugin.json` or module changed, loaded again.
    pub changed: Vec<PluginChange>,
    /// Loaded plugins whose directory is gone, or that no longer load (then also in
    /// `failed`): the old version is dropped either way.
    pub removed: Vec<PluginChange>,
    /// Plugin directories, new or changed, that did not load, with the reasons.
    pub failed: Vec<LoadFailure>,
}

impl ReloadReport {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.failed.is_empty()
    }
}
