//! FF1 format-preserving encryption (NIST SP 800-38G), written over the `aes` crate.
//!
//! Written here rather than taken from the `fpe` crate for speed: that crate converts numerals
//! through bignums and re-derives per-call state, about 9 µs per 10-digit value. This one expands
//! the AES key once, keeps numerals on the stack, precomputes the CBC-MAC state over the blocks
//! that do not change between rounds, and does the round arithmetic in `u64` or `u128` whenever
//! `radix^v` fits (every value up to 19 decimal digits); only longer values take the general path,
//! which works digit by digit without a bignum type.
//!
//! The SP 800-38G Rev.1 domain-size rule (`radix^minlen >= 1,000,000`) is enforced: a shorter
//! value is refused rather than encrypted in a domain small enough to tabulate.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};

use crate::error::{Error, Result};

/// Smallest domain SP 800-38G Rev.1 allows.
const MIN_DOMAIN: u128 = 1_000_000;
/// Longest numeral string accepted; far beyond any column value, bounds the work per value.
pub(crate) const MAX_LEN: usize = 1 << 16;

type Block = [u8; 16];

/// The expanded AES key, in whichever size the caller supplied.
#[derive(Clone)]
enum AesKey {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl AesKey {
    #[inline]
    fn encrypt(&self, block: &mut Block) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            AesKey::A128(c) => c.encrypt_block(b),
            AesKey::A192(c) => c.encrypt_block(b),
            AesKey::A256(c) => c.encrypt_block(b),
        }
    }
}

/// An FF1 cipher for one key and radix; cheap to share between threads.
#[derive(Clone)]
pub(crate) struct Ff1 {
    /// Boxed: the expanded schedules are ~1 KB and Ff1 sits inside small enums.
    aes: Box<AesKey>,
    radix: u32,
    min_len: usize,
    /// CIPH(P) for an empty tweak, by value length up to [`CACHED_LEN`]: P depends only on the
    /// radix, the length and the tweak length, so short untweaked values (the common case)
    /// skip one AES call of eleven.
    p_cache: Box<[Block]>,
}

/// Longest value whose P block is cached.
const CACHED_LEN: usize = 40;

impl std::fmt::Debug for Ff1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ff1")
            .field("radix", &self.radix)
            .finish_non_exhaustive()
    }
}

impl Ff1 {
    /// A cipher over `radix` (2..=65536) with an AES-128, -192 or -256 key.
    pub(crate) fn new(key: &[u8], radix: u32) -> Result<Self> {
        let aes = Box::new(match key.len() {
            16 => AesKey::A128(Aes128::new(GenericArray::from_slice(key))),
            24 => AesKey::A192(Aes192::new(GenericArray::from_slice(key))),
            32 => AesKey::A256(Aes256::new(GenericArray::from_slice(key))),
            n => {
                return Err(Error::invalid(format!(
                    "FF1 needs a 16, 24 or 32 byte AES key, got {n} bytes"
                )))
            }
        });
        if !(2..=1 << 16).contains(&radix) {
            return Err(Error::invalid(format!(
                "FF1 radix must be 2..=65536, got {radix}"
            )));
        }
        let mut min_len = 1;
        let mut domain = radix as u128;
        while domain < MIN_DOMAIN {
            domain *= radix as u128;
            min_len += 1;
        }
        let min_len = min_len.max(2);
        let p_cache = (0..=CACHED_LEN)
            .map(|n| {
                let mut p = p_block(radix, n, 0);
                aes.encrypt(&mut p);
                p
            })
            .collect();
        Ok(Ff1 {
            aes,
            radix,
            min_len,
            p_cache,
        })
    }

    /// Fewest numerals a value may have (Rev.1 domain-size rule; FF1 itself needs two).
    pub(crate) fn min_len(&self) -> usize {
        self.min_len
    }

    /// Encrypts `x` (numerals below the radix) in place.
    pub(crate) fn encrypt(&self, x: &mut [u16], tweak: &[u8]) -> Result<()> {
        self.run(x, tweak, true)
    }

    /// Decrypts `x` in place.
    pub(crate) fn decrypt(&self, x: &mut [u16], tweak: &[u8]) -> Result<()> {
        self.run(x, tweak, false)
    }

    fn run(&self, x: &mut [u16], tweak: &[u8], encrypt: bool) -> Result<()> {
        self.run_on(x, tweak, encrypt, false)
    }

    /// `digitwise` forces the general path, so tests can check both paths agree.
    fn run_on(&self, x: &mut [u16], tweak: &[u8], encrypt: bool, digitwise: bool) -> Result<()> {
        let n = x.len();
        if n < self.min_len {
            return Err(Error::invalid(format!(
                "value has {n} symbols; FF1 over radix {} needs at least {} (NIST SP 800-38G Rev.1 domain size)",
                self.radix, self.min_len
            )));
        }
        if n > MAX_LEN || tweak.len() > MAX_LEN {
            return Err(Error::invalid(format!(
                "value of {n} symbols or tweak of {} bytes is too long for FF1 (limit {MAX_LEN})",
                tweak.len()
            )));
        }
        if x.iter().any(|&d| u32::from(d) >= self.radix) {
            return Err(Error::internal("FF1 numeral out of range"));
        }
        let u = n / 2;
        let v = n - u;
        let b = byte_len(self.radix, v);
        let d = 4 * b.div_ceil(4) + 4;
        let mut rounds = Rounds::new(self, n, u, b, tweak);
        let (a, bb) = x.split_at_mut(u);
        if d == 8 && !digitwise {
            fast64(&mut rounds, a, bb, encrypt);
        } else if d <= 16 && !digitwise {
            fast(&mut rounds, a, bb, d, encrypt);
        } else {
            general(&mut rounds, a, bb, d, encrypt);
        }
        Ok(())
    }
}

/// `b` of the spec: bytes holding any number below `radix^v`, i.e. ceil(ceil(v*log2 radix)/8).
fn byte_len(radix: u32, v: usize) -> usize {
    if radix.is_power_of_two() {
        return (v * radix.trailing_zeros() as usize).div_ceil(8);
    }
    // ceil(v*log2 r) is the bit length of r^v - 1 when r^v is not a power of two.
    if let Some(pow) = u128::from(radix).checked_pow(v as u32) {
        return (128 - (pow - 1).leading_zeros() as usize).div_ceil(8);
    }
    let mut limbs: Vec<u32> = vec![1];
    for _ in 0..v {
        let mut carry = 0u64;
        for limb in limbs.iter_mut() {
            let t = u64::from(*limb) * u64::from(radix) + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    // r^v - 1 has the same bit length as r^v here, as r^v is not a power of two.
    let top = limbs.len() - 1;
    let bits = top * 32 + (32 - limbs[top].leading_zeros() as usize);
    bits.div_ceil(8)
}

/// P of the spec: the block fixed by radix, length and tweak length.
fn p_block(radix: u32, n: usize, t: usize) -> Block {
    let u = n / 2;
    let mut p: Block = [0; 16];
    p[..3].copy_from_slice(&[1, 2, 1]);
    p[3..6].copy_from_slice(&radix.to_be_bytes()[1..]);
    p[6] = 10;
    p[7] = (u % 256) as u8;
    p[8..12].copy_from_slice(&(n as u32).to_be_bytes());
    p[12..16].copy_from_slice(&(t as u32).to_be_bytes());
    p
}

/// The varying tail of Q: on the stack for the short values of the fast path (no allocation
/// per value), on the heap for long values and tweaks.
enum Tail {
    Inline([u8; 64], usize),
    Heap(Vec<u8>),
}

impl Tail {
    fn zeroed(len: usize) -> Tail {
        if len <= 64 {
            Tail::Inline([0; 64], len)
        } else {
            Tail::Heap(vec![0; len])
        }
    }

    #[inline]
    fn as_mut(&mut self) -> &mut [u8] {
        match self {
            Tail::Inline(bytes, len) => &mut bytes[..*len],
            Tail::Heap(bytes) => bytes,
        }
    }
}

/// Per-value round state: the CBC-MAC chaining value over the blocks of `P || Q` that are the
/// same in every round (P and the tweak), so each round encrypts only what changes.
struct Rounds<'a> {
    ff1: &'a Ff1,
    radix: u32,
    u: usize,
    v: usize,
    b: usize,
    /// Chaining value after P and the round-independent leading blocks of Q.
    prefix: Block,
    /// Bytes of Q that vary per round (the last blocks: tweak tail, padding, round, NUM(B)).
    tail: Tail,
    /// Offset in `tail` of the round number; NUM(B) follows it.
    round_at: usize,
}

impl<'a> Rounds<'a> {
    fn new(ff1: &'a Ff1, n: usize, u: usize, b: usize, tweak: &[u8]) -> Self {
        let t = tweak.len();
        let radix = ff1.radix;
        let mut prefix = match ff1.p_cache.get(n) {
            Some(cached) if t == 0 => *cached,
            _ => {
                let mut p = p_block(radix, n, t);
                ff1.aes.encrypt(&mut p);
                p
            }
        };

        // Q = T || 0^pad || [i] || [NUM(B)]^b with |Q| a multiple of 16.
        let pad = (16 - (t + b + 1) % 16) % 16;
        let q_len = t + pad + 1 + b;
        // Blocks wholly inside T (before the one holding [i]) never change: fold them in now.
        let fixed_blocks = (t + pad) / 16;
        let fixed = fixed_blocks * 16;
        for chunk in tweak[..fixed.min(t)].chunks(16) {
            // Only whole tweak blocks reach here: fixed <= t + pad and padding follows T.
            for (p, c) in prefix.iter_mut().zip(chunk) {
                *p ^= c;
            }
            ff1.aes.encrypt(&mut prefix);
        }
        let mut tail = Tail::zeroed(q_len - fixed);
        if fixed < t {
            tail.as_mut()[..t - fixed].copy_from_slice(&tweak[fixed..]);
        }
        let round_at = q_len - fixed - b - 1;
        Rounds {
            ff1,
            radix,
            u,
            v: n - u,
            b,
            prefix,
            tail,
            round_at,
        }
    }

    /// R of round `i` once `tail` holds NUM(B), then S of `d` bytes into `s`.
    fn prf(&mut self, i: u8, s: &mut [u8]) {
        let round_at = self.round_at;
        self.tail.as_mut()[round_at] = i;
        let mut r = self.prefix;
        for chunk in self.tail.as_mut().chunks(16) {
            for (x, c) in r.iter_mut().zip(chunk) {
                *x ^= c;
            }
            self.ff1.aes.encrypt(&mut r);
        }
        let d = s.len();
        let first = d.min(16);
        s[..first].copy_from_slice(&r[..first]);
        let mut j = 1u32;
        let mut at = 16;
        while at < d {
            let mut block = r;
            for (x, c) in block[12..].iter_mut().zip(j.to_be_bytes()) {
                *x ^= c;
            }
            self.ff1.aes.encrypt(&mut block);
            let take = (d - at).min(16);
            s[at..at + take].copy_from_slice(&block[..take]);
            at += take;
            j += 1;
        }
    }

    fn num_slot(&mut self) -> &mut [u8] {
        let start = self.round_at + 1;
        let b = self.b;
        &mut self.tail.as_mut()[start..start + b]
    }
}

fn num(x: &[u16], radix: u32) -> u128 {
    x.iter()
        .fold(0u128, |acc, &d| acc * u128::from(radix) + u128::from(d))
}

fn write_str(mut c: u128, radix: u32, out: &mut [u16]) {
    if radix.is_power_of_two() {
        let (shift, mask) = (radix.trailing_zeros(), u128::from(radix - 1));
        for slot in out.iter_mut().rev() {
            *slot = (c & mask) as u16;
            c >>= shift;
        }
        return;
    }
    let r = u128::from(radix);
    for slot in out.iter_mut().rev() {
        *slot = (c % r) as u16;
        c /= r;
    }
}

fn num64(x: &[u16], radix: u64) -> u64 {
    x.iter().fold(0u64, |acc, &d| acc * radix + u64::from(d))
}

fn write_str64(mut c: u64, radix: u64, out: &mut [u16]) {
    if radix == 10 {
        // A constant divisor compiles to a multiply; decimal digits are the common case.
        for slot in out.iter_mut().rev() {
            *slot = (c % 10) as u16;
            c /= 10;
        }
        return;
    }
    for slot in out.iter_mut().rev() {
        *slot = (c % radix) as u16;
        c /= radix;
    }
}

/// `y mod m` for a fixed `m < 2^32` by Barrett reduction: a multiply instead of a 64-bit
/// division (tens of cycles, ten per value).
#[derive(Clone, Copy)]
struct Barrett {
    m: u64,
    /// floor(2^64 / m)
    r: u64,
}

impl Barrett {
    fn new(m: u64) -> Barrett {
        // m >= 2 (radix >= 2, at least one numeral), so the quotient fits.
        Barrett {
            m,
            r: ((1u128 << 64) / u128::from(m)) as u64,
        }
    }

    #[inline]
    fn reduce(self, y: u64) -> u64 {
        let q = ((u128::from(y) * u128::from(self.r)) >> 64) as u64;
        // r > 2^64/m - 1, so q > y/m - 1: q is floor(y / m) or one less, and one subtraction
        // finishes.
        let mut rem = y - q * self.m;
        if rem >= self.m {
            rem -= self.m;
        }
        rem
    }
}

/// Rounds with `radix^v < 2^32` (`d == 8`, up to 9 decimal digits a half): everything in
/// `u64`, where `u128` division would cost a library call per digit.
fn fast64(rounds: &mut Rounds<'_>, a: &mut [u16], bb: &mut [u16], encrypt: bool) {
    let radix = u64::from(rounds.radix);
    let pow_u = radix.pow(rounds.u as u32);
    let pow_v = radix.pow(rounds.v as u32);
    let (mod_u, mod_v) = (Barrett::new(pow_u), Barrett::new(pow_v));
    let b = rounds.b;
    let mut x_a = num64(a, radix);
    let mut x_b = num64(bb, radix);
    let mut s = [0u8; 8];
    for step in 0..10u8 {
        let i = if encrypt { step } else { 9 - step };
        let (m_pow, modulus) = if i % 2 == 0 {
            (pow_u, mod_u)
        } else {
            (pow_v, mod_v)
        };
        let src = if encrypt { x_b } else { x_a };
        rounds
            .num_slot()
            .copy_from_slice(&src.to_be_bytes()[8 - b..]);
        rounds.prf(i, &mut s);
        let y = modulus.reduce(u64::from_be_bytes(s));
        if encrypt {
            let mut c = x_a + y;
            if c >= m_pow {
                c -= m_pow;
            }
            x_a = x_b;
            x_b = c;
        } else {
            let c = if x_b >= y { x_b - y } else { x_b + m_pow - y };
            x_b = x_a;
            x_a = c;
        }
    }
    write_str64(x_a, radix, a);
    write_str64(x_b, radix, bb);
}

/// Rounds with `radix^v < 2^96`: numbers fit in `u128` (and in `u64` when `d == 8`).
fn fast(rounds: &mut Rounds<'_>, a: &mut [u16], bb: &mut [u16], d: usize, encrypt: bool) {
    let radix = rounds.radix;
    let pow_u = u128::from(radix).pow(rounds.u as u32);
    let pow_v = u128::from(radix).pow(rounds.v as u32);
    let b = rounds.b;
    let pow2 = radix.is_power_of_two();
    // Working copies; A is u numerals and B is v, v >= u.
    let mut x_a = num(a, radix);
    let mut x_b = num(bb, radix);
    let mut s = [0u8; 16];
    for step in 0..10u8 {
        let i = if encrypt { step } else { 9 - step };
        let m_pow = if i % 2 == 0 { pow_u } else { pow_v };
        let src = if encrypt { x_b } else { x_a };
        rounds
            .num_slot()
            .copy_from_slice(&src.to_be_bytes()[16 - b..]);
        rounds.prf(i, &mut s[..d]);
        let y = if d == 8 {
            let y = u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]);
            // m_pow < 2^64 whenever d == 8 (b <= 4), so the u64 remainder is exact and cheap.
            u128::from(y % (m_pow as u64))
        } else {
            let mut y = 0u128;
            for &byte in &s[..d] {
                y = (y << 8) | u128::from(byte);
            }
            if pow2 {
                // radix^m is a power of two (opaque tokens use radix 256): a mask, where a
                // `u128` remainder would be a library call every round.
                y & (m_pow - 1)
            } else {
                y % m_pow
            }
        };
        if encrypt {
            let mut c = x_a + y;
            if c >= m_pow {
                c -= m_pow;
            }
            x_a = x_b;
            x_b = c;
        } else {
            let c = if x_b >= y { x_b - y } else { x_b + m_pow - y };
            x_b = x_a;
            x_a = c;
        }
    }
    write_str(x_a, radix, a);
    write_str(x_b, radix, bb);
}

/// Rounds for long values, digit by digit: y is reduced to its lowest m base-radix digits by
/// short division, then added to (or subtracted from) the numerals with carry, which is
/// `(NUM(A) ± y) mod radix^m` without a bignum type.
fn general(rounds: &mut Rounds<'_>, a: &mut [u16], bb: &mut [u16], d: usize, encrypt: bool) {
    let radix = rounds.radix;
    let (u, v) = (rounds.u, rounds.v);
    // Numerals in one buffer: the halves swap roles each round, so keep them as two vectors.
    let mut x_a: Vec<u16> = a.to_vec();
    let mut x_b: Vec<u16> = bb.to_vec();
    let mut s = vec![0u8; d];
    let mut y_digits = vec![0u16; v];
    let mut limbs: Vec<u32> = Vec::with_capacity(d.div_ceil(4));
    for step in 0..10u8 {
        let i = if encrypt { step } else { 9 - step };
        let m = if i % 2 == 0 { u } else { v };
        {
            let src = if encrypt { &x_b } else { &x_a };
            to_bytes(src, radix, rounds.num_slot());
        }
        rounds.prf(i, &mut s);
        // y as big-endian u32 limbs, then its lowest m digits by repeated short division.
        limbs.clear();
        let lead = d % 4;
        if lead > 0 {
            limbs.push(
                s[..lead]
                    .iter()
                    .fold(0u32, |acc, &x| (acc << 8) | u32::from(x)),
            );
        }
        for c in s[lead..].chunks(4) {
            limbs.push(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        }
        let y = &mut y_digits[..m];
        for slot in y.iter_mut().rev() {
            let mut rem = 0u64;
            for limb in limbs.iter_mut() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / u64::from(radix)) as u32;
                rem = cur % u64::from(radix);
            }
            *slot = rem as u16;
        }
        if encrypt {
            // C = A + y over m digits (A has m digits: u when i is even, v when odd).
            add_digits(&mut x_a, y, radix);
            std::mem::swap(&mut x_a, &mut x_b);
        } else {
            sub_digits(&mut x_b, y, radix);
            std::mem::swap(&mut x_a, &mut x_b);
        }
    }
    a.copy_from_slice(&x_a);
    bb.copy_from_slice(&x_b);
}

/// `x = (x + y) mod radix^len`, both big-endian digit strings of equal length.
fn add_digits(x: &mut [u16], y: &[u16], radix: u32) {
    let mut carry = 0u32;
    for (xd, &yd) in x.iter_mut().rev().zip(y.iter().rev()) {
        let t = u32::from(*xd) + u32::from(yd) + carry;
        carry = u32::from(t >= radix);
        *xd = (t - carry * radix) as u16;
    }
}

/// `x = (x - y) mod radix^len`.
fn sub_digits(x: &mut [u16], y: &[u16], radix: u32) {
    let mut borrow = 0u32;
    for (xd, &yd) in x.iter_mut().rev().zip(y.iter().rev()) {
        let sub = u32::from(yd) + borrow;
        if u32::from(*xd) >= sub {
            *xd = (u32::from(*xd) - sub) as u16;
            borrow = 0;
        } else {
            *xd = (u32::from(*xd) + radix - sub) as u16;
            borrow = 1;
        }
    }
}

/// `[NUM_radix(x)]^len` big-endian into `out`, by multiply-accumulate over the output bytes.
fn to_bytes(x: &[u16], radix: u32, out: &mut [u8]) {
    out.fill(0);
    for &digit in x {
        let mut carry = u32::from(digit);
        for byte in out.iter_mut().rev() {
            let t = u32::from(*byte) * radix + carry;
            *byte = t as u8;
            carry = t >> 8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn digits(s: &str, radix: u32) -> Vec<u16> {
        s.chars()
            .map(|c| c.to_digit(radix).unwrap() as u16)
            .collect()
    }

    fn text(x: &[u16]) -> String {
        x.iter()
            .map(|&d| std::char::from_digit(u32::from(d), 36).unwrap())
            .collect()
    }

    #[test]
    fn byte_len_matches_spec() {
        assert_eq!(byte_len(10, 5), 3);
        assert_eq!(byte_len(10, 1), 1);
        assert_eq!(byte_len(2, 8), 1);
        assert_eq!(byte_len(2, 9), 2);
        assert_eq!(byte_len(36, 10), 7);
        assert_eq!(byte_len(256, 3), 3);
    }

    #[test]
    fn general_path_round_trips() {
        let ff1 = Ff1::new(&[7u8; 16], 10).unwrap();
        let pt: Vec<u16> = (0..120).map(|i| (i * 7 % 10) as u16).collect();
        let mut x = pt.clone();
        ff1.encrypt(&mut x, b"tweak").unwrap();
        assert_ne!(x, pt);
        ff1.decrypt(&mut x, b"tweak").unwrap();
        assert_eq!(x, pt);
    }

    #[test]
    fn long_tweak_round_trips() {
        let ff1 = Ff1::new(&[9u8; 32], 36).unwrap();
        let pt = digits("0123456789abcdefghi", 36);
        let tweak = [3u8; 40];
        let mut x = pt.clone();
        ff1.encrypt(&mut x, &tweak).unwrap();
        ff1.decrypt(&mut x, &tweak).unwrap();
        assert_eq!(text(&x), text(&pt));
    }

    #[test]
    fn short_domain_is_refused() {
        let ff1 = Ff1::new(&[0u8; 16], 10).unwrap();
        assert_eq!(ff1.min_len(), 6);
        let mut x = vec![1u16; 5];
        let err = ff1.encrypt(&mut x, &[]).unwrap_err();
        assert!(err.to_string().contains("SP 800-38G"), "{err}");
    }

    const K128: &str = "2B7E151628AED2A6ABF7158809CF4F3C";
    const K192: &str = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F";
    const K256: &str = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94";

    /// NIST SP 800-38G FF1 samples 1-9 (FF1samples.pdf): key, radix, tweak, PT, CT.
    const SAMPLES: [(&str, u32, &str, &str, &str); 9] = [
        (K128, 10, "", "0123456789", "2433477484"),
        (K128, 10, "39383736353433323130", "0123456789", "6124200773"),
        (
            K128,
            36,
            "3737373770717273373737",
            "0123456789abcdefghi",
            "a9tv40mll9kdu509eum",
        ),
        (K192, 10, "", "0123456789", "2830668132"),
        (K192, 10, "39383736353433323130", "0123456789", "2496655549"),
        (
            K192,
            36,
            "3737373770717273373737",
            "0123456789abcdefghi",
            "xbj3kv35jrawxv32ysr",
        ),
        (K256, 10, "", "0123456789", "6657667009"),
        (K256, 10, "39383736353433323130", "0123456789", "1001623463"),
        (
            K256,
            36,
            "3737373770717273373737",
            "0123456789abcdefghi",
            "xs8a0azh2avyalyzuwd",
        ),
    ];

    #[test]
    fn barrett_matches_remainder() {
        for m in [2u64, 3, 10, 100_000, 999_983, 1 << 31, (1 << 32) - 1] {
            let b = Barrett::new(m);
            for y in [
                0u64,
                1,
                m - 1,
                m,
                m + 1,
                u64::MAX,
                u64::MAX - 1,
                0x1234_5678_9abc_def0,
            ] {
                assert_eq!(b.reduce(y), y % m, "{y} mod {m}");
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_digitwise() {
        for (radix, len) in [(10, 6), (10, 10), (10, 19), (36, 12), (62, 9), (256, 8)] {
            let ff1 = Ff1::new(&[4u8; 16], radix).unwrap();
            let pt: Vec<u16> = (0..len)
                .map(|i| ((i * 7 + 3) as u32 % radix) as u16)
                .collect();
            for tweak in [&b""[..], b"tw"] {
                let mut fast = pt.clone();
                ff1.run_on(&mut fast, tweak, true, false).unwrap();
                let mut slow = pt.clone();
                ff1.run_on(&mut slow, tweak, true, true).unwrap();
                assert_eq!(fast, slow, "radix {radix} len {len}");
                ff1.run_on(&mut fast, tweak, false, false).unwrap();
                assert_eq!(fast, pt);
            }
        }
    }

    #[test]
    fn nist_samples_both_paths() {
        for (i, (key, radix, tweak, pt, ct)) in SAMPLES.iter().enumerate() {
            let ff1 = Ff1::new(&hex(key), *radix).unwrap();
            let tweak = hex(tweak);
            for digitwise in [false, true] {
                let mut x = digits(pt, *radix);
                ff1.run_on(&mut x, &tweak, true, digitwise).unwrap();
                assert_eq!(text(&x), *ct, "sample {} digitwise {digitwise}", i + 1);
                ff1.run_on(&mut x, &tweak, false, digitwise).unwrap();
                assert_eq!(text(&x), *pt, "sample {} digitwise {digitwise}", i + 1);
            }
        }
    }
}
