//! Hot reload (CONTRACT §7): how a change to a plugin directory is detected, and what a
//! reload reports.
//!
//! A plugin's source is its `plugin.json` and its module file. A reload first compares each
//! file's stamp (size, modification time, and on Unix the inode number and change time,
//! which `touch -r` or `cp -p` cannot put back) with what it was when the plugin was
//! loaded; a missing file is stamped as missing, so its appearance counts. Only when a stamp
//! differs are both files read and their contents compared (a 64-bit hash), so a touched but
//! unchanged plugin keeps its compiled module. A file changed within [`RACY_WINDOW`] of the
//! moment it was last looked at is confirmed by content even when its stamp matches, since
//! a second write in the same clock tick leaves it unchanged (git calls such entries
//! "racily clean").
//!
//! A pre-initialised plugin with filesystem access may have read files of its directory
//! while initialising, and every instance carries what it read. So its whole directory tree
//! is watched as well, by stamps alone (at most [`MAX_WATCHED_ENTRIES`] entries): a changed,
//! added or removed entry, or one changed within the racy window, reloads it.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::error::LoadFailure;
use crate::files;
use crate::limits::{MAX_MANIFEST_BYTES, MAX_MODULE_BYTES};
use crate::plugin::confine;

/// How close to the last look a file's change time must be for its stamp alone not to be
/// trusted.
const RACY_WINDOW: Duration = Duration::from_secs(2);
/// Most entries of a plugin directory watched for its data (see the module docs); entries
/// past it, in name order, are not watched.
const MAX_WATCHED_ENTRIES: usize = 1024;
/// Deepest subdirectory watched for a plugin's data.
const MAX_WATCHED_DEPTH: usize = 8;

/// What `stat` says of one file of a plugin's source; `None` when it is missing, so that a
/// file appearing later is noticed too.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    meta: Option<Meta>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    len: u64,
    modified: Option<SystemTime>,
    /// The inode change time and number where the platform has them: `touch -r`, `cp -p`
    /// and `rsync -t` put an old modification time back, but not these.
    changed: Option<(i64, i64)>,
    inode: Option<u64>,
}

impl Stamp {
    fn of(path: &Path) -> Self {
        let meta = std::fs::metadata(path).ok().map(|meta| Meta {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed: change_time(&meta),
            inode: inode(&meta),
        });
        Self {
            path: path.to_path_buf(),
            meta,
        }
    }

    /// The latest of the file's modification and change times.
    fn latest(&self) -> Option<SystemTime> {
        let meta = self.meta.as_ref()?;
        let changed = meta.changed.and_then(|(secs, nanos)| {
            let secs = u64::try_from(secs).ok()?;
            let nanos = u32::try_from(nanos).ok()?;
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        });
        meta.modified.max(changed)
    }
}

#[cfg(unix)]
fn change_time(meta: &std::fs::Metadata) -> Option<(i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.ctime(), meta.ctime_nsec()))
}

#[cfg(not(unix))]
fn change_time(_: &std::fs::Metadata) -> Option<(i64, i64)> {
    None
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.ino())
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> Option<u64> {
    None
}

/// What a plugin directory held when it was loaded.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    stamps: Vec<Stamp>,
    hash: u64,
    looked_at: SystemTime,
    /// The stamps of every entry of the directory tree, for a plugin whose initialisation
    /// may have read it.
    data: Option<Vec<Stamp>>,
}

impl Source {
    /// Stamps and hashes the source in `dir`: `plugin.json`, and the module it names (even
    /// when missing or unreadable, so that its appearance is noticed). Taken before loading,
    /// so a change made while the plugin loads is seen by the next reload.
    pub(crate) fn read(dir: &Path) -> Self {
        let looked_at = SystemTime::now();
        let manifest_path = dir.join("plugin.json");
        let mut hasher = DefaultHasher::new();
        // Unreadable files hash as empty: loading reports why they are unreadable.
        let manifest = files::read_regular(&manifest_path, MAX_MANIFEST_BYTES).unwrap_or_default();
        hasher.write(&manifest);
        hasher.write_u8(0xff);
        let mut stamps = vec![Stamp::of(&manifest_path)];
        if let Some(wasm_file) = wasm_file(&manifest) {
            if let Ok((file, _)) = confine(dir, Path::new(&wasm_file)) {
                hasher.write(&files::read_bounded(file, MAX_MODULE_BYTES).unwrap_or_default());
            }
            stamps.push(Stamp::of(&dir.join(wasm_file)));
        }
        Self {
            stamps,
            hash: hasher.finish(),
            looked_at,
            data: None,
        }
    }

    /// Watches the whole tree of `dir` too, by stamps (taken now, but judged racy against
    /// the look taken before loading, so a change made while the plugin loaded counts).
    pub(crate) fn watch_data(&mut self, dir: &Path) {
        self.data = Some(tree_stamps(dir));
    }

    /// Whether a stamp's times fall within the racy window of the last look.
    fn is_racy(&self, stamp: &Stamp) -> bool {
        stamp.latest().is_some_and(|t| {
            let after = t.duration_since(self.looked_at).unwrap_or_default();
            let before = self.looked_at.duration_since(t).unwrap_or_default();
            after <= RACY_WINDOW && before <= RACY_WINDOW
        })
    }

    /// Whether `dir` still holds this source: by the files' stamps, confirmed by content
    /// when they differ or are too recent to be trusted. A source confirmed unchanged by
    /// content takes the new stamps, so the next check can trust them again.
    pub(crate) fn unchanged(&mut self, dir: &Path) -> bool {
        if let Some(data) = &self.data {
            // Stamps alone: what the plugin read is not kept to compare contents with.
            let now = tree_stamps(dir);
            if now != *data || now.iter().any(|stamp| self.is_racy(stamp)) {
                return false;
            }
        }
        let stamps: Vec<Stamp> = self.stamps.iter().map(|s| Stamp::of(&s.path)).collect();
        // A change within the window of the last look may have left the stamp as it was
        // (a second write in the same clock tick). Times far in the future (clock skew)
        // are not racy: the change time moves with any later write anyway.
        let racy = stamps.iter().any(|stamp| self.is_racy(stamp));
        if stamps == self.stamps && !racy {
            return true;
        }
        let mut now = Self::read(dir);
        let same = now.stamps.len() == self.stamps.len() && now.hash == self.hash;
        if same {
            now.data = self.data.take();
            *self = now;
        }
        same
    }
}

/// Stamps of `dir` and every entry below it, in name order, within [`MAX_WATCHED_ENTRIES`]
/// and [`MAX_WATCHED_DEPTH`]. A directory's own stamp changes when an entry is added or
/// removed.
fn tree_stamps(dir: &Path) -> Vec<Stamp> {
    let mut stamps = vec![Stamp::of(dir)];
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((current, depth)) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&current) else {
            continue;
        };
        let mut names: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            if stamps.len() >= MAX_WATCHED_ENTRIES {
                return stamps;
            }
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if is_dir && depth < MAX_WATCHED_DEPTH {
                pending.push((path.clone(), depth + 1));
            }
            stamps.push(Stamp::of(&path));
        }
    }
    stamps
}

/// The module file `manifest` names, if it parses.
fn wasm_file(manifest: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(manifest).ok()?;
    Some(value.get("wasm_file")?.as_str()?.to_owned())
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
    /// Plugin directories, new or changed, skipped on purpose (another platform, a newer
    /// `min_engine_version`): not errors, as at the first load.
    pub skipped: Vec<LoadFailure>,
}

impl ReloadReport {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.failed.is_empty()
            && self.skipped.is_empty()
    }
}
