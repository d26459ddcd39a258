//! Pre-initialisation: what a module's start function and `_initialize` leave behind,
//! captured once at load and given to every later instance, which then skips them.
//!
//! Every file is still scanned in a fresh instance (CONTRACT §5). Instantiating a module
//! initialises its memory, globals and tables from the module; a start function or
//! `_initialize` then changes some of that, deterministically when it cannot see anything
//! that differs between files (the plugin decides whether it can: see
//! `host::preinit`). That change is an [`InitImage`]: the memory ranges initialisation
//! wrote, the pages it grew, and the values it left in the mutable globals. Applied to a
//! freshly instantiated module, it gives the state initialisation would have given, without
//! running guest code. Tables cannot be carried from one store to another (their entries
//! are store-bound handles), so an initialisation that changes a table is not captured.

use wasmi::{Instance, Memory, Val};

use super::{PAGE, Sandbox, SandboxState};
use crate::findings::{Failure, FailureKind, Stage};
use crate::sandbox::rewrite::StateExports;

/// Differences closer than this are merged into one patch.
const PATCH_GRANULE: usize = 64;

/// The state initialisation leaves, as a change to a freshly instantiated module.
#[derive(Debug)]
pub(crate) struct InitImage {
    /// Pages initialisation grew memory by.
    grown_pages: u64,
    /// Memory size after initialisation, in bytes.
    memory_size: usize,
    /// Memory ranges initialisation changed, with their contents after it.
    patches: Vec<(usize, Box<[u8]>)>,
    /// The mutable globals after initialisation, by export name.
    globals: Vec<(String, Val)>,
}

impl InitImage {
    /// Bytes of memory the image writes into each instance.
    pub(crate) fn patched_bytes(&self) -> usize {
        self.patches.iter().map(|(_, bytes)| bytes.len()).sum()
    }
}

/// An instance's state right after instantiation, to compare with after initialisation.
pub(crate) struct Before {
    memory: Vec<u8>,
    tables: Vec<String>,
}

impl<S: SandboxState> Sandbox<'_, S> {
    fn instance_and_memory(&self) -> (Instance, Memory) {
        self.instance.expect("images follow instantiation")
    }

    /// The state of a freshly instantiated module: its memory and tables.
    pub(crate) fn before_init(&self, exports: &StateExports) -> Before {
        let (_, memory) = self.instance_and_memory();
        Before {
            memory: memory.data(&self.store).to_vec(),
            tables: self.tables(exports),
        }
    }

    /// What initialisation changed since `before`, or why it cannot be carried over.
    pub(crate) fn capture(
        &self,
        before: Before,
        exports: &StateExports,
    ) -> Result<InitImage, String> {
        if self.tables(exports) != before.tables {
            return Err("its initialisation changes a table".into());
        }
        let (instance, memory) = self.instance_and_memory();
        let after = memory.data(&self.store);
        let grown = after
            .len()
            .checked_sub(before.memory.len())
            .ok_or("its memory shrank")?;
        let mut globals = Vec::with_capacity(exports.globals.len());
        for name in &exports.globals {
            let global = instance
                .get_global(&self.store, name)
                .ok_or_else(|| format!("the global export `{name}` is missing"))?;
            globals.push((name.clone(), global.get(&self.store)));
        }
        Ok(InitImage {
            grown_pages: (grown / PAGE) as u64,
            memory_size: after.len(),
            patches: patches(&before.memory, after),
            globals,
        })
    }

    /// Gives a freshly instantiated module the state `image` captured: grows its memory
    /// (through the memory cap, as initialisation did), writes the patches, sets the globals.
    pub(crate) fn apply(&mut self, image: &InitImage, stage: Stage) -> Result<(), Failure> {
        let (instance, memory) = self.instance_and_memory();
        if image.grown_pages > 0 {
            self.store.data_mut().memory_cap_mut().clear_refusal();
            if let Err(error) = memory.grow(&mut self.store, image.grown_pages) {
                return Err(self.memory_failure(stage).unwrap_or_else(|| {
                    Failure::new(
                        FailureKind::MemoryLimit,
                        stage,
                        format!("cannot grow memory as initialisation did: {error}"),
                    )
                }));
            }
        }
        let internal = |reason: String| Failure::new(FailureKind::Trap, stage, reason);
        let data = memory.data_mut(&mut self.store);
        if data.len() != image.memory_size {
            return Err(internal(format!(
                "memory is {} bytes after instantiation, not the {} bytes pre-initialisation saw",
                data.len(),
                image.memory_size
            )));
        }
        for (at, bytes) in &image.patches {
            data[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        for (name, value) in &image.globals {
            let global = instance
                .get_global(&self.store, name)
                .ok_or_else(|| internal(format!("the global export `{name}` is missing")))?;
            global
                .set(&mut self.store, value.clone())
                .map_err(|e| internal(format!("cannot set global `{name}`: {e}")))?;
        }
        Ok(())
    }

    /// Every table entry, as its debug form: handles have no equality, but within one store
    /// the debug form names the entity.
    fn tables(&self, exports: &StateExports) -> Vec<String> {
        let (instance, _) = self.instance_and_memory();
        let mut entries = Vec::new();
        for name in &exports.tables {
            let Some(table) = instance.get_table(&self.store, name) else {
                entries.push(format!("missing {name}"));
                continue;
            };
            let size = table.size(&self.store);
            entries.push(format!("{name}: {size}"));
            entries.extend((0..size).map(|i| format!("{:?}", table.get(&self.store, i))));
        }
        entries
    }
}

/// The ranges where `after` differs from `before` (read as zeros past its end), merged at
/// [`PATCH_GRANULE`], with their contents in `after`.
fn patches(before: &[u8], after: &[u8]) -> Vec<(usize, Box<[u8]>)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (i, chunk) in after.chunks(PATCH_GRANULE).enumerate() {
        let at = i * PATCH_GRANULE;
        let old = before.get(at..).unwrap_or(&[]);
        let old = &old[..old.len().min(chunk.len())];
        let same = chunk[..old.len()] == *old && chunk[old.len()..].iter().all(|&b| b == 0);
        if same {
            continue;
        }
        match ranges.last_mut() {
            Some((_, end)) if *end == at => *end = at + chunk.len(),
            _ => ranges.push((at, at + chunk.len())),
        }
    }
    ranges
        .into_iter()
        .map(|(start, end)| (start, after[start..end].into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_cover_every_difference_and_nothing_else() {
        let before = vec![0u8; 1000];
        let mut after = before.clone();
        after[3] = 1;
        after[64] = 2; // adjacent granule: merged
        after[500] = 3;
        after.extend_from_slice(&[0; 100]);
        after[1050] = 4; // in the grown part
        let found = patches(&before, &after);
        let spans: Vec<(usize, usize)> = found.iter().map(|(a, b)| (*a, b.len())).collect();
        assert_eq!(spans, [(0, 128), (448, 64), (1024, 64)]);
        let mut rebuilt = before.clone();
        rebuilt.resize(after.len(), 0);
        for (at, bytes) in &found {
            rebuilt[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        assert_eq!(rebuilt, after);
        assert!(patches(&before, &before).is_empty());
    }
}
