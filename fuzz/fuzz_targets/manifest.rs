//! Arbitrary bytes as `plugin.json`: the parser returns a manifest or an error naming the
//! file, never panics; an accepted manifest satisfies every rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugbox::manifest::{
    MAX_DESCRIPTION_BYTES, MAX_EXEC_MS_RANGE, MAX_MEMORY_MB_RANGE, MAX_NAME_BYTES, Manifest,
    ManifestRules, PLATFORMS,
};

const RULES: ManifestRules<'static> = ManifestRules {
    file_types: &["pe", "elf", "pdf"],
};

fuzz_target!(|data: &[u8]| {
    match Manifest::parse(data, "fuzz/plugin.json".as_ref(), RULES) {
        Ok(m) => {
            assert!(!m.name().trim().is_empty() && m.name().len() <= MAX_NAME_BYTES);
            assert!(!m.name().chars().any(char::is_control));
            assert!(m.description().len() <= MAX_DESCRIPTION_BYTES);
            assert!(!m.platforms().is_empty() && m.platforms().iter().all(|p| PLATFORMS.contains(&p.as_str())));
            assert!(!m.file_types().is_empty());
            let (lo, hi) = MAX_MEMORY_MB_RANGE;
            assert!((lo..=hi).contains(&m.permissions().max_memory_mb));
            let (lo, hi) = MAX_EXEC_MS_RANGE;
            assert!((lo..=hi).contains(&m.permissions().max_exec_ms));
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz/plugin.json")),
    }
});
