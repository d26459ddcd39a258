//! File-type detection by magic bytes: the names the CLI gives `get_file_type` and matches
//! against a manifest's `file_types`.

/// The type names this module can detect, in the order `detect` tries them.
pub const KNOWN: &[&str] = &[
    "pe", "elf", "macho", "java", "pdf", "zip", "gzip", "script", "unknown",
];

/// How far into a file `%PDF-` may start (readers accept leading junk up to 1 KiB).
const PDF_HEADER_WINDOW: usize = 1024;
/// Fat Mach-O headers hold at most a few dozen architectures; Java class files put their
/// major version (45 and up) in the same four bytes, so a small count means Mach-O.
const MAX_FAT_ARCHES: u32 = 30;

/// Returns the type name of `data`, one of [`KNOWN`].
pub fn detect(data: &[u8]) -> &'static str {
    if is_pe(data) {
        "pe"
    } else if data.starts_with(b"\x7fELF") {
        "elf"
    } else if let Some(kind) = mach_o_or_java(data) {
        kind
    } else if data.len() >= 5 && memfind(&data[..data.len().min(PDF_HEADER_WINDOW)], b"%PDF-") {
        "pdf"
    } else if [&b"PK\x03\x04"[..], b"PK\x05\x06", b"PK\x07\x08"]
        .iter()
        .any(|m| data.starts_with(m))
    {
        "zip"
    } else if data.starts_with(&[0x1f, 0x8b]) {
        "gzip"
    } else if data.starts_with(b"#!") {
        "script"
    } else {
        "unknown"
    }
}

/// `MZ` alone is too weak (plenty of text starts with it): require the PE signature at `e_lfanew`.
fn is_pe(data: &[u8]) -> bool {
    if !data.starts_with(b"MZ") || data.len() < 0x40 {
        return false;
    }
    let e_lfanew = u32::from_le_bytes([data[0x3c], data[0x3d], data[0x3e], data[0x3f]]) as usize;
    data.get(e_lfanew..e_lfanew.saturating_add(4)) == Some(b"PE\0\0")
}

fn mach_o_or_java(data: &[u8]) -> Option<&'static str> {
    let magic = u32::from_be_bytes(data.get(..4)?.try_into().ok()?);
    match magic {
        // 32/64-bit thin, both byte orders.
        0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe => Some("macho"),
        // Fat (universal) headers are big-endian; 0xcafebabe is shared with Java class files.
        0xcafe_babe | 0xcafe_babf => {
            let second = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?);
            if second == 0 || second > MAX_FAT_ARCHES {
                (magic == 0xcafe_babe).then_some("java")
            } else {
                Some("macho")
            }
        }
        _ => None,
    }
}

fn memfind(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pe() -> Vec<u8> {
        let mut d = vec![0u8; 0x100];
        d[..2].copy_from_slice(b"MZ");
        d[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        d[0x80..0x84].copy_from_slice(b"PE\0\0");
        d
    }

    #[test]
    fn detects_each_type() {
        assert_eq!(detect(&pe()), "pe");
        assert_eq!(detect(b"\x7fELF\x02\x01\x01"), "elf");
        for magic in [0xfeedfaceu32, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe] {
            assert_eq!(detect(&magic.to_be_bytes()), "macho", "{magic:x}");
        }
        assert_eq!(detect(b"\xca\xfe\xba\xbe\0\0\0\x02rest"), "macho");
        assert_eq!(detect(b"\xca\xfe\xba\xbf\0\0\0\x02rest"), "macho");
        assert_eq!(detect(b"\xca\xfe\xba\xbe\0\0\0\x34rest"), "java");
        assert_eq!(detect(b"%PDF-1.7\n"), "pdf");
        assert_eq!(detect(b"junk before %PDF-1.4"), "pdf");
        assert_eq!(detect(b"PK\x03\x04...."), "zip");
        assert_eq!(detect(b"\x1f\x8b\x08"), "gzip");
        assert_eq!(detect(b"#!/bin/sh\n"), "script");
        assert_eq!(detect(b"hello"), "unknown");
        assert_eq!(detect(b""), "unknown");
    }

    #[test]
    fn mz_without_pe_header_is_not_pe() {
        let mut d = pe();
        d[0x80] = b'X';
        assert_eq!(detect(&d), "unknown");
        assert_eq!(detect(b"MZ"), "unknown");
        let mut far = pe();
        far[0x3c..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(detect(&far), "unknown");
    }

    #[test]
    fn every_detected_name_is_known() {
        for sample in [&pe()[..], b"\x7fELF", b"%PDF-", b"#!", b"x"] {
            assert!(KNOWN.contains(&detect(sample)));
        }
    }
}
