//! Key-encryption keys and the providers that hold them.
//!
//! Every object gets its own random data key; a provider wraps (encrypts) that data key under
//! a key-encryption key named by id, and unwraps it again on read. Keys are zeroized on drop
//! and never printed: their `Debug` shows only the id.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, ErrorKind, Result};

/// Length of every key strata uses (AES-256).
pub const KEY_LEN: usize = 32;
const WRAP_NONCE_LEN: usize = 12;
/// nonce + sealed 32-byte key + 16-byte tag.
pub(crate) const WRAPPED_LEN: usize = WRAP_NONCE_LEN + KEY_LEN + 16;

/// 32 secret bytes, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SecretKey(bytes)
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; KEY_LEN];
        fill_random(&mut bytes)?;
        Ok(SecretKey(bytes))
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || Error::invalid("a key must be 64 hex digits (32 bytes)");
        if text.len() != KEY_LEN * 2 {
            return Err(bad());
        }
        let mut bytes = [0u8; KEY_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(SecretKey(bytes))
    }

    /// The key as 64 hex digits (for writing a key-ring file; never for logs).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("the OS random source failed: {e}"),
        )
    })
}

/// Wraps and unwraps data keys under key-encryption keys named by id.
pub trait KeyProvider: Send + Sync {
    /// The id new objects are encrypted under.
    fn active_key_id(&self) -> Result<String>;
    /// Encrypts `data_key` under key `key_id`; `context` is authenticated with it.
    fn wrap(&self, key_id: &str, data_key: &SecretKey, context: &[u8]) -> Result<Vec<u8>>;
    /// Reverses [`KeyProvider::wrap`]; fails with [`ErrorKind::Crypto`] on any mismatch.
    fn unwrap(&self, key_id: &str, wrapped: &[u8], context: &[u8]) -> Result<SecretKey>;

    /// Wraps an AES key of any length (16, 24 or 32 bytes), for formats whose keys are not
    /// strata's own: Parquet's key tools use 128-bit data and key-encryption keys by default.
    /// The default handles 32-byte keys only.
    fn wrap_bytes(&self, key_id: &str, key: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let bytes: [u8; KEY_LEN] = key.try_into().map_err(|_| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "this key provider wraps 32-byte keys only, not {}",
                    key.len()
                ),
            )
            .with("key_id", key_id)
        })?;
        self.wrap(key_id, &SecretKey(bytes), context)
    }

    /// Reverses [`KeyProvider::wrap_bytes`].
    fn unwrap_bytes(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.unwrap(key_id, wrapped, context)
            .map(|k| Zeroizing::new(k.bytes().to_vec()))
    }
}

/// AES key lengths a wrapped key may have.
fn check_key_len(len: usize) -> Result<()> {
    if matches!(len, 16 | 24 | 32) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Crypto,
            format!("a wrapped key must be 16, 24 or 32 bytes, not {len}"),
        ))
    }
}

/// Wraps key bytes of any AES length with AES-256-GCM under `kek`: nonce, then the sealed key
/// and its tag; the context is the AAD.
pub(crate) fn wrap_bytes_with(kek: &SecretKey, key: &[u8], context: &[u8]) -> Result<Vec<u8>> {
    check_key_len(key.len())?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(kek.bytes()));
    let mut nonce = [0u8; WRAP_NONCE_LEN];
    fill_random(&mut nonce)?;
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: key,
                aad: context,
            },
        )
        .map_err(|_| Error::internal("wrapping a data key failed"))?;
    let mut out = Vec::with_capacity(WRAP_NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Reverses [`wrap_bytes_with`].
pub(crate) fn unwrap_bytes_with(
    kek: &SecretKey,
    wrapped: &[u8],
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let len = wrapped.len().saturating_sub(WRAP_NONCE_LEN + 16);
    check_key_len(len)
        .map_err(|_| Error::new(ErrorKind::Crypto, "wrapped data key has the wrong length"))?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(kek.bytes()));
    let (nonce, sealed) = wrapped.split_at(WRAP_NONCE_LEN);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: context,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| {
            Error::new(
                ErrorKind::Crypto,
                "cannot unwrap the data key: wrong key-encryption key or a tampered header",
            )
        })
}

/// Wraps a strata data key under `kek`; the context (object id, key id) is the AAD.
pub(crate) fn wrap_with(kek: &SecretKey, data_key: &SecretKey, context: &[u8]) -> Result<Vec<u8>> {
    wrap_bytes_with(kek, data_key.bytes(), context)
}

/// Reverses [`wrap_with`]; only a 32-byte key is a strata data key.
pub(crate) fn unwrap_with(kek: &SecretKey, wrapped: &[u8], context: &[u8]) -> Result<SecretKey> {
    if wrapped.len() != WRAPPED_LEN {
        return Err(Error::new(
            ErrorKind::Crypto,
            "wrapped data key has the wrong length",
        ));
    }
    let plain = unwrap_bytes_with(kek, wrapped, context)?;
    let mut bytes = [0u8; KEY_LEN];
    bytes.copy_from_slice(&plain);
    Ok(SecretKey(bytes))
}

/// A single key from an environment variable (64 hex digits), under a fixed id.
pub struct EnvKeyProvider {
    id: String,
    key: SecretKey,
}

impl EnvKeyProvider {
    /// Reads `var`; the key's id is `id`.
    pub fn from_env(var: &str, id: &str) -> Result<Self> {
        let text = std::env::var(var).map_err(|_| {
            Error::config(format!(
                "environment variable {var} with a 64-hex-digit key is not set"
            ))
        })?;
        let key = SecretKey::from_hex(&text).map_err(|e| e.with("variable", var))?;
        Ok(EnvKeyProvider {
            id: id.to_string(),
            key,
        })
    }
}

impl fmt::Debug for EnvKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvKeyProvider")
            .field("id", &self.id)
            .finish()
    }
}

impl KeyProvider for EnvKeyProvider {
    fn active_key_id(&self) -> Result<String> {
        Ok(self.id.clone())
    }

    fn wrap(&self, key_id: &str, data_key: &SecretKey, context: &[u8]) -> Result<Vec<u8>> {
        self.check(key_id)?;
        wrap_with(&self.key, data_key, context)
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8], context: &[u8]) -> Result<SecretKey> {
        self.check(key_id)?;
        unwrap_with(&self.key, wrapped, context)
    }

    fn wrap_bytes(&self, key_id: &str, key: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        self.check(key_id)?;
        wrap_bytes_with(&self.key, key, context)
    }

    fn unwrap_bytes(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.check(key_id)?;
        unwrap_bytes_with(&self.key, wrapped, context)
    }
}

impl EnvKeyProvider {
    fn check(&self, key_id: &str) -> Result<()> {
        if key_id == self.id {
            Ok(())
        } else {
            Err(
                Error::new(ErrorKind::Crypto, "no such key in the environment provider")
                    .with("key_id", key_id),
            )
        }
    }
}

/// Wrap and unwrap callbacks, for an external KMS (also what the C ABI exposes).
pub struct CallbackKeyProvider {
    active: String,
    wrap: WrapFn,
    unwrap: WrapFn,
}

/// `(key_id, bytes, context) -> bytes`: a KMS wrap or unwrap call.
pub type WrapFn = Arc<dyn Fn(&str, &[u8], &[u8]) -> Result<Vec<u8>> + Send + Sync>;

impl CallbackKeyProvider {
    /// A provider whose active key is `active` and whose wrapping is done by the callbacks.
    pub fn new(active: impl Into<String>, wrap: WrapFn, unwrap: WrapFn) -> Self {
        CallbackKeyProvider {
            active: active.into(),
            wrap,
            unwrap,
        }
    }
}

impl KeyProvider for CallbackKeyProvider {
    fn active_key_id(&self) -> Result<String> {
        Ok(self.active.clone())
    }

    fn wrap(&self, key_id: &str, data_key: &SecretKey, context: &[u8]) -> Result<Vec<u8>> {
        (self.wrap)(key_id, data_key.bytes(), context)
    }

    fn wrap_bytes(&self, key_id: &str, key: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        check_key_len(key.len())?;
        (self.wrap)(key_id, key, context)
    }

    fn unwrap_bytes(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let plain = Zeroizing::new((self.unwrap)(key_id, wrapped, context)?);
        check_key_len(plain.len()).map_err(|e| e.with("key_id", key_id))?;
        Ok(plain)
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8], context: &[u8]) -> Result<SecretKey> {
        let mut plain = (self.unwrap)(key_id, wrapped, context)?;
        if plain.len() != KEY_LEN {
            plain.zeroize();
            return Err(Error::new(
                ErrorKind::Crypto,
                "the KMS returned a data key of the wrong length",
            )
            .with("key_id", key_id));
        }
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(&plain);
        plain.zeroize();
        Ok(SecretKey(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trips_and_binds_context() {
        let kek = SecretKey::random().unwrap();
        let dek = SecretKey::random().unwrap();
        let wrapped = wrap_with(&kek, &dek, b"ctx").unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(unwrap_with(&kek, &wrapped, b"ctx").unwrap(), dek);
        assert_eq!(
            unwrap_with(&kek, &wrapped, b"other").unwrap_err().kind(),
            ErrorKind::Crypto
        );
        let other = SecretKey::random().unwrap();
        assert_eq!(
            unwrap_with(&other, &wrapped, b"ctx").unwrap_err().kind(),
            ErrorKind::Crypto
        );
        assert!(unwrap_with(&kek, &wrapped[1..], b"ctx").is_err());
    }

    #[test]
    fn keys_never_print() {
        let key = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert!(SecretKey::from_hex("abc").is_err());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(key.to_hex(), "ab".repeat(32));
    }
}
