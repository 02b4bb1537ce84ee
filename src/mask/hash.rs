//! Keyed hashing (HMAC-SHA256, keyed BLAKE3) and unkeyed hashing for those who insist.
//!
//! Outputs carry the key id and version (`k1v2:<digest>`) so that, after a key rotation, stale
//! values can be told apart from current ones; unkeyed digests carry the algorithm (`sha256:`).
//! The HMAC states are keyed once (see `hmac256`), so a short value costs two compression
//! calls and nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::hmac256::HmacSha256;
use super::keys::MaskKey;
use super::op::{DigestEncoding, HashAlgorithm};
use super::strings::TextKernel;
use crate::error::{Error, Result};

/// Why unkeyed hashing is refused by default; part of the error a user sees.
pub(crate) const UNKEYED_REFUSAL: &str = "unkeyed hashing refused: anyone can hash every possible \
value of a low-entropy column (phone numbers, birth dates, postcodes) and reverse the digests by \
brute force; use `hash` with a key, or set `allow_unkeyed = true` to accept the risk";

enum Digester {
    HmacSha256(Box<HmacSha256>),
    Blake3Keyed([u8; 32]),
    Sha256,
    Blake3,
}

impl Drop for Digester {
    fn drop(&mut self) {
        if let Digester::Blake3Keyed(key) = self {
            zeroize::Zeroize::zeroize(key);
        }
    }
}

/// A hash operator ready to run.
pub(crate) struct Hasher {
    digester: Digester,
    prefix: String,
    encoding: DigestEncoding,
    len: usize,
}

fn digest_len(truncate: Option<usize>) -> Result<usize> {
    match truncate {
        None => Ok(32),
        Some(n) if (8..=32).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid(format!(
            "hash truncate must be 8..=32 bytes, got {n}"
        ))),
    }
}

impl Hasher {
    pub(crate) fn keyed(
        key: &MaskKey,
        algorithm: HashAlgorithm,
        encoding: DigestEncoding,
        truncate: Option<usize>,
    ) -> Result<Self> {
        let digester = match algorithm {
            HashAlgorithm::Sha256 => Digester::HmacSha256(Box::new(HmacSha256::new(key.bytes()))),
            HashAlgorithm::Blake3 => {
                let bytes: [u8; 32] = key.bytes().try_into().map_err(|_| {
                    Error::invalid(format!(
                        "keyed BLAKE3 needs a 32-byte key; key {:?} has {} bytes",
                        key.id(),
                        key.bytes().len()
                    ))
                })?;
                Digester::Blake3Keyed(bytes)
            }
        };
        Ok(Hasher {
            digester,
            prefix: format!("{}:", key.tag()),
            encoding,
            len: digest_len(truncate)?,
        })
    }

    pub(crate) fn unkeyed(
        algorithm: HashAlgorithm,
        encoding: DigestEncoding,
        truncate: Option<usize>,
        allow_unkeyed: bool,
    ) -> Result<Self> {
        if !allow_unkeyed {
            return Err(Error::invalid(UNKEYED_REFUSAL));
        }
        let (digester, prefix) = match algorithm {
            HashAlgorithm::Sha256 => (Digester::Sha256, "sha256:"),
            HashAlgorithm::Blake3 => (Digester::Blake3, "blake3:"),
        };
        Ok(Hasher {
            digester,
            prefix: prefix.to_string(),
            encoding,
            len: digest_len(truncate)?,
        })
    }

    /// The 32-byte digest of `value`.
    #[inline]
    pub(crate) fn digest(&self, value: &[u8]) -> [u8; 32] {
        match &self.digester {
            Digester::HmacSha256(mac) => mac.mac(value),
            Digester::Blake3Keyed(key) => *blake3::keyed_hash(key, value).as_bytes(),
            Digester::Sha256 => Sha256::digest(value).into(),
            Digester::Blake3 => *blake3::hash(value).as_bytes(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as lower-case hex.
#[inline]
pub(crate) fn push_hex(bytes: &[u8], out: &mut String) {
    let mut buf = [0u8; 64];
    for (pair, &b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    let used = bytes.len().min(32) * 2;
    // SAFETY: `buf` holds only bytes of `HEX`, which are ASCII, so it is valid UTF-8 (checking
    // it per value cost a twentieth of the hash).
    out.push_str(unsafe { std::str::from_utf8_unchecked(&buf[..used]) });
}

impl TextKernel for Hasher {
    type Scratch = ();

    #[inline]
    fn map(&self, value: &str, _: &mut (), out: &mut String) -> Result<()> {
        let digest = self.digest(value.as_bytes());
        out.push_str(&self.prefix);
        let digest = &digest[..self.len];
        match self.encoding {
            DigestEncoding::Hex => push_hex(digest, out),
            DigestEncoding::Base64 => URL_SAFE_NO_PAD.encode_string(digest, out),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn key(byte: u8, len: usize) -> MaskKey {
        MaskKey::new("k1", 2, vec![byte; len]).unwrap()
    }

    fn run(h: &Hasher, v: &str) -> String {
        let mut out = String::new();
        h.map(v, &mut (), &mut out).unwrap();
        out
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231 test case 2 uses a 4-byte key; MaskKey wants 16, so check the HMAC path with
        // the same construction directly.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let mut out = String::new();
        push_hex(&mac.finalize().into_bytes(), &mut out);
        assert_eq!(
            out,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tagged_truncated_and_keyed() {
        let h = Hasher::keyed(
            &key(1, 16),
            HashAlgorithm::Sha256,
            DigestEncoding::Hex,
            Some(8),
        )
        .unwrap();
        let a = run(&h, "+1 555 0100");
        assert!(a.starts_with("k1v2:"), "{a}");
        assert_eq!(a.len(), 5 + 16);
        let other = Hasher::keyed(
            &key(2, 16),
            HashAlgorithm::Sha256,
            DigestEncoding::Hex,
            Some(8),
        )
        .unwrap();
        assert_ne!(a, run(&other, "+1 555 0100"));
        let b3 = Hasher::keyed(
            &key(1, 32),
            HashAlgorithm::Blake3,
            DigestEncoding::Base64,
            None,
        )
        .unwrap();
        assert_eq!(run(&b3, "x").len(), 5 + 43);
        assert!(Hasher::keyed(
            &key(1, 16),
            HashAlgorithm::Blake3,
            DigestEncoding::Hex,
            None
        )
        .is_err());
    }

    #[test]
    fn unkeyed_needs_consent() {
        let err = Hasher::unkeyed(HashAlgorithm::Sha256, DigestEncoding::Hex, None, false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("brute force"));
        let h = Hasher::unkeyed(HashAlgorithm::Sha256, DigestEncoding::Hex, None, true).unwrap();
        assert_eq!(
            run(&h, "abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
