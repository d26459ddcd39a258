//! The plugin registry (CONTRACT §1, §7): discovers plugin directories in name order, loads
//! each in isolation, keeps what failed with its reason, runs the loaded plugins on inputs,
//! and reloads what changed on disk.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::cancel::CancelHandle;
use crate::config::HostConfig;
use crate::discovery::{compile_all, discover, load_one};
use crate::error::{LoadError, LoadFailure};
use crate::findings::ScanReport;
use crate::input::Input;
use crate::manifest::Manifest;
use crate::plugin::{IN_MEMORY, Plugin};
use crate::reload::{PluginChange, ReloadReport, Source};
use crate::snapshot::Snapshot;

/// Loaded plugins, and the plugin directories that did not load: the entry point of the
/// library. Configure it with a [`HostConfig`], load plugins from a directory
/// ([`load_dir`](Registry::load_dir), [`load_plugin`](Registry::load_plugin)) or from bytes
/// ([`add_plugin`](Registry::add_plugin)), then [`scan`](Registry::scan) inputs.
///
/// Each plugin is compiled once, at load; every scan runs each applicable plugin in a fresh
/// instance, so nothing survives from one input to the next. A registry is `Send + Sync`
/// and every method takes `&self`: scan from as many threads as you like, and
/// [`reload`](Registry::reload) from another. A scan runs on the set of plugins current when
/// it started, whole; loading and reloading compile outside the lock scans take, so scans
/// never wait for a compilation.
///
/// ```
/// use plugbox::{HostConfig, Input, Registry, RunStatus};
///
/// let registry = Registry::new(HostConfig::default());
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
    config: HostConfig,
    /// What scans use: replaced whole by loads and reloads.
    current: RwLock<Arc<Snapshot>>,
    /// Where each plugin came from, in load order. Its lock serialises loads and reloads.
    entries: Mutex<Vec<Entry>>,
}

/// What was loaded: a directory of plugin directories, or one plugin.
#[derive(Clone)]
enum Entry {
    Root { dir: PathBuf, members: Vec<Member> },
    Single(Member),
}

/// One plugin directory (or in-memory plugin) and how loading it went.
#[derive(Clone)]
struct Member {
    dir: PathBuf,
    /// None for plugins loaded from memory, and for entries that could not be read.
    source: Option<Source>,
    outcome: Result<Arc<Plugin>, LoadFailure>,
}

impl Member {
    fn plugin(&self) -> Option<&Arc<Plugin>> {
        self.outcome.as_ref().ok()
    }

    fn named(&self) -> Option<(String, PathBuf)> {
        self.plugin()
            .map(|p| (p.name().to_owned(), self.dir.clone()))
    }

    fn change(&self) -> Option<PluginChange> {
        self.plugin().map(|plugin| PluginChange {
            dir: self.dir.clone(),
            plugin: plugin.name().to_owned(),
        })
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loaded = self.snapshot();
        let names: Vec<&str> = loaded.plugins.iter().map(|p| p.name()).collect();
        f.debug_struct("Registry")
            .field("config", &self.config)
            .field("plugins", &names)
            .field("failures", &loaded.failures.len())
            .field("skipped", &loaded.skipped.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry for a host described by `config`.
    pub fn new(config: HostConfig) -> Self {
        Self {
            config,
            current: RwLock::default(),
            entries: Mutex::default(),
        }
    }

    /// Loads every immediate subdirectory of `dir` that holds a `plugin.json`, in name order
    /// (compiled in parallel, on as many threads as there are cores).
    /// A plugin that fails to load is kept in [`Registry::failures`] (or
    /// [`Registry::skipped`], for another platform) and the others load regardless.
    /// [`reload`](Registry::reload) looks at `dir` again. A `dir` that holds a `plugin.json`
    /// itself is a plugin directory: that plugin is loaded alone (and reloaded like the
    /// others).
    ///
    /// Errors only when `dir` itself cannot be read.
    pub fn load_dir(&self, dir: &Path) -> io::Result<()> {
        let candidates = discover(dir)?;
        let mut entries = self.lock_entries();
        let mut names = live_names(&entries);
        // Compiled in parallel (each plugin has an engine of its own), accepted in name order,
        // so the first of two plugins with one name still wins.
        let dirs: Vec<&Path> = candidates
            .iter()
            .filter_map(|c| c.as_deref().ok())
            .collect();
        let mut compiled = compile_all(&self.config, &dirs).into_iter();
        let members = candidates
            .into_iter()
            .map(|candidate| match candidate {
                Ok(plugin_dir) => {
                    let (source, result) = compiled.next().expect("one load per directory");
                    let outcome = accept(&plugin_dir, result, &mut names);
                    Member {
                        dir: plugin_dir,
                        source: Some(source),
                        outcome,
                    }
                }
                Err(failure) => unreadable(failure),
            })
            .collect();
        entries.push(Entry::Root {
            dir: dir.to_path_buf(),
            members,
        });
        self.publish(&entries);
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
    /// let registry = Registry::new(HostConfig::default());
    /// let plugin = registry.load_plugin("examples/plugins/rust-marker".as_ref()).unwrap();
    /// assert_eq!(plugin.name(), "Rust Marker Scanner");
    /// assert_eq!(plugin.guest_version(), Some("0.1.0"));
    ///
    /// let missing = registry.load_plugin("no/such/plugin".as_ref()).unwrap_err();
    /// assert!(missing.to_string().contains("plugin.json"));
    /// assert_eq!(registry.failures().len(), 1);
    /// ```
    pub fn load_plugin(&self, plugin_dir: &Path) -> Result<Arc<Plugin>, LoadFailure> {
        let mut entries = self.lock_entries();
        let mut names = live_names(&entries);
        let member = self.load_member(plugin_dir.to_path_buf(), &mut names);
        let outcome = member.outcome.clone();
        entries.push(Entry::Single(member));
        self.publish(&entries);
        outcome
    }

    /// Loads one plugin directory, its source stamped first.
    fn load_member(&self, dir: PathBuf, names: &mut Names) -> Member {
        let (source, result) = load_one(&self.config, &dir);
        let outcome = accept(&dir, result, names);
        Member {
            dir,
            source: Some(source),
            outcome,
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
    /// let registry = Registry::new(HostConfig::default());
    /// registry.add_plugin(json, &wasm).unwrap();
    /// assert_eq!(registry.scan(Input::new(b"MALICIOUS_MARKER")).max_score(), 85);
    /// ```
    pub fn add_plugin(
        &self,
        manifest_json: &[u8],
        wasm: &[u8],
    ) -> Result<Arc<Plugin>, LoadFailure> {
        let source = Path::new(IN_MEMORY);
        let result = Manifest::parse(manifest_json, &source.join("plugin.json"), &self.config)
            .map_err(|e| (None, LoadError::Manifest(e)))
            .and_then(|manifest| {
                let name = manifest.name().to_owned();
                Plugin::from_bytes(&self.config, manifest, wasm).map_err(|e| (Some(name), e))
            });
        let mut entries = self.lock_entries();
        let mut names = live_names(&entries);
        let outcome = accept(source, result, &mut names);
        entries.push(Entry::Single(Member {
            dir: source.to_path_buf(),
            source: None,
            outcome: outcome.clone(),
        }));
        self.publish(&entries);
        outcome
    }

    /// The current set of plugins, whole: scans on it use exactly these plugins, whatever
    /// reloads meanwhile.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The loaded plugin named `name` (its manifest name), if any.
    pub fn plugin(&self, name: &str) -> Option<Arc<Plugin>> {
        self.snapshot().plugin(name).cloned()
    }

    /// The loaded plugins, in load order (after a reload: each directory given to
    /// [`load_dir`](Registry::load_dir) in name order, where it was first loaded).
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        self.snapshot().plugins().to_vec()
    }

    /// The largest memory any loaded plugin was granted, in bytes: an input larger than this
    /// fits no plugin, so a host reading files can stop reading there
    /// ([`read_input`](crate::read_input)). While plugins may be reloaded, take both this
    /// and the scan from one [`snapshot`](Registry::snapshot).
    ///
    /// ```
    /// # use plugbox::{HostConfig, Registry};
    /// let registry = Registry::new(HostConfig::default());
    /// registry.load_dir("examples/plugins".as_ref())?;
    /// let data = plugbox::read_input("examples/samples/marked.txt".as_ref(), registry.max_input_bytes())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_input_bytes(&self) -> u64 {
        self.snapshot().max_input_bytes()
    }

    /// Plugin directories that failed to load, with the reasons.
    pub fn failures(&self) -> Vec<LoadFailure> {
        self.snapshot().failures().to_vec()
    }

    /// Plugins skipped on purpose: their `platforms` exclude this host, or they need a newer
    /// plugbox (`min_engine_version`).
    pub fn skipped(&self) -> Vec<LoadFailure> {
        self.snapshot().skipped().to_vec()
    }

    /// Runs every plugin whose `file_types` accept the input's type on it, each in a fresh
    /// instance, in load order, on the current [`snapshot`](Registry::snapshot). A plugin's
    /// trap, timeout or memory refusal ends only its own run; the report has one
    /// [`PluginRun`](crate::PluginRun) per plugin called.
    pub fn scan(&self, input: Input<'_>) -> ScanReport {
        self.snapshot().scan(input)
    }

    /// [`scan`](Registry::scan), ended early when `cancel` is cancelled (from another
    /// thread): the plugin running then stops within about a millisecond and the rest are
    /// not run, each reported as [`FailureKind::Cancelled`](crate::FailureKind::Cancelled).
    ///
    /// ```
    /// use std::time::Duration;
    /// use plugbox::{CancelHandle, HostConfig, Input, Registry};
    ///
    /// let registry = Registry::new(HostConfig::default());
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
        self.snapshot().scan_cancellable(input, cancel)
    }

    /// Looks at every directory given to [`load_dir`](Registry::load_dir) and every plugin
    /// loaded with [`load_plugin`](Registry::load_plugin) again, and applies what changed:
    /// new plugin directories are loaded, changed ones loaded again, removed ones dropped.
    /// A plugin whose `plugin.json` and module are unchanged keeps its compiled module.
    ///
    /// A change is detected by each file's size and modification time, confirmed by
    /// content: when they differ, or when a file was modified within two seconds of the
    /// last look (a second write in one clock tick leaves them equal), both files are read
    /// and hashed, and only a different hash loads the plugin again. Scans running meanwhile finish on
    /// the plugins they started with; later scans see the new set, whole. Each plugin is
    /// compiled into an engine of its own, so the code of a dropped plugin is freed once the
    /// last scan using it ends.
    ///
    /// Errors, changing nothing, when a directory given to `load_dir` cannot be read.
    ///
    /// ```
    /// # use plugbox::{HostConfig, Registry};
    /// let registry = Registry::new(HostConfig::default());
    /// registry.load_dir("examples/plugins".as_ref())?;
    /// let report = registry.reload()?;
    /// assert!(report.is_empty()); // nothing changed on disk
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reload(&self) -> io::Result<ReloadReport> {
        let mut entries = self.lock_entries();
        // Every directory is read before anything changes.
        let mut discovered = Vec::new();
        for entry in entries.iter() {
            if let Entry::Root { dir, .. } = entry {
                discovered.push(discover(dir)?);
            }
        }
        let mut report = ReloadReport::default();
        let mut discovered = discovered.into_iter();
        // Planned from a copy: the entries change only at the end, so a panic while loading
        // (in a host's logger, say) leaves them as they were.
        let plans: Vec<(Option<PathBuf>, Vec<Plan>)> = entries
            .clone()
            .into_iter()
            .map(|entry| match entry {
                Entry::Root { dir, members } => {
                    let candidates = discovered.next().unwrap_or_default();
                    (Some(dir), plan_root(members, candidates, &mut report))
                }
                Entry::Single(member) => (None, plan_single(member)),
            })
            .collect();
        // Unchanged plugins keep their names; new and changed ones may not take them.
        let mut names: Names = plans
            .iter()
            .flat_map(|(_, plans)| plans)
            .filter_map(|plan| match plan {
                Plan::Keep(member) => member.named(),
                _ => None,
            })
            .collect();
        let mut reloaded = Vec::new();
        for (root, plans) in plans {
            let members = plans
                .into_iter()
                .map(|plan| self.apply(plan, &mut names, &mut report));
            match root {
                Some(dir) => reloaded.push(Entry::Root {
                    dir,
                    members: members.collect(),
                }),
                None => reloaded.extend(members.map(Entry::Single)),
            }
        }
        *entries = reloaded;
        self.publish(&entries);
        Ok(report)
    }

    /// Carries out one step of a reload, noting what changed in `report`.
    fn apply(&self, plan: Plan, names: &mut Names, report: &mut ReloadReport) -> Member {
        let (dir, old) = match plan {
            Plan::Keep(member) => return member,
            Plan::Unreadable(failure) => return unreadable(failure),
            Plan::Load { dir, old } => (dir, old),
        };
        let old_change = old.as_ref().and_then(Member::change);
        let member = self.load_member(dir, names);
        match (&member.outcome, old_change) {
            (Ok(_), Some(_)) => report.changed.extend(member.change()),
            (Ok(_), None) => report.added.extend(member.change()),
            (Err(failure), old_change) => {
                report.removed.extend(old_change);
                match failure.is_skip() {
                    true => report.skipped.push(failure.clone()),
                    false => report.failed.push(failure.clone()),
                }
            }
        }
        member
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `entries` the set later scans use.
    fn publish(&self, entries: &[Entry]) {
        let mut loaded = Snapshot::default();
        let members = entries.iter().flat_map(|entry| match entry {
            Entry::Root { members, .. } => members.iter().collect::<Vec<_>>(),
            Entry::Single(member) => vec![member],
        });
        for member in members {
            match &member.outcome {
                Ok(plugin) => loaded.plugins.push(Arc::clone(plugin)),
                Err(failure) if failure.is_skip() => loaded.skipped.push(failure.clone()),
                Err(failure) => loaded.failures.push(failure.clone()),
            }
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(loaded);
    }
}

/// The names of loaded plugins, each with its directory: plugin names are unique.
type Names = HashMap<String, PathBuf>;

/// What a reload does with one plugin directory.
enum Plan {
    /// Unchanged: keep the plugin (or the failure) as it is.
    Keep(Member),
    /// New or changed: load it; `old` is what it replaces.
    Load { dir: PathBuf, old: Option<Member> },
    /// An entry of a plugins directory that could not be read.
    Unreadable(LoadFailure),
}

/// Matches a directory's plugin directories now against what was loaded from it.
fn plan_root(
    mut old: Vec<Member>,
    candidates: Vec<Result<PathBuf, LoadFailure>>,
    report: &mut ReloadReport,
) -> Vec<Plan> {
    let plans = candidates
        .into_iter()
        .map(|candidate| {
            let dir = match candidate {
                Ok(dir) => dir,
                Err(failure) => return Plan::Unreadable(failure),
            };
            match old.iter().position(|m| m.source.is_some() && m.dir == dir) {
                Some(i) => plan_existing(old.swap_remove(i)),
                None => Plan::Load { dir, old: None },
            }
        })
        .collect();
    report.removed.extend(old.iter().filter_map(Member::change));
    plans
}

/// A plugin loaded on its own: kept, or loaded again. When its directory is gone, loading
/// it again fails, which drops it and reports why; it comes back when the directory does.
fn plan_single(member: Member) -> Vec<Plan> {
    if member.source.is_none() {
        // Loaded from memory: nothing on disk to look at.
        return vec![Plan::Keep(member)];
    }
    vec![plan_existing(member)]
}

fn plan_existing(mut member: Member) -> Plan {
    let dir = member.dir.clone();
    // A plugin refused for its name is tried again: the plugin holding the name may be gone.
    let name_clash = member
        .outcome
        .as_ref()
        .is_err_and(|failure| matches!(failure.error(), LoadError::DuplicateName { .. }));
    let unchanged = !name_clash
        && member
            .source
            .as_mut()
            .is_some_and(|source| source.unchanged(&dir));
    match unchanged {
        true => Plan::Keep(member),
        false => Plan::Load {
            dir,
            old: Some(member),
        },
    }
}

/// The names of the plugins loaded so far.
fn live_names(entries: &[Entry]) -> Names {
    entries
        .iter()
        .flat_map(|entry| match entry {
            Entry::Root { members, .. } => members.iter().collect::<Vec<_>>(),
            Entry::Single(member) => vec![member],
        })
        .filter_map(Member::named)
        .collect()
}

/// Keeps a loaded plugin unless its name is taken, or records why it did not load.
fn accept(
    dir: &Path,
    result: Result<Plugin, (Option<String>, LoadError)>,
    names: &mut Names,
) -> Result<Arc<Plugin>, LoadFailure> {
    let result = result.and_then(|plugin| match names.get(plugin.name()) {
        Some(first) => Err((
            Some(plugin.name().to_owned()),
            LoadError::DuplicateName {
                name: plugin.name().to_owned(),
                first: first.clone(),
            },
        )),
        None => {
            names.insert(plugin.name().to_owned(), dir.to_path_buf());
            Ok(plugin)
        }
    });
    result.map(Arc::new).map_err(|(plugin, error)| {
        let failure = LoadFailure::new(dir.to_path_buf(), plugin, error);
        // The host reports failures from `failures()`; logging them louder would say it twice.
        log::debug!("plugin not loaded: {failure}");
        failure
    })
}

/// An entry of a plugins directory that could not be read.
fn unreadable(failure: LoadFailure) -> Member {
    Member {
        dir: failure.dir().to_path_buf(),
        source: None,
        outcome: Err(failure),
    }
}
