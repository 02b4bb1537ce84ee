//! Tampering with an encrypted object always fails authentication: every single-bit flip,
//! truncation at every chunk boundary, swapped chunks between objects, and an old header put
//! back. Never a panic, never partial plaintext.

use strata::tuning::set_aead_backend;
use strata::{
    crypto::{
        open as open_in_memory, open_to as open_envelope_to, seal as seal_envelope, AeadBackend,
        EnvelopeHeader, KeyProvider, KeyRing,
    },
    ErrorKind, Result,
};

const CHUNK: u32 = 1024;

fn ring() -> (tempfile::TempDir, KeyRing) {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::create(&dir.path().join("keyring.toml"), Some("k1")).unwrap();
    (dir, ring)
}

fn plain(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Opens with both whole-object decoders, in memory and into a writer (with each AEAD
/// backend: they take different paths), and checks they agree: the same plaintext, or an
/// error from all with nothing written. (Tests here run in parallel and all set the
/// process-wide backend; every call still checks both paths' results, whichever ran.)
/// The name every envelope here is bound to.
const NAME: &str = "tamper/object";

fn open_envelope(keys: &dyn KeyProvider, sealed: &[u8]) -> Result<Vec<u8>> {
    let in_memory = open_in_memory(keys, NAME, sealed);
    for backend in [AeadBackend::Ring, AeadBackend::AesGcm] {
        set_aead_backend(backend);
        let mut written = Vec::new();
        let streamed = open_envelope_to(keys, NAME, sealed, &mut written);
        match (&in_memory, streamed) {
            (Ok(plain), Ok(n)) => {
                assert_eq!(&written, plain);
                assert_eq!(n, plain.len() as u64);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.kind(), b.kind(), "{a} / {b}");
                assert!(written.is_empty(), "partial plaintext written: {b}");
            }
            (a, b) => panic!("the decoders disagree ({backend:?}): {a:?} / {b:?}"),
        }
    }
    in_memory
}

#[test]
fn round_trips_at_chunk_edges() {
    let (_dir, ring) = ring();
    for len in [0, 1, 1023, 1024, 1025, 4096, 5000] {
        let data = plain(len, 1);
        let sealed = seal_envelope(&ring, "k1", CHUNK, NAME, &data).unwrap();
        assert_eq!(open_envelope(&ring, &sealed).unwrap(), data, "len {len}");
    }
}

#[test]
fn every_bit_flip_fails() {
    let (_dir, ring) = ring();
    let data = plain(2500, 7); // three chunks, the last partial
    let sealed = seal_envelope(&ring, "k1", CHUNK, NAME, &data).unwrap();
    for byte in 0..sealed.len() {
        for bit in 0..8 {
            let mut bad = sealed.clone();
            bad[byte] ^= 1 << bit;
            let err = open_envelope(&ring, &bad).expect_err("tampered object opened");
            assert!(
                matches!(err.kind(), ErrorKind::Crypto | ErrorKind::Unsupported),
                "byte {byte} bit {bit}: {err}"
            );
        }
    }
}

#[test]
fn truncation_at_every_chunk_boundary_fails() {
    let (_dir, ring) = ring();
    let data = plain(4 * CHUNK as usize, 3); // four full chunks
    let sealed = seal_envelope(&ring, "k1", CHUNK, NAME, &data).unwrap();
    let (_, header_len) = EnvelopeHeader::parse(&sealed).unwrap();
    let sealed_chunk = CHUNK as usize + 16;
    for chunks in 0..4 {
        let cut = header_len + chunks * sealed_chunk;
        let err = open_envelope(&ring, &sealed[..cut]).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Crypto,
            "cut after {chunks} chunks: {err}"
        );
    }
    // Any other cut, header included.
    for cut in (0..sealed.len()).step_by(97) {
        assert!(
            open_envelope(&ring, &sealed[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn reordered_and_spliced_chunks_fail() {
    let (_dir, ring) = ring();
    let a = seal_envelope(&ring, "k1", CHUNK, NAME, &plain(3 * CHUNK as usize, 1)).unwrap();
    let b = seal_envelope(&ring, "k1", CHUNK, NAME, &plain(3 * CHUNK as usize, 2)).unwrap();
    let (_, hl) = EnvelopeHeader::parse(&a).unwrap();
    let sc = CHUNK as usize + 16;
    // Swap chunks 0 and 1 within a.
    let mut swapped = a.clone();
    swapped[hl..hl + sc].copy_from_slice(&a[hl + sc..hl + 2 * sc]);
    swapped[hl + sc..hl + 2 * sc].copy_from_slice(&a[hl..hl + sc]);
    assert_eq!(
        open_envelope(&ring, &swapped).unwrap_err().kind(),
        ErrorKind::Crypto
    );
    // Chunk 1 of b spliced into a at the same position.
    let mut spliced = a.clone();
    spliced[hl + sc..hl + 2 * sc].copy_from_slice(&b[hl + sc..hl + 2 * sc]);
    assert_eq!(
        open_envelope(&ring, &spliced).unwrap_err().kind(),
        ErrorKind::Crypto
    );
    // b's header on a's chunks.
    let (_, hl_b) = EnvelopeHeader::parse(&b).unwrap();
    let mut headers_swapped = b[..hl_b].to_vec();
    headers_swapped.extend_from_slice(&a[hl..]);
    assert_eq!(
        open_envelope(&ring, &headers_swapped).unwrap_err().kind(),
        ErrorKind::Crypto
    );
}

#[test]
fn an_old_header_put_back_fails() {
    // The same key written twice: the first version's header on the second version's chunks.
    let (_dir, ring) = ring();
    let v1 = seal_envelope(&ring, "k1", CHUNK, NAME, &plain(2000, 1)).unwrap();
    let v2 = seal_envelope(&ring, "k1", CHUNK, NAME, &plain(2000, 1)).unwrap();
    let (_, hl) = EnvelopeHeader::parse(&v1).unwrap();
    let mut mixed = v1[..hl].to_vec();
    mixed.extend_from_slice(&v2[hl..]);
    assert_eq!(
        open_envelope(&ring, &mixed).unwrap_err().kind(),
        ErrorKind::Crypto
    );
}

#[test]
fn wrong_or_missing_key_fails() {
    let (_dir, ring) = ring();
    let sealed = seal_envelope(&ring, "k1", CHUNK, NAME, b"secret").unwrap();
    let (_dir2, other) = {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::create(&dir.path().join("keyring.toml"), Some("k1")).unwrap();
        (dir, ring)
    };
    assert_eq!(
        open_envelope(&other, &sealed).unwrap_err().kind(),
        ErrorKind::Crypto
    );
    assert_eq!(ring.active_key_id().unwrap(), "k1");
}

#[test]
fn rewrap_changes_only_the_header() {
    let (dir, mut ring) = ring();
    let data = plain(3000, 9);
    let sealed = seal_envelope(&ring, "k1", CHUNK, NAME, &data).unwrap();
    ring.add_key(Some("k2")).unwrap();
    let (header, hl) = EnvelopeHeader::parse(&sealed).unwrap();
    let new_header = header.rewrap(&ring, "k2", NAME).unwrap();
    let mut rotated = new_header.encode();
    rotated.extend_from_slice(&sealed[hl..]);
    assert_eq!(open_envelope(&ring, &rotated).unwrap(), data);
    assert_eq!(EnvelopeHeader::parse(&rotated).unwrap().0.key_id, "k2");
    // With k1 gone the rotated object still opens; the old one does not.
    let mut ring = KeyRing::load(&dir.path().join("keyring.toml")).unwrap();
    ring.remove_key("k1").unwrap();
    assert_eq!(open_envelope(&ring, &rotated).unwrap(), data);
    assert!(open_envelope(&ring, &sealed).is_err());
}

#[test]
fn an_envelope_opens_only_under_the_name_it_was_sealed_for() {
    let (_dir, mut ring) = ring();
    let sealed = seal_envelope(&ring, "k1", CHUNK, "pii/b", b"b's secret").unwrap();
    assert_eq!(
        open_in_memory(&ring, "pii/b", &sealed).unwrap(),
        b"b's secret"
    );
    for other in ["pii/a", "pii/b ", "", "PII/B"] {
        let err = open_in_memory(&ring, other, &sealed).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Crypto, "{other:?}: {err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
    // A rotation keeps the binding.
    ring.add_key(Some("k2")).unwrap();
    let (header, hl) = EnvelopeHeader::parse(&sealed).unwrap();
    let mut rotated = header.rewrap(&ring, "k2", "pii/b").unwrap().encode();
    rotated.extend_from_slice(&sealed[hl..]);
    assert_eq!(
        open_in_memory(&ring, "pii/b", &rotated).unwrap(),
        b"b's secret"
    );
    assert_eq!(
        open_in_memory(&ring, "pii/a", &rotated).unwrap_err().kind(),
        ErrorKind::Crypto
    );
}
