//! Any bytes given as a Delta commit file give a history entry or an error, never a panic:
//! the commit-log parser strata owns (`strata::table::parse_commit`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let version = data.first().copied().unwrap_or(0) as u64;
    if let Ok(entry) = strata::table::parse_commit(version, data) {
        assert_eq!(entry.version, version);
    }
});
