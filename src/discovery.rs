//! Finding plugin directories (CONTRACT §1) and loading them, in parallel: every plugin
//! has an engine of its own, so plugins compile on as many cores as there are.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::HostConfig;
use crate::error::{LoadError, LoadFailure};
use crate::plugin::Plugin;
use crate::reload::Source;

/// What loading one plugin directory gave, before its name is checked.
pub(crate) type Compiled = (Source, Result<Plugin, (Option<String>, LoadError)>);

/// Loads one plugin directory, its source stamped first; the data files of its directory
/// too when its pre-initialisation may have read them (a change to them must reload it).
pub(crate) fn load_one(config: &HostConfig, dir: &Path) -> Compiled {
    let mut source = Source::read(dir);
    let result = Plugin::load(config, dir);
    if result.as_ref().is_ok_and(Plugin::init_reads_its_dir) {
        source.watch_data(dir);
    }
    (source, result)
}

/// Loads the plugins in `dirs` on up to as many threads as there are cores, each directory's
/// source stamped before it loads; the results in the order of `dirs`.
pub(crate) fn compile_all(config: &HostConfig, dirs: &[&Path]) -> Vec<Compiled> {
    let load = |dir: &Path| load_one(config, dir);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(dirs.len());
    if threads <= 1 {
        return dirs.iter().map(|dir| load(dir)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Compiled)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(dir) = dirs.get(i) else { break mine };
                        mine.push((i, load(dir)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(mine) => mine,
                // A panic while loading is the host's (a logger, say): pass it on.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, compiled)| compiled).collect()
}

/// Plugin directories under `dir` in name order; entries that cannot be read become failures.
/// A `dir` that holds a `plugin.json` itself is one plugin directory, and the only one found
/// (`plugbox scan --plugins examples/plugins/marker-find`).
pub(crate) fn discover(dir: &Path) -> io::Result<Vec<Result<PathBuf, LoadFailure>>> {
    if dir.is_dir() && dir.join("plugin.json").symlink_metadata().is_ok() {
        return Ok(vec![Ok(dir.to_path_buf())]);
    }
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
