//! Any text as a lake config with `[access]` and `[audit]` sections is accepted or refused
//! with a config error, never a panic: `LakeConfig::from_toml_str` validates the rules.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = strata::LakeConfig::from_toml_str(text);
    }
});
