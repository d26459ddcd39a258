//! Start functions. wasmi runs a module's start function inside instantiation, where it cannot
//! be suspended for a clock check, so instantiation gets the whole budget as fuel at once,
//! converted at the machine's measured fuel rate. Modules without a start section skip the
//! calibration entirely.

use std::time::Duration;

use wasmi::{Engine, Module, Store};

use super::budget::{self, Deadline, FuelRate};

/// How long the calibration run spins to measure the fuel rate.
const CALIBRATION: Duration = Duration::from_millis(5);

/// `(module (func (export "spin") (loop (br 0))))`, an endless loop to measure the fuel rate.
const SPIN_WASM: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x02, 0x01, 0x00, // function section
    0x07, 0x08, 0x01, 0x04, b's', b'p', b'i', b'n', 0x00, 0x00, // export "spin"
    0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop { br 0 }
];

const START_SECTION_ID: u8 = 8;

/// Whether a (valid) module binary has a start section.
pub fn has_start_section(wasm: &[u8]) -> bool {
    let mut rest = match wasm.get(8..) {
        Some(rest) => rest,
        None => return false,
    };
    while let Some((&id, after_id)) = rest.split_first() {
        if id == START_SECTION_ID {
            return true;
        }
        let Some((size, after_size)) = leb128_u32(after_id) else {
            return false;
        };
        match after_size.get(size as usize..) {
            Some(next) => rest = next,
            None => return false,
        }
    }
    false
}

fn leb128_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value: u32 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// Makes sure `rate` holds a measurement from this machine, spinning briefly if it does not.
pub fn calibrate(engine: &Engine, rate: &FuelRate) {
    if rate.is_measured() {
        return;
    }
    let module = Module::new(engine, SPIN_WASM).expect("the calibration module is valid");
    let mut store = Store::new(engine, ());
    let instance = wasmi::Linker::new(engine)
        .instantiate_and_start(&mut store, &module)
        .expect("the calibration module has no imports");
    let spin = instance
        .get_typed_func::<(), ()>(&store, "spin")
        .expect("the calibration module exports spin");
    let (result, cost) = budget::call(&mut store, &spin, (), Deadline::after(CALIBRATION), rate);
    debug_assert!(result.is_err(), "spin never returns");
    log::debug!(
        "fuel rate calibrated: {} fuel/ms ({} fuel in {} us)",
        rate.per_ms(),
        cost.fuel,
        cost.micros
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_module_matches_its_source() {
        let wat = r#"(module (func (export "spin") (loop (br 0))))"#;
        assert_eq!(wat::parse_str(wat).unwrap(), SPIN_WASM);
    }

    #[test]
    fn finds_start_sections() {
        let with = wat::parse_str("(module (func $s) (start $s))").unwrap();
        let without = wat::parse_str("(module (func $s) (export \"s\" (func $s)))").unwrap();
        assert!(has_start_section(&with));
        assert!(!has_start_section(&without));
        assert!(!has_start_section(b"\0asm"));
    }

    #[test]
    fn calibration_measures_the_rate() {
        let engine = crate::runtime::engine();
        let rate = FuelRate::default();
        calibrate(&engine, &rate);
        assert!(rate.is_measured());
    }
}
