//! Start functions, made resumable. wasmi runs a module's start function inside
//! instantiation, where it cannot be suspended for a clock check. So at load the module is
//! rewritten: its start section is removed and the start function exported under a name of
//! the host's ([`START_EXPORT`], made unique), and the host calls that export right after
//! instantiation, under the same fuel slices and deadline as every other call. The order is
//! the one WebAssembly prescribes (segments initialised, then the start function), so the
//! plugin cannot tell the difference.

use std::borrow::Cow;

use super::sections::{Section, leb128_u32, push_leb128, sections};

/// The export name the start function gets (a suffix is added if the module uses it).
pub(crate) const START_EXPORT: &str = "plugbox:start";

const CUSTOM_SECTION: u8 = 0;
const EXPORT_SECTION: u8 = 7;
const START_SECTION: u8 = 8;
const TAG_SECTION: u8 = 13;
const EXPORT_KIND_FUNC: u8 = 0;

/// A module binary without a start section, and the export that runs its start function.
#[derive(Debug)]
pub(crate) struct Rewritten<'a> {
    /// The module to compile.
    pub wasm: Cow<'a, [u8]>,
    /// The export to call after instantiation, if the module had a start function.
    pub start_export: Option<String>,
}

/// Moves the start function of `wasm` into an export. A module without a start section, or
/// whose sections do not parse, is returned unchanged (validation then reports what is wrong
/// with it; and instantiation runs with no fuel, so a start function left in place could not
/// run unbudgeted). A start section that could not be moved faithfully (two of them, extra
/// bytes, out of order: all invalid) is an error naming what is wrong.
pub(crate) fn rewrite(wasm: &[u8]) -> Result<Rewritten<'_>, String> {
    let unchanged = Rewritten {
        wasm: Cow::Borrowed(wasm),
        start_export: None,
    };
    let Some(sections) = sections(wasm) else {
        return Ok(unchanged);
    };
    let mut starts = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.id == START_SECTION);
    let Some((at, start)) = starts.next() else {
        return Ok(unchanged);
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
    let exports = sections.iter().find(|s| s.id == EXPORT_SECTION);
    let name =
        unique_name(exports.map_or(&[][..], |s| s.body)).ok_or("has a malformed export section")?;
    let export_section = with_export(exports.map(|s| s.body), &name, func);
    let mut out = Vec::with_capacity(wasm.len() + name.len() + 16);
    out.extend_from_slice(&wasm[..8]);
    for section in &sections {
        match section.id {
            EXPORT_SECTION => out.extend_from_slice(&export_section),
            // Without an export section, the new one takes the start section's place, which
            // is a valid position for it (after globals, before elements).
            START_SECTION if exports.is_none() => out.extend_from_slice(&export_section),
            START_SECTION => {}
            _ => out.extend_from_slice(section.whole),
        }
    }
    Ok(Rewritten {
        wasm: Cow::Owned(out),
        start_export: Some(name),
    })
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

/// [`START_EXPORT`], with a numeric suffix if the module already exports that name.
fn unique_name(export_body: &[u8]) -> Option<String> {
    let names = if export_body.is_empty() {
        Vec::new()
    } else {
        export_names(export_body)?
    };
    let taken = |candidate: &str| names.contains(&candidate.as_bytes());
    (0..=names.len())
        .map(|n| match n {
            0 => START_EXPORT.to_owned(),
            n => format!("{START_EXPORT}.{n}"),
        })
        .find(|candidate| !taken(candidate))
}

/// An export section (id, size, body) with `name` exporting function `func` appended.
fn with_export(body: Option<&[u8]>, name: &str, func: u32) -> Vec<u8> {
    let (count, entries) = body.and_then(leb128_u32).unwrap_or((0, &[]));
    let mut new_body = Vec::with_capacity(entries.len() + name.len() + 16);
    push_leb128(&mut new_body, count + 1);
    new_body.extend_from_slice(entries);
    push_leb128(&mut new_body, name.len() as u32);
    new_body.extend_from_slice(name.as_bytes());
    new_body.push(EXPORT_KIND_FUNC);
    push_leb128(&mut new_body, func);
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
