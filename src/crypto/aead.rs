//! The AES-256-GCM implementation behind envelope chunks, selectable because the two
//! candidates differ a lot in speed: on the development machine `ring` (assembly, AES-NI with
//! wide CLMUL) seals 1 MiB chunks at 5.2 GiB/s and the pure-Rust `aes-gcm` crate at 0.9 GiB/s
//! (`cargo bench --bench crypto`). The default is still `aes-gcm`: it is pure Rust, so memory
//! checkers can follow it, while valgrind reports `ring`'s assembly output as uninitialised
//! memory (which would fail every C host's valgrind run that touches an encrypted object).
//! Hosts that want the speed set `encryption.aead_backend = "ring"` (ring is already in the
//! build through the parquet crate's encryption). Both produce the same bytes: the envelope
//! format does not depend on the choice, so it can change at any time.

use std::sync::atomic::{AtomicU8, Ordering};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key};

/// Which AES-256-GCM implementation seals and opens envelope chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AeadBackend {
    /// The RustCrypto `aes-gcm` crate: pure Rust (the default).
    #[default]
    AesGcm,
    /// `ring`: assembly, about 5x faster here.
    Ring,
}

static BACKEND: AtomicU8 = AtomicU8::new(AeadBackend::AesGcm as u8);

/// Chooses the backend for chunk ciphers made from now on (process-wide).
pub fn set_aead_backend(backend: AeadBackend) {
    BACKEND.store(backend as u8, Ordering::Relaxed);
}

/// The backend new chunk ciphers use.
pub fn aead_backend() -> AeadBackend {
    if BACKEND.load(Ordering::Relaxed) == AeadBackend::Ring as u8 {
        AeadBackend::Ring
    } else {
        AeadBackend::AesGcm
    }
}

/// One data key, ready to seal and open in place with a detached 16-byte tag.
pub(crate) enum Aead {
    Ring(Box<ring::aead::LessSafeKey>),
    AesGcm(Box<Aes256Gcm>),
}

impl Aead {
    pub(crate) fn new(key: &[u8; 32]) -> Aead {
        match aead_backend() {
            AeadBackend::AesGcm => {
                Aead::AesGcm(Box::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))))
            }
            AeadBackend::Ring => match ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key) {
                Ok(key) => Aead::Ring(Box::new(ring::aead::LessSafeKey::new(key))),
                // Only a wrong key length fails, and the key is 32 bytes by type.
                Err(_) => Aead::AesGcm(Box::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)))),
            },
        }
    }

    /// Whether AES work is cheap next to copying memory (ring's AES-NI with wide CLMUL): then
    /// authenticating twice beats buffering a whole plaintext.
    pub(crate) fn is_fast(&self) -> bool {
        matches!(self, Aead::Ring(_))
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<[u8; 16]> {
        match self {
            Aead::Ring(key) => {
                let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
                let tag = key
                    .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), buf)
                    .ok()?;
                tag.as_ref().try_into().ok()
            }
            Aead::AesGcm(cipher) => cipher
                .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(nonce), aad, buf)
                .ok()
                .map(Into::into),
        }
    }

    /// Checks `tag` and decrypts `buf` in place; on failure `buf` holds no plaintext.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> bool {
        match self {
            Aead::Ring(key) => {
                let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
                let tag = ring::aead::Tag::from(*tag);
                let ok = key
                    .open_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), tag, buf, 0..)
                    .is_ok();
                if !ok {
                    // ring decrypts before it compares tags: wipe what it wrote.
                    buf.fill(0);
                }
                ok
            }
            Aead::AesGcm(cipher) => cipher
                .decrypt_in_place_detached(
                    aes_gcm::Nonce::from_slice(nonce),
                    aad,
                    buf,
                    aes_gcm::Tag::from_slice(tag),
                )
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_make_the_same_bytes_and_refuse_the_same_tampering() {
        let key = [3u8; 32];
        let (nonce, aad) = ([9u8; 12], b"object-7");
        let ring = Aead::Ring(Box::new(ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &key).unwrap(),
        )));
        let rc = Aead::AesGcm(Box::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))));
        let mut a = b"the same plaintext".to_vec();
        let mut b = a.clone();
        let ta = ring.seal(&nonce, aad, &mut a).unwrap();
        let tb = rc.seal(&nonce, aad, &mut b).unwrap();
        assert_eq!((&a, ta), (&b, tb));
        let mut opened = a.clone();
        assert!(rc.open(&nonce, aad, &mut opened, &ta));
        assert_eq!(opened, b"the same plaintext");
        for cipher in [&ring, &rc] {
            let mut bad = a.clone();
            bad[0] ^= 1;
            assert!(!cipher.open(&nonce, aad, &mut bad, &ta));
            assert!(
                !bad.windows(4).any(|w| w == b"same"),
                "no plaintext after a failure"
            );
        }
    }
}

#[cfg(test)]
mod config_tests {
    #[test]
    fn the_backend_is_a_config_key() {
        let config =
            crate::LakeConfig::from_toml_str("[encryption]\naead_backend = \"ring\"\n").unwrap();
        assert_eq!(config.encryption.aead_backend, super::AeadBackend::Ring);
        assert!(
            crate::LakeConfig::from_toml_str("[encryption]\naead_backend = \"rot13\"\n").is_err()
        );
        assert_eq!(
            crate::LakeConfig::default().encryption.aead_backend,
            super::AeadBackend::AesGcm
        );
    }
}
