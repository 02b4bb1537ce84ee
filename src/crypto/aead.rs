//! The AES-256-GCM implementation behind envelope chunks, selectable because the two
//! candidates differ a lot in speed: on the development machine `ring` (assembly, AES-NI with
//! wide CLMUL) seals 1 MiB chunks at 8.8 GiB/s and the pure-Rust `aes-gcm` crate at 1.2 GiB/s
//! (`cargo bench --bench crypto`): with `aes-gcm`, a 64 MiB encrypted get costs 1.8x the
//! plaintext get, with `ring` 1.05x.
//!
//! The default is therefore `ring` (it is already in the build through the parquet crate's
//! encryption). Its one cost: valgrind's memcheck cannot follow ring's assembly and reports
//! every ciphertext and plaintext it produces as uninitialised memory. Hosts that run under
//! valgrind set the environment variable `STRATA_AEAD_BACKEND=aes-gcm` (strata's own C tests
//! do), or `encryption.aead_backend = "aes-gcm"` in their config. Both backends produce the
//! same bytes: the envelope format does not depend on the choice, so it can change at any time.
//!
//! The choice is process-wide (`strata::tuning::set_aead_backend`), and so is a config's
//! `encryption.aead_backend`: opening a lake whose config names a backend sets it for every
//! lake in the process, from then on. Envelopes make their ciphers from this one setting
//! rather than from the store that asked, and since both backends read and write the same
//! bytes, two lakes in one process never disagree about data, only about speed. A host that
//! needs the pure-Rust backend (valgrind) sets it for the process anyway; leave the key unset
//! in the configs of lakes that share a process with others.

use std::sync::atomic::{AtomicU8, Ordering};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key};

/// The environment variable that picks the backend when neither the config nor
/// [`set_aead_backend`] has: `ring` or `aes-gcm`.
pub const AEAD_BACKEND_ENV: &str = "STRATA_AEAD_BACKEND";

/// Which AES-256-GCM implementation seals and opens envelope chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum AeadBackend {
    /// The RustCrypto `aes-gcm` crate: pure Rust, which memory checkers can follow.
    AesGcm = 1,
    /// `ring`: assembly, about 7x faster here (the default).
    #[default]
    Ring = 2,
}

impl AeadBackend {
    /// The backend a name (as in configs and [`AEAD_BACKEND_ENV`]) stands for.
    pub fn from_name(name: &str) -> Option<AeadBackend> {
        match name.trim().to_ascii_lowercase().as_str() {
            "ring" => Some(AeadBackend::Ring),
            "aes-gcm" | "aes_gcm" | "aesgcm" => Some(AeadBackend::AesGcm),
            _ => None,
        }
    }
}

/// Not chosen yet: the first use reads [`AEAD_BACKEND_ENV`].
const UNSET: u8 = 0;
static BACKEND: AtomicU8 = AtomicU8::new(UNSET);

/// Chooses the backend for chunk ciphers made from now on, in the whole process (see the
/// module docs); a lake opened with `encryption.aead_backend` set calls this too.
pub fn set_aead_backend(backend: AeadBackend) {
    BACKEND.store(backend as u8, Ordering::Relaxed);
}

/// The backend new chunk ciphers use: what [`set_aead_backend`] (or a config's
/// `encryption.aead_backend`) chose, else what [`AEAD_BACKEND_ENV`] names, else `ring`.
pub fn aead_backend() -> AeadBackend {
    match BACKEND.load(Ordering::Relaxed) {
        x if x == AeadBackend::AesGcm as u8 => AeadBackend::AesGcm,
        x if x == AeadBackend::Ring as u8 => AeadBackend::Ring,
        _ => {
            let chosen = backend_from_env(std::env::var(AEAD_BACKEND_ENV).ok().as_deref());
            // A concurrent set_aead_backend wins over the environment.
            let _ =
                BACKEND.compare_exchange(UNSET, chosen as u8, Ordering::Relaxed, Ordering::Relaxed);
            aead_backend()
        }
    }
}

/// The backend the environment variable's value names; the default when unset, and (with a
/// warning) when it names no backend: a typo must not stop a host from reading its data.
fn backend_from_env(value: Option<&str>) -> AeadBackend {
    match value {
        None => AeadBackend::default(),
        Some(name) => AeadBackend::from_name(name).unwrap_or_else(|| {
            tracing::warn!(
                "{AEAD_BACKEND_ENV}={name:?} names no AEAD backend (ring, aes-gcm); using {:?}",
                AeadBackend::default()
            );
            AeadBackend::default()
        }),
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
        assert_eq!(
            config.encryption.aead_backend,
            Some(super::AeadBackend::Ring)
        );
        assert!(
            crate::LakeConfig::from_toml_str("[encryption]\naead_backend = \"rot13\"\n").is_err()
        );
        // Unset: the process keeps what the environment or set_aead_backend chose.
        assert_eq!(crate::LakeConfig::default().encryption.aead_backend, None);
    }

    #[test]
    fn the_environment_names_a_backend_and_a_bad_name_keeps_the_default() {
        use super::{backend_from_env, AeadBackend};
        assert_eq!(backend_from_env(None), AeadBackend::Ring);
        assert_eq!(backend_from_env(Some("aes-gcm")), AeadBackend::AesGcm);
        assert_eq!(backend_from_env(Some(" RING ")), AeadBackend::Ring);
        assert_eq!(backend_from_env(Some("rot13")), AeadBackend::Ring);
        assert_eq!(backend_from_env(Some("")), AeadBackend::Ring);
    }
}
