//! What loading a module may cost (CONTRACT §5: loading is budgeted too). Every function is
//! compiled at load, before any fuel budget applies, so a hostile module could otherwise make
//! the host spend seconds and gigabytes there. The bounds, and the measured worst cases under
//! them, are in `abi/ABI.md` ("Load limits"); `examples/compile_bombs.rs` measures them.

use wasmi::EnforcedLimits;

use super::sections::{leb128_u32, sections};
use crate::limits::{MAX_COMPILED_BYTES, MAX_EXPORTS, MAX_IMPORTS};

const CUSTOM_SECTION: u8 = 0;
const CODE_SECTION: u8 = 10;
const DATA_SECTION: u8 = 11;

/// The limits wasmi enforces while compiling: at most 10,000 functions, 1,000 globals, data
/// segments and element segments, 100 tables, one memory, 32 parameters and results per
/// function type, and 40 bytes of code per function on average. wasmi 2.0 offers this set or
/// none; its values cannot be tuned.
pub(crate) fn enforced() -> EnforcedLimits {
    EnforcedLimits::strict()
}

/// Refuses a module whose sections to compile exceed [`MAX_COMPILED_BYTES`], before wasmi
/// sees it. A module whose framing does not parse is left to validation.
pub(crate) fn check_size(wasm: &[u8]) -> Result<(), String> {
    check_code_section_count(wasm)?;
    let Some(sections) = sections(wasm) else {
        return Ok(());
    };
    let compiled: usize = sections
        .iter()
        .filter(|s| s.id != CUSTOM_SECTION && s.id != DATA_SECTION)
        .map(|s| s.whole.len())
        .sum();
    if compiled > MAX_COMPILED_BYTES {
        return Err(format!(
            "its sections to compile (all but data and custom sections) are {compiled} bytes; at most {MAX_COMPILED_BYTES} are accepted"
        ));
    }
    Ok(())
}

/// wasmi 2.0 divides a code section's size by its function count before validating it, so a
/// code section of 1,000 bytes or more that declares no function panics in the host (found by
/// the `module_bytes` fuzz target). A code section with bytes after a zero count is invalid
/// anyway: refuse it first, looking at every section header, even of a section cut short.
fn check_code_section_count(wasm: &[u8]) -> Result<(), String> {
    let mut rest = wasm.get(8..).unwrap_or_default();
    while let Some((&id, after_id)) = rest.split_first() {
        let Some((size, body)) = leb128_u32(after_id) else {
            return Ok(());
        };
        // Every code section: wasmi divides before it refuses a second one.
        if let (CODE_SECTION, Some((0, after_count))) = (id, leb128_u32(body)) {
            let count_len = body.len() - after_count.len();
            if size as usize > count_len {
                return Err(format!(
                    "its code section is {size} bytes but declares no function bodies"
                ));
            }
        }
        match body.get(size as usize..) {
            Some(next) => rest = next,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// Refuses a compiled module with more imports or exports than the limits. `added_exports`
/// of its exports are the host's own (from the rewrite at load) and do not count.
pub(crate) fn check_counts(module: &wasmi::Module, added_exports: usize) -> Result<(), String> {
    let imports = module.imports().len();
    if imports > MAX_IMPORTS {
        return Err(format!(
            "declares {imports} imports; at most {MAX_IMPORTS} are accepted"
        ));
    }
    let exports = module.exports().count().saturating_sub(added_exports);
    if exports > MAX_EXPORTS {
        return Err(format!(
            "declares {exports} exports; at most {MAX_EXPORTS} are accepted"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module binary of one section `id` with `size` bytes of contents (only framed).
    fn one_section(id: u8, size: usize) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(id);
        super::super::sections::push_leb128(&mut wasm, size as u32);
        wasm.resize(wasm.len() + size, 0);
        wasm
    }

    #[test]
    fn an_empty_code_section_of_1000_bytes_is_refused_before_wasmi_divides_by_zero() {
        // The module_bytes fuzz target's find: a code section cut short, declaring 229,375
        // bytes and no function.
        let crash = b"\0asm\x01\0\0\0\x0a\xff\xff\x0d\0\0\0\0\0\0\0\xff\xff\xff\xff";
        let error = check_size(crash).unwrap_err();
        assert!(error.contains("declares no function bodies"), "{error}");
        assert!(
            check_size(&one_section(10, 1)).is_ok(),
            "an empty code section is valid"
        );
        assert!(check_size(&one_section(10, 2)).is_err());
        assert!(check_size(&one_section(10, 1000)).is_err());
        // A second code section is checked too.
        let mut second = one_section(10, 1);
        second.extend_from_slice(&one_section(10, 1000)[8..]);
        assert!(check_size(&second).is_err());
    }

    #[test]
    fn data_and_custom_sections_do_not_count() {
        for id in [0, 11] {
            assert_eq!(check_size(&one_section(id, MAX_COMPILED_BYTES + 1)), Ok(()));
        }
        assert_eq!(check_size(&one_section(1, MAX_COMPILED_BYTES - 8)), Ok(()));
        let error = check_size(&one_section(1, MAX_COMPILED_BYTES)).unwrap_err();
        assert!(error.contains("at most 8388608 are accepted"), "{error}");
    }
}
