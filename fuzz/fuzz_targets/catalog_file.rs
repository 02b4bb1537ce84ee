//! Any bytes given as a catalog file (a record of its log or a snapshot) are accepted as one
//! or refused as damage, never a panic: `strata::catalog::check_file`, what every load of the
//! catalog runs on each file it reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = strata::catalog::check_file(data) {
        assert_eq!(e.kind(), strata::ErrorKind::Corrupt);
    }
});
