//! FF1 over the characters of a string that belong to an alphabet, others left in place.
//!
//! `4111-1111-1111-1111` encrypts its sixteen digits as one FF1 value and keeps the dashes, so
//! the output passes the same format checks as the input. Alphabets are ASCII, so splitting the
//! string at alphabet characters always falls on character boundaries and Unicode text around
//! them is copied untouched.

use super::ff1::Ff1;
use super::op::Alphabet;
use super::strings::TextKernel;
use crate::error::{Error, Result};

const NONE: u16 = u16::MAX;

/// An alphabet as symbol table and reverse lookup.
#[derive(Debug, Clone)]
pub(crate) struct Symbols {
    symbols: &'static [u8],
    lookup: [u16; 128],
}

impl Symbols {
    pub(crate) fn new(alphabet: Alphabet) -> Self {
        let symbols: &'static [u8] = match alphabet {
            Alphabet::Digits => b"0123456789",
            Alphabet::LowerAlphanumeric => b"0123456789abcdefghijklmnopqrstuvwxyz",
            Alphabet::Alphanumeric => {
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            }
        };
        let mut lookup = [NONE; 128];
        for (i, &s) in symbols.iter().enumerate() {
            lookup[usize::from(s)] = i as u16;
        }
        Symbols { symbols, lookup }
    }

    pub(crate) fn radix(&self) -> u32 {
        self.symbols.len() as u32
    }

    #[inline]
    fn numeral(&self, byte: u8) -> u16 {
        self.lookup.get(usize::from(byte)).copied().unwrap_or(NONE)
    }
}

/// FF1 on a string's alphabet characters.
#[derive(Debug, Clone)]
pub(crate) struct ShapedFf1 {
    pub(crate) ff1: Ff1,
    pub(crate) symbols: Symbols,
    pub(crate) tweak: Vec<u8>,
    /// Written before each output value (a token tag), or empty.
    pub(crate) prefix: String,
}

impl ShapedFf1 {
    pub(crate) fn new(
        key: &[u8],
        alphabet: Alphabet,
        tweak: Vec<u8>,
        prefix: String,
    ) -> Result<Self> {
        let symbols = Symbols::new(alphabet);
        Ok(ShapedFf1 {
            ff1: Ff1::new(key, symbols.radix())?,
            symbols,
            tweak,
            prefix,
        })
    }

    /// Encrypts (or decrypts) the alphabet characters of `value`, appending the result to `out`.
    pub(crate) fn apply(
        &self,
        value: &str,
        numerals: &mut Vec<u16>,
        out: &mut String,
        encrypt: bool,
    ) -> Result<()> {
        numerals.clear();
        numerals.extend(
            value
                .bytes()
                .map(|b| self.symbols.numeral(b))
                .filter(|&d| d != NONE),
        );
        if numerals.len() < self.ff1.min_len() {
            return Err(Error::invalid(format!(
                "value has {} characters of the alphabet; FF1 needs at least {} (NIST SP 800-38G Rev.1 domain size)",
                numerals.len(),
                self.ff1.min_len()
            )));
        }
        if encrypt {
            self.ff1.encrypt(numerals, &self.tweak)?;
        } else {
            self.ff1.decrypt(numerals, &self.tweak)?;
        }
        out.push_str(&self.prefix);
        let mut last = 0;
        let mut next = numerals.iter();
        for (i, b) in value.bytes().enumerate() {
            if self.symbols.numeral(b) == NONE {
                continue;
            }
            // `i` is an ASCII byte, so both slice ends are character boundaries.
            out.push_str(value.get(last..i).unwrap_or_default());
            let d = next.next().copied().unwrap_or_default();
            out.push(char::from(self.symbols.symbols[usize::from(d)]));
            last = i + 1;
        }
        out.push_str(value.get(last..).unwrap_or_default());
        Ok(())
    }
}

/// The `fpe` operator: encrypt in place, untagged.
pub(crate) struct FpeKernel {
    pub(crate) cipher: ShapedFf1,
    pub(crate) encrypt: bool,
}

impl TextKernel for FpeKernel {
    type Scratch = Vec<u16>;

    #[inline]
    fn map(&self, value: &str, numerals: &mut Vec<u16>, out: &mut String) -> Result<()> {
        self.cipher.apply(value, numerals, out, self.encrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_separators_and_unicode() {
        let c = ShapedFf1::new(&[5u8; 16], Alphabet::Digits, Vec::new(), String::new()).unwrap();
        let mut nums = Vec::new();
        let mut out = String::new();
        c.apply("Zoë: 4111-1111-1111-1111 ✓", &mut nums, &mut out, true)
            .unwrap();
        assert!(out.starts_with("Zoë: "), "{out}");
        assert!(out.ends_with(" ✓"), "{out}");
        assert_eq!(out.matches('-').count(), 3);
        assert_ne!(out, "Zoë: 4111-1111-1111-1111 ✓");
        let mut back = String::new();
        c.apply(&out, &mut nums, &mut back, false).unwrap();
        assert_eq!(back, "Zoë: 4111-1111-1111-1111 ✓");
    }

    #[test]
    fn nist_sample_through_the_alphabet() {
        let key: Vec<u8> = (0..16)
            .map(|i| {
                u8::from_str_radix(&"2B7E151628AED2A6ABF7158809CF4F3C"[2 * i..2 * i + 2], 16)
                    .unwrap()
            })
            .collect();
        let c = ShapedFf1::new(&key, Alphabet::Digits, Vec::new(), String::new()).unwrap();
        let mut out = String::new();
        c.apply("0123456789", &mut Vec::new(), &mut out, true)
            .unwrap();
        assert_eq!(out, "2433477484");
    }
}
