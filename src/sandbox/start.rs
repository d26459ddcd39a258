//! Start functions, made resumable. wasmi runs a module's start function inside
//! instantiation, where it cannot be suspended for a clock check. So at load the module is
//! rewritten: its start section is removed and the start function exported under a name of
//! the host's ([`START_EXPORT`], made unique), and the host calls that export right after
//! instantiation, under the same fuel slices and deadline as every other call. The order is
//! the one WebAssembly prescribes (segments initialised, then the start function), so the
//! plugin cannot tell the difference.

use std::borrow::Cow;

use super::sections::{leb128_u32, push_leb128, sections};

/// The export name the start function gets (a suffix is added if the module uses it).
pub const START_EXPORT: &str = "plugbox:start";

const START_SECTION: u8 = 8;
const EXPORT_SECTION: u8 = 7;
const EXPORT_KIND_FUNC: u8 = 0;

/// A module binary without a start section, and the export that runs its start function.
#[derive(Debug)]
pub struct Rewritten<'a> {
    /// The module to compile.
    pub wasm: Cow<'a, [u8]>,
    /// The export to call after instantiation, if the module had a start function.
    pub start_export: Option<String>,
}

/// Moves the start function of `wasm` into an export. A module without a start section, or
/// one too malformed to rewrite, is returned unchanged (validation then reports what is
/// wrong with it).
pub fn rewrite(wasm: &[u8]) -> Rewritten<'_> {
    let unchanged = || Rewritten {
        wasm: Cow::Borrowed(wasm),
        start_export: None,
    };
    let Some(sections) = sections(wasm) else {
        return unchanged();
    };
    let Some(start) = sections.iter().find(|s| s.id == START_SECTION) else {
        return unchanged();
    };
    let Some((func, _)) = leb128_u32(start.body) else {
        return unchanged();
    };
    let exports = sections.iter().find(|s| s.id == EXPORT_SECTION);
    let Some(name) = unique_name(exports.map_or(&[][..], |s| s.body)) else {
        return unchanged();
    };
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
    Rewritten {
        wasm: Cow::Owned(out),
        start_export: Some(name),
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
        let rewritten = rewrite(&wasm);
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
        let rewritten = rewrite(&wasm);
        assert_eq!(exports_of(&rewritten.wasm), [START_EXPORT]);
    }

    #[test]
    fn the_export_name_never_collides() {
        let wat = format!(r#"(module (func $s (export "{START_EXPORT}")) (start $s))"#);
        let wasm = wat::parse_str(wat).unwrap();
        let rewritten = rewrite(&wasm);
        let name = format!("{START_EXPORT}.1");
        assert_eq!(rewritten.start_export.as_deref(), Some(name.as_str()));
        assert_eq!(exports_of(&rewritten.wasm), [START_EXPORT, &name]);
    }

    #[test]
    fn modules_without_start_or_malformed_stay_as_they_are() {
        let wasm = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert!(matches!(rewrite(&wasm).wasm, Cow::Borrowed(_)));
        for junk in [&b"\0asm"[..], b"\0asm\x01\0\0\0\x08\xff", b""] {
            let rewritten = rewrite(junk);
            assert!(rewritten.start_export.is_none());
            assert_eq!(&*rewritten.wasm, junk);
        }
    }
}
