//! Writes the checked-in envelope fixtures: `cargo run --example envelope_fixture -- DIR`.
//!
//! They freeze the current envelope format (see tests/crypto_fixture.rs): format 1 lives in
//! tests/fixtures/envelope-v1, format 2 in tests/fixtures/envelope-v2. Each envelope is bound to
//! the name `fixtures/<name>`. Make a new fixture directory for a new format; never regenerate
//! an old one.

use strata::crypto::{seal as seal_envelope, KeyProvider, KeyRing};

fn main() -> strata::Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "envelope-v2".into()),
    );
    std::fs::create_dir_all(&dir)
        .map_err(|e| strata::Error::new(strata::ErrorKind::Io, e.to_string()))?;
    let ring = KeyRing::create(&dir.join("keyring.toml"), Some("fixture-k1"))?;
    let key_id = ring.active_key_id()?;
    let text = b"strata envelope format 2 fixture\n".repeat(100);
    for (name, plain, chunk) in [
        ("empty", Vec::new(), 1024u32),
        ("small", b"hello, sealed world\n".to_vec(), 1024),
        ("chunks", text.clone(), 1024),
    ] {
        let sealed = seal_envelope(&ring, &key_id, chunk, &format!("fixtures/{name}"), &plain)?;
        let write = |p: std::path::PathBuf, b: &[u8]| {
            std::fs::write(p, b)
                .map_err(|e| strata::Error::new(strata::ErrorKind::Io, e.to_string()))
        };
        write(dir.join(format!("{name}.sealed")), &sealed)?;
        write(dir.join(format!("{name}.plain")), &plain)?;
    }
    Ok(())
}
