//! Any text given as a config yields a config or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(config) = strata::LakeConfig::from_toml_str(text) {
        // What parses also serializes and parses back to the same config.
        let again = config.to_toml_string().expect("a valid config serializes");
        let back = strata::LakeConfig::from_toml_str(&again).expect("serialized config parses");
        assert_eq!(config, back);
    }
});
