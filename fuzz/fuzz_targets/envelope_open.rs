//! Any bytes given to the envelope decoder open or fail with an error: no panic, no partial
//! plaintext.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata::crypto::{open as open_envelope, seal as seal_envelope, EnvelopeHeader, KeyRing};

fn ring() -> &'static (tempfile::TempDir, KeyRing, Vec<u8>) {
    static RING: OnceLock<(tempfile::TempDir, KeyRing, Vec<u8>)> = OnceLock::new();
    RING.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let ring = KeyRing::create(&dir.path().join("keyring.toml"), Some("k1")).expect("ring");
        let valid = seal_envelope(&ring, "k1", 1024, "fuzz/object", &[7u8; 3000]).expect("seal");
        (dir, ring, valid)
    })
}

fuzz_target!(|input: (Vec<u8>, u16, u8)| {
    let (_dir, ring, valid) = ring();
    let (bytes, at, flip) = input;
    let _ = EnvelopeHeader::parse(&bytes);
    let _ = open_envelope(ring, "fuzz/object", &bytes);
    // Mutations of a valid envelope: a flip anywhere must fail, never return other bytes.
    if flip != 0 {
        let mut bad = valid.clone();
        let i = at as usize % bad.len();
        bad[i] ^= flip;
        assert!(open_envelope(ring, "fuzz/object", &bad).is_err());
    }
});
