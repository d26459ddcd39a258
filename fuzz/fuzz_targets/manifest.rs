//! Arbitrary bytes as `plugin.json`: the parser returns a manifest or an error naming the
//! file, never panics; an accepted manifest satisfies every rule.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use plugbox::limits::{
    MAX_DESCRIPTION_BYTES, MAX_EXEC_MS_RANGE, MAX_MEMORY_MB_RANGE, MAX_NAME_BYTES,
};
use plugbox::{HostConfig, Manifest};

const PLATFORMS: &[&str] = &["linux", "macos", "windows", "all"];

fuzz_target!(|data: &[u8]| {
    static CONFIG: OnceLock<HostConfig> = OnceLock::new();
    let config = CONFIG.get_or_init(|| HostConfig::default().with_file_types(["pe", "elf", "pdf"]));
    match Manifest::parse(data, "fuzz/plugin.json".as_ref(), config) {
        Ok(m) => {
            assert!(!m.name().trim().is_empty() && m.name().len() <= MAX_NAME_BYTES);
            assert!(!m.name().chars().any(char::is_control));
            assert!(m.description().len() <= MAX_DESCRIPTION_BYTES);
            assert!(
                !m.platforms().is_empty()
                    && m.platforms()
                        .iter()
                        .all(|p| PLATFORMS.contains(&p.as_str()))
            );
            assert!(!m.file_types().is_empty());
            let (lo, hi) = MAX_MEMORY_MB_RANGE;
            assert!((lo..=hi).contains(&m.permissions().max_memory_mb));
            let (lo, hi) = MAX_EXEC_MS_RANGE;
            assert!((lo..=hi).contains(&m.permissions().max_exec_ms));
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz/plugin.json")),
    }
});
