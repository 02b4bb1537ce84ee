//! HMAC-SHA256 (RFC 2104) over SHA-256's compression function, with the keyed inner and outer
//! states computed once per key.
//!
//! The `hmac` crate does the same work but moves every value through its block buffers and
//! finalisation code; for the short values masking sees (a phone number, a name) that
//! bookkeeping costs more than the two compression calls themselves. Here a value of up to 55
//! bytes is exactly two calls of `sha2::compress256` (SHA-NI when the CPU has it) on blocks
//! built on the stack. Tests check it against the `hmac` crate for every length class.

use sha2::digest::generic_array::GenericArray;
use sha2::{compress256, Digest, Sha256};
use zeroize::Zeroize;

const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The states after absorbing `key ^ ipad` and `key ^ opad`: key-equivalent, wiped on drop.
#[derive(Clone)]
pub(crate) struct HmacSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Drop for HmacSha256 {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

#[inline]
fn compress(state: &mut [u32; 8], block: &[u8]) {
    compress256(state, &[*GenericArray::from_slice(block)]);
}

impl HmacSha256 {
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut pad = [0u8; 64];
        let mut keyed = |byte: u8| {
            for (p, k) in pad.iter_mut().zip(&k) {
                *p = k ^ byte;
            }
            let mut state = IV;
            compress(&mut state, &pad);
            state
        };
        let (inner, outer) = (keyed(0x36), keyed(0x5c));
        k.zeroize();
        pad.zeroize();
        HmacSha256 { inner, outer }
    }

    /// The 32-byte MAC of `msg`.
    #[inline]
    pub(crate) fn mac(&self, msg: &[u8]) -> [u8; 32] {
        let mut state = self.inner;
        let whole = msg.len() / 64 * 64;
        for block in msg[..whole].chunks_exact(64) {
            compress(&mut state, block);
        }
        let rest = &msg[whole..];
        // The last one or two blocks: the rest of the message, 0x80, zeros, the bit length
        // (the ipad block counts: 64 bytes before the message).
        let mut last = [0u8; 128];
        last[..rest.len()].copy_from_slice(rest);
        last[rest.len()] = 0x80;
        let end = if rest.len() < 56 { 64 } else { 128 };
        let bits = (64 + msg.len() as u64) * 8;
        last[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        for block in last[..end].chunks_exact(64) {
            compress(&mut state, block);
        }
        let mut block = [0u8; 64];
        for (out, word) in block.chunks_exact_mut(4).zip(state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        block[32] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut state = self.outer;
        compress(&mut state, &block);
        let mut mac = [0u8; 32];
        for (out, word) in mac.chunks_exact_mut(4).zip(state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    #[test]
    fn matches_the_hmac_crate() {
        for key_len in [1usize, 16, 32, 64, 65, 200] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 31 + 7) as u8).collect();
            let ours = HmacSha256::new(&key);
            for len in [0usize, 1, 12, 55, 56, 63, 64, 65, 119, 120, 128, 1000] {
                let msg: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
                let mut theirs = Hmac::<Sha256>::new_from_slice(&key).unwrap();
                theirs.update(&msg);
                assert_eq!(
                    ours.mac(&msg)[..],
                    theirs.finalize().into_bytes()[..],
                    "key {key_len} msg {len}"
                );
            }
        }
    }
}
