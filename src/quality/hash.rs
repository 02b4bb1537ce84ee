//! Stable 64-bit hashes of values.
//!
//! Sketch states are serialized and merged across processes and releases, so two runs must hash
//! a value to the same bits: no per-process seed and no dependency whose output may change. The
//! mixers are murmur3's `fmix64` and a wyhash-style multiply-fold for byte strings.

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
const K1: u64 = 0xA076_1D64_78BD_642F;
const K2: u64 = 0xE703_7ED1_A0B4_28DB;

/// Finalizer with full avalanche: every input bit flips each output bit with probability ~1/2,
/// which is what HyperLogLog's register index and rank need.
#[inline(always)]
pub(crate) fn hash_u64(x: u64) -> u64 {
    let mut h = x ^ SEED;
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// Hash of a 128-bit value (decimals).
#[inline]
pub(crate) fn hash_u128(x: u128) -> u64 {
    hash_u64(mum(x as u64 ^ K1, (x >> 64) as u64 ^ K2))
}

#[inline(always)]
fn mum(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Hash of a byte string.
#[inline]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEED ^ (bytes.len() as u64).wrapping_mul(K1);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = mum(h ^ word, K1);
    }
    let mut tail = 0u64;
    for (i, b) in words.remainder().iter().enumerate() {
        tail |= (*b as u64) << (8 * i);
    }
    hash_u64(mum(h ^ tail, K2))
}

/// A `BuildHasher` for maps whose keys are already well-spread 64-bit values or hashes: it
/// finalizes the one `u64` written instead of running SipHash over it.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct KeyHasher;

impl std::hash::BuildHasher for KeyHasher {
    type Hasher = KeyHash;
    fn build_hasher(&self) -> KeyHash {
        KeyHash(0)
    }
}

/// The hasher built by [`KeyHasher`].
#[derive(Default, Debug)]
pub(crate) struct KeyHash(u64);

impl std::hash::Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes) ^ self.0.rotate_left(5);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = hash_u64(x ^ self.0);
    }
    fn write_i128(&mut self, x: i128) {
        self.0 ^= hash_u128(x as u128);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_across_releases() {
        // Serialized sketches depend on these exact values; changing them breaks merges with
        // stored states.
        assert_eq!(hash_u64(0), 0x9ca0_66f1_a4ab_2eea);
        assert_eq!(hash_u64(1), 0x25b7_75fa_eca8_f520);
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"b"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"abcdefgh"), hash_bytes(b"abcdefgh\0"));
    }

    #[test]
    fn low_bits_spread() {
        let mut buckets = [0u32; 16];
        for i in 0..16_000u64 {
            buckets[(hash_u64(i) >> 60) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&b| (800..1200).contains(&b)),
            "{buckets:?}"
        );
    }
}
