//! The module rewrite at load, before compiling: what the host needs to run a plugin under
//! its budget and to pre-initialise it, added to the module without changing what it does.
//!
//! - **Start functions, made resumable.** wasmi runs a module's start function inside
//!   instantiation, where it cannot be suspended for a clock check. So the start section is
//!   removed and the start function exported under a name of the host's ([`START_EXPORT`],
//!   made unique), and the host calls that export right after instantiation, under the same
//!   fuel slices and deadline as every other call. The order is the one WebAssembly
//!   prescribes (segments initialised, then the start function), so the plugin cannot tell
//!   the difference.
//! - **State exports.** When the module's state can be carried from one instance to another
//!   ([`layout`](super::layout)), its mutable globals and its tables are exported under names
//!   of the host's ([`StateExports`]), so that [`preinit`](super::preinit) can read what
//!   initialisation left in them and give it to later instances. Exports are invisible to
//!   guest code.

use std::borrow::Cow;

use super::layout::{StateLayout, state_layout};
use super::sections::{Section, leb128_u32, push_leb128, sections};

/// The export name the start function gets (a suffix is added if the module uses it).
pub(crate) const START_EXPORT: &str = "plugbox:start";
/// The prefix of the state exports' names (a suffix is added if the module uses it).
const STATE_PREFIX: &str = "plugbox:state";

const CUSTOM_SECTION: u8 = 0;
const EXPORT_SECTION: u8 = 7;
const START_SECTION: u8 = 8;
const TAG_SECTION: u8 = 13;
const EXPORT_KIND_FUNC: u8 = 0;
const EXPORT_KIND_TABLE: u8 = 1;
const EXPORT_KIND_GLOBAL: u8 = 3;

/// A module binary without a start section, and the exports the host added.
#[derive(Debug)]
pub(crate) struct Rewritten<'a> {
    /// The module to compile.
    pub wasm: Cow<'a, [u8]>,
    /// The export to call after instantiation, if the module had a start function.
    pub start_export: Option<String>,
    /// The exports of the module's state, if it has initialisation and can be
    /// pre-initialised.
    pub state: Option<StateExports>,
}

impl Rewritten<'_> {
    /// How many exports the rewrite added (not the plugin's: limits count only its own).
    pub(crate) fn added_exports(&self) -> usize {
        usize::from(self.start_export.is_some())
            + self
                .state
                .as_ref()
                .map_or(0, |s| s.globals.len() + s.tables.len())
    }
}

/// The names under which a module's mutable globals and tables are exported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StateExports {
    /// One per mutable global.
    pub globals: Vec<String>,
    /// One per table.
    pub tables: Vec<String>,
}

/// Moves the start function of `wasm` into an export, and exports its state when it can be
/// pre-initialised. A module whose sections do not parse is returned unchanged (validation
/// then reports what is wrong with it; and instantiation runs with no fuel, so a start
/// function left in place could not run unbudgeted). A start section that could not be moved
/// faithfully (two of them, extra bytes, out of order: all invalid) is an error naming what
/// is wrong.
pub(crate) fn rewrite(wasm: &[u8]) -> Result<Rewritten<'_>, String> {
    let Some(sections) = sections(wasm) else {
        return Ok(Rewritten {
            wasm: Cow::Borrowed(wasm),
            start_export: None,
            state: None,
        });
    };
    let start = start_function(&sections)?;
    let layout = state_layout(&sections);
    let exports = sections.iter().find(|s| s.id == EXPORT_SECTION);
    let existing = match exports.map(|section| export_names(section.body)) {
        None => Vec::new(),
        Some(Some(names)) => names,
        Some(None) if start.is_some() => return Err("has a malformed export section".into()),
        // Validation will say what is wrong with it.
        Some(None) => {
            return Ok(Rewritten {
                wasm: Cow::Borrowed(wasm),
                start_export: None,
                state: None,
            });
        }
    };
    let mut added = Vec::new();
    let start_export = start.map(|func| {
        let name = unique_name(&existing, START_EXPORT);
        added.push((name.clone(), EXPORT_KIND_FUNC, func));
        name
    });
    // Only a module with initialisation to capture gets state exports: others have nothing
    // to pre-initialise, and should not pay for exports they never use.
    let has_init = start.is_some() || existing.contains(&&b"_initialize"[..]);
    let state = layout
        .filter(|_| has_init)
        .map(|layout| state_exports(&layout, &existing, &mut added));
    if added.is_empty() {
        return Ok(Rewritten {
            wasm: Cow::Borrowed(wasm),
            start_export,
            state,
        });
    }
    let export_section = with_exports(exports.map(|s| s.body), &added);
    let mut out = Vec::with_capacity(wasm.len() + export_section.len());
    out.extend_from_slice(&wasm[..8]);
    let mut placed = false;
    for section in &sections {
        // Without an export section, the new one goes before the first section that must
        // follow exports (start, elements, data count, code, data).
        if exports.is_none() && !placed && matches!(section.id, 8..=12) {
            out.extend_from_slice(&export_section);
            placed = true;
        }
        match section.id {
            EXPORT_SECTION => out.extend_from_slice(&export_section),
            START_SECTION => {}
            _ => out.extend_from_slice(section.whole),
        }
    }
    if exports.is_none() && !placed {
        out.extend_from_slice(&export_section);
    }
    Ok(Rewritten {
        wasm: Cow::Owned(out),
        start_export,
        state,
    })
}

/// The start function's index, if the module has a start section that can be moved.
fn start_function(sections: &[Section<'_>]) -> Result<Option<u32>, String> {
    let mut starts = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.id == START_SECTION);
    let Some((at, start)) = starts.next() else {
        return Ok(None);
    };
    if starts.next().is_some() {
        return Err("has more than one start section".into());
    }
    let func = match leb128_u32(start.body) {
        Some((func, [])) => func,
        _ => return Err("has a malformed start section".into()),
    };
    let in_order = |range: &[Section<'_>], allowed: fn(u8) -> bool| {
        range
            .iter()
            .all(|s| s.id == CUSTOM_SECTION || allowed(s.id))
    };
    // Before the start section: types to exports (and tags); after it: elements, data
    // count, code, data.
    if !in_order(&sections[..at], |id| {
        (1..=7).contains(&id) || id == TAG_SECTION
    }) || !in_order(&sections[at + 1..], |id| (9..=12).contains(&id))
    {
        return Err("has its start section out of order".into());
    }
    Ok(Some(func))
}

/// Names the state exports of `layout`, adding them to `added`.
fn state_exports(
    layout: &StateLayout,
    existing: &[&[u8]],
    added: &mut Vec<(String, u8, u32)>,
) -> StateExports {
    // One prefix that no existing export name starts with, so no name can collide.
    let prefix = (0..=existing.len())
        .map(|n| match n {
            0 => format!("{STATE_PREFIX}:"),
            n => format!("{STATE_PREFIX}.{n}:"),
        })
        .find(|p| !existing.iter().any(|e| e.starts_with(p.as_bytes())))
        .expect("one of len + 1 prefixes is free");
    let mut state = StateExports::default();
    for &global in &layout.mutable_globals {
        let name = format!("{prefix}global{global}");
        added.push((name.clone(), EXPORT_KIND_GLOBAL, global));
        state.globals.push(name);
    }
    for table in 0..layout.tables {
        let name = format!("{prefix}table{table}");
        added.push((name.clone(), EXPORT_KIND_TABLE, table));
        state.tables.push(name);
    }
    state
}

/// Checks that the start function moved to `export` has the type WebAssembly requires of a
/// start function, `() -> ()` (validation checked it in the start section; the export is
/// checked here instead).
pub(crate) fn check_type(module: &wasmi::Module, export: &str) -> Result<(), String> {
    match module.get_export(export) {
        Some(wasmi::ExternType::Func(f)) if f.params().is_empty() && f.results().is_empty() => {
            Ok(())
        }
        Some(wasmi::ExternType::Func(f)) => Err(format!(
            "its start function has type {f:?}; a start function takes and returns nothing"
        )),
        _ => Err("its start function is missing".into()),
    }
}

/// The export names of an export section body.
fn export_names(body: &[u8]) -> Option<Vec<&[u8]>> {
    let (count, mut rest) = leb128_u32(body)?;
    let mut names = Vec::new();
    for _ in 0..count {
        let (len, after_len) = leb128_u32(rest)?;
        let name = after_len.get(..len as usize)?;
        let after_kind = after_len.get(len as usize + 1..)?;
        let (_, after_index) = leb128_u32(after_kind)?;
        names.push(name);
        rest = after_index;
    }
    Some(names)
}

/// `base`, with a numeric suffix if the module already exports that name.
fn unique_name(existing: &[&[u8]], base: &str) -> String {
    (0..=existing.len())
        .map(|n| match n {
            0 => base.to_owned(),
            n => format!("{base}.{n}"),
        })
        .find(|candidate| !existing.contains(&candidate.as_bytes()))
        .expect("one of len + 1 names is free")
}

/// An export section (id, size, body) with the `added` exports (name, kind, index) appended.
fn with_exports(body: Option<&[u8]>, added: &[(String, u8, u32)]) -> Vec<u8> {
    let (count, entries) = body.and_then(leb128_u32).unwrap_or((0, &[]));
    let mut new_body = Vec::with_capacity(entries.len() + added.len() * 24);
    push_leb128(&mut new_body, count + added.len() as u32);
    new_body.extend_from_slice(entries);
    for (name, kind, index) in added {
        push_leb128(&mut new_body, name.len() as u32);
        new_body.extend_from_slice(name.as_bytes());
        new_body.push(*kind);
        push_leb128(&mut new_body, *index);
    }
    let mut section = vec![EXPORT_SECTION];
    push_leb128(&mut section, new_body.len() as u32);
    section.extend_from_slice(&new_body);
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports_of(wasm: &[u8]) -> Vec<String> {
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, wasm).expect("the rewritten module is valid");
        module.exports().map(|e| e.name().to_owned()).collect()
    }

    #[test]
    fn start_section_becomes_an_export() {
        let wasm =
            wat::parse_str(r#"(module (func $s) (func $f (export "f")) (start $s))"#).unwrap();
        let rewritten = rewrite(&wasm).unwrap();
        assert_eq!(rewritten.start_export.as_deref(), Some(START_EXPORT));
        assert!(
            sections(&rewritten.wasm)
                .unwrap()
                .iter()
                .all(|s| s.id != START_SECTION)
        );
        assert_eq!(exports_of(&rewritten.wasm), ["f", START_EXPORT]);
    }

    #[test]
    fn a_module_without_exports_gets_an_export_section() {
        let wasm = wat::parse_str("(module (func $s) (start $s))").unwrap();
        let rewritten = rewrite(&wasm).unwrap();
        assert_eq!(exports_of(&rewritten.wasm), [START_EXPORT]);
    }

    #[test]
    fn the_export_name_never_collides() {
        let wat = format!(r#"(module (func $s (export "{START_EXPORT}")) (start $s))"#);
        let wasm = wat::parse_str(wat).unwrap();
        let rewritten = rewrite(&wasm).unwrap();
        let name = format!("{START_EXPORT}.1");
        assert_eq!(rewritten.start_export.as_deref(), Some(name.as_str()));
        assert_eq!(exports_of(&rewritten.wasm), [START_EXPORT, &name]);
    }

    #[test]
    fn invalid_start_sections_are_refused_not_made_valid() {
        let module = wat::parse_str("(module (func $s) (start $s))").unwrap();
        let start = [8u8, 1, 0];
        let with = |at: usize, extra: &[u8]| {
            let mut wasm = module.clone();
            wasm.splice(at..at, extra.iter().copied());
            wasm
        };
        let found = sections(&module).unwrap();
        let section = found.iter().find(|s| s.id == START_SECTION).unwrap();
        let before_code = section.whole.as_ptr() as usize - module.as_ptr() as usize;
        assert_eq!(&module[before_code..before_code + 3], &start);
        let twice = with(before_code, &start);
        assert!(
            rewrite(&twice)
                .unwrap_err()
                .contains("more than one start section")
        );
        let trailing = with(before_code, &[8, 2, 0, 0]);
        assert!(rewrite(&trailing).unwrap_err().contains("more than one"));
        let mut padded = module.clone();
        padded.splice(before_code..before_code + 3, [8u8, 2, 0, 0]);
        assert!(
            rewrite(&padded)
                .unwrap_err()
                .contains("malformed start section")
        );
        let mut late = module.clone();
        late.drain(before_code..before_code + 3);
        late.extend_from_slice(&start);
        assert!(rewrite(&late).unwrap_err().contains("out of order"));
    }

    #[test]
    fn a_start_function_of_another_type_is_refused() {
        let engine = wasmi::Engine::default();
        // `wat` checks no types; validation would refuse this start section.
        let wasm = wat::parse_str("(module (func $s (param i32)) (start $s))").unwrap();
        let rewritten = rewrite(&wasm).unwrap();
        let module = wasmi::Module::new(&engine, &rewritten.wasm[..]).unwrap();
        let error = check_type(&module, START_EXPORT).unwrap_err();
        assert!(error.contains("takes and returns nothing"), "{error}");
        let good = rewrite(&wat::parse_str("(module (func $s) (start $s))").unwrap())
            .unwrap()
            .wasm
            .into_owned();
        let module = wasmi::Module::new(&engine, &good[..]).unwrap();
        assert_eq!(check_type(&module, START_EXPORT), Ok(()));
    }

    #[test]
    fn modules_without_start_or_malformed_stay_as_they_are() {
        let wasm = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert!(matches!(rewrite(&wasm).unwrap().wasm, Cow::Borrowed(_)));
        for junk in [&b"\0asm"[..], b"\0asm\x01\0\0\0\x08\xff", b""] {
            let rewritten = rewrite(junk).unwrap();
            assert!(rewritten.start_export.is_none());
            assert_eq!(&*rewritten.wasm, junk);
        }
    }
}
