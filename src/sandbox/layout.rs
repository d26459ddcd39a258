//! What pre-initialisation ([`preinit`](super::preinit)) needs to know of a module binary,
//! read from its sections: whether the state a start function or `_initialize` leaves can be
//! carried over to later instances at all, and which globals and tables hold it.
//!
//! A module qualifies when all its state lives in what the host can read and write back:
//! its one memory, its mutable numeric globals and its tables. So it imports nothing but
//! functions, and has no passive data or element segments (`data.drop` / `elem.drop` would
//! change an instance in a way no later instance could be given). Anything this reader does
//! not understand disqualifies the module: it then runs as before, its initialisation
//! repeated in every instance.

use super::sections::{Section, leb128_u32};

const IMPORT_SECTION: u8 = 2;
const TABLE_SECTION: u8 = 4;
const GLOBAL_SECTION: u8 = 6;
const ELEMENT_SECTION: u8 = 9;
const DATA_SECTION: u8 = 11;

/// Most mutable globals a module may have and still be pre-initialised: each becomes an
/// export of the host's.
pub(crate) const MAX_STATE_GLOBALS: usize = 64;
/// Most tables a module may have and still be pre-initialised.
pub(crate) const MAX_STATE_TABLES: u32 = 4;

/// Where a qualifying module keeps its state, besides its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateLayout {
    /// Indices of the mutable globals (all of them numeric).
    pub mutable_globals: Vec<u32>,
    /// Number of tables.
    pub tables: u32,
}

/// The state layout of a module, or `None` when its state could not all be carried over.
pub(crate) fn state_layout(sections: &[Section<'_>]) -> Option<StateLayout> {
    let mut layout = StateLayout {
        mutable_globals: Vec::new(),
        tables: 0,
    };
    for section in sections {
        match section.id {
            IMPORT_SECTION => only_function_imports(section.body)?,
            TABLE_SECTION => layout.tables = leb128_u32(section.body)?.0,
            GLOBAL_SECTION => layout.mutable_globals = mutable_globals(section.body)?,
            ELEMENT_SECTION => only_active_element_segments(section.body)?,
            DATA_SECTION => only_active_data_segments(section.body)?,
            _ => {}
        }
    }
    (layout.mutable_globals.len() <= MAX_STATE_GLOBALS && layout.tables <= MAX_STATE_TABLES)
        .then_some(layout)
}

/// A vector's count and what follows it.
fn count(body: &[u8]) -> Option<(u32, &[u8])> {
    leb128_u32(body)
}

fn name(bytes: &[u8]) -> Option<&[u8]> {
    let (len, rest) = leb128_u32(bytes)?;
    rest.get(len as usize..)
}

fn only_function_imports(body: &[u8]) -> Option<()> {
    let (n, mut rest) = count(body)?;
    for _ in 0..n {
        rest = name(name(rest)?)?;
        let (&kind, after) = rest.split_first()?;
        if kind != 0 {
            return None;
        }
        rest = leb128_u32(after)?.1;
    }
    Some(())
}

fn mutable_globals(body: &[u8]) -> Option<Vec<u32>> {
    let (n, mut rest) = count(body)?;
    let mut found = Vec::new();
    for index in 0..n {
        let (&ty, after) = rest.split_first()?;
        let (&mutability, after) = after.split_first()?;
        let numeric = matches!(ty, 0x7c..=0x7f);
        match (mutability, numeric) {
            (0, _) => {}
            (1, true) => found.push(index),
            _ => return None,
        }
        rest = const_expr(after)?;
    }
    Some(found)
}

fn only_active_data_segments(body: &[u8]) -> Option<()> {
    let (n, mut rest) = count(body)?;
    for _ in 0..n {
        let (flags, after) = leb128_u32(rest)?;
        let after = match flags {
            0 => const_expr(after)?,
            2 => const_expr(leb128_u32(after)?.1)?,
            _ => return None,
        };
        rest = name(after)?;
    }
    Some(())
}

/// Accepts only the plainest form, active segments of function indices for table 0 (what
/// compilers emit); other forms are rare and some are passive.
fn only_active_element_segments(body: &[u8]) -> Option<()> {
    let (n, mut rest) = count(body)?;
    for _ in 0..n {
        let (flags, after) = leb128_u32(rest)?;
        if flags != 0 {
            return None;
        }
        let (funcs, mut after) = count(const_expr(after)?)?;
        for _ in 0..funcs {
            after = leb128_u32(after)?.1;
        }
        rest = after;
    }
    Some(())
}

/// Skips a constant expression (up to and including its `end`).
fn const_expr(mut bytes: &[u8]) -> Option<&[u8]> {
    loop {
        let (&op, rest) = bytes.split_first()?;
        bytes = match op {
            0x0b => return Some(rest),
            0x41 | 0x42 => skip_leb(rest)?,
            0x43 => rest.get(4..)?,
            0x44 => rest.get(8..)?,
            0x23 | 0xd2 => leb128_u32(rest)?.1,
            0xd0 => rest.get(1..)?,
            0x6a | 0x6b | 0x6c | 0x7c | 0x7d | 0x7e => rest,
            _ => return None,
        };
    }
}

/// Skips a signed LEB128 number of up to 64 bits.
fn skip_leb(bytes: &[u8]) -> Option<&[u8]> {
    let end = bytes.iter().take(10).position(|b| b & 0x80 == 0)?;
    Some(&bytes[end + 1..])
}

#[cfg(test)]
mod tests {
    use super::super::sections::sections;
    use super::*;

    fn layout(wat: &str) -> Option<StateLayout> {
        let wasm = wat::parse_str(wat).unwrap();
        state_layout(&sections(&wasm).unwrap())
    }

    #[test]
    fn mutable_numeric_globals_and_tables_are_found() {
        let found = layout(
            r#"(module
                (import "env" "f" (func))
                (table 2 funcref)
                (global i32 (i32.const 1))
                (global (mut i32) (i32.const -5))
                (global (mut i64) (i64.const 0x7fffffffffff))
                (global (mut f64) (f64.const 1.5))
                (memory 1)
                (elem (i32.const 0) 0 0)
                (data (i32.const 8) "abc"))"#,
        );
        assert_eq!(
            found,
            Some(StateLayout {
                mutable_globals: vec![1, 2, 3],
                tables: 1
            })
        );
    }

    #[test]
    fn state_the_host_cannot_carry_over_disqualifies() {
        for wat in [
            r#"(module (import "env" "g" (global i32)))"#,
            r#"(module (import "env" "m" (memory 1)))"#,
            "(module (memory 1) (data \"passive\"))",
            "(module (table 1 funcref) (func) (elem func 0))",
            "(module (global (mut funcref) (ref.null func)))",
        ] {
            assert_eq!(layout(wat), None, "{wat}");
        }
    }

    #[test]
    fn truncated_sections_disqualify_and_do_not_panic() {
        let wasm = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 1)) (memory 1) (data (i32.const 0) "x"))"#,
        )
        .unwrap();
        for section in sections(&wasm).unwrap() {
            for cut in 0..section.body.len() {
                let truncated = Section {
                    id: section.id,
                    body: &section.body[..cut],
                    whole: section.whole,
                };
                if matches!(section.id, GLOBAL_SECTION | DATA_SECTION) && cut > 0 {
                    assert_eq!(state_layout(&[truncated]), None, "cut {cut}");
                } else {
                    state_layout(&[truncated]);
                }
            }
        }
    }
}
