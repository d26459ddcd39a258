//! The section layout of a module binary: enough to measure and rewrite sections before wasmi
//! validates the module.

/// One section of a module binary.
pub(super) struct Section<'a> {
    /// The section id (0 custom, 1 type, ..., 10 code, 11 data).
    pub id: u8,
    /// The section's contents.
    pub body: &'a [u8],
    /// The whole section: id, size and contents.
    pub whole: &'a [u8],
}

/// The sections of a module binary, or `None` if its framing does not parse (validation then
/// says what is wrong).
pub(super) fn sections(wasm: &[u8]) -> Option<Vec<Section<'_>>> {
    let mut rest = wasm.get(8..)?;
    let mut found = Vec::new();
    while let Some((&id, after_id)) = rest.split_first() {
        let (size, after_size) = leb128_u32(after_id)?;
        let body = after_size.get(..size as usize)?;
        let start = wasm.len() - rest.len();
        let header = after_id.len() - after_size.len() + 1;
        found.push(Section {
            id,
            body,
            whole: &wasm[start..start + header + body.len()],
        });
        rest = &after_size[size as usize..];
    }
    Some(found)
}

/// Reads an unsigned LEB128 `u32`, returning it and the bytes after it.
pub(super) fn leb128_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value: u32 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        // The fifth byte holds the top four bits only.
        if i == 4 && byte > 0x0f {
            return None;
        }
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// Appends `value` as unsigned LEB128.
pub(super) fn push_leb128(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips() {
        for value in [0, 1, 127, 128, 300, u32::MAX] {
            let mut bytes = Vec::new();
            push_leb128(&mut bytes, value);
            assert_eq!(leb128_u32(&bytes), Some((value, &[][..])));
        }
        assert_eq!(leb128_u32(&[0xff, 0xff, 0xff, 0xff, 0x7f]), None);
        assert_eq!(leb128_u32(&[0x80]), None);
    }

    #[test]
    fn sections_are_framed_and_bad_framing_is_none() {
        let wasm = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        let ids: Vec<u8> = sections(&wasm).unwrap().iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 3, 7, 10]);
        let total: usize = sections(&wasm).unwrap().iter().map(|s| s.whole.len()).sum();
        assert_eq!(total, wasm.len() - 8);
        assert!(sections(b"\0asm\x01\0\0\0\x01\x05\0").is_none());
        assert!(sections(b"\0asm\x01\0\0\0").unwrap().is_empty());
        assert!(sections(b"\0asm").is_none());
    }
}
