//! Character masks: full, partial (keep first/last N characters) and email (keep the domain).
//!
//! Lengths are counted in characters, never bytes, so `"Zoë"` masks to three symbols and a
//! multi-byte character is never cut. ASCII values, the common case, skip the character scan.

use super::strings::TextKernel;
use crate::error::Result;

/// Appends `count` mask characters quickly: slices of a prebuilt run instead of char pushes.
#[derive(Debug, Clone)]
pub(crate) struct MaskFill {
    run: String,
    char_len: usize,
}

const RUN_CHARS: usize = 64;

impl MaskFill {
    pub(crate) fn new(mask_char: char) -> Self {
        MaskFill {
            run: std::iter::repeat_n(mask_char, RUN_CHARS).collect(),
            char_len: mask_char.len_utf8(),
        }
    }

    /// The mask character as one byte, when it is ASCII (what in-place masking needs).
    #[inline]
    pub(crate) fn ascii(&self) -> Option<u8> {
        match self.run.as_bytes().first() {
            Some(&b) if self.char_len == 1 => Some(b),
            _ => None,
        }
    }

    #[inline]
    fn fill_ascii(&self, bytes: &mut [u8]) {
        if let Some(b) = self.ascii() {
            fill_short(bytes, b);
        }
    }

    #[inline]
    pub(crate) fn push(&self, mut count: usize, out: &mut String) {
        while count > 0 {
            let take = count.min(RUN_CHARS);
            out.push_str(&self.run[..take * self.char_len]);
            count -= take;
        }
    }
}

/// `bytes.fill(b)` without a `memset` call for the few bytes a masked value has: a call per
/// value cost more than the masking. Overlapping fixed-width stores cover any length.
#[inline]
fn fill_short(bytes: &mut [u8], b: u8) {
    let n = bytes.len();
    if n > 64 {
        bytes.fill(b);
    } else if n >= 8 {
        let word = [b; 8];
        let mut at = 0;
        while at + 8 <= n {
            bytes[at..at + 8].copy_from_slice(&word);
            at += 8;
        }
        if at < n {
            bytes[n - 8..].copy_from_slice(&word);
        }
    } else if n >= 4 {
        bytes[..4].copy_from_slice(&[b; 4]);
        bytes[n - 4..].copy_from_slice(&[b; 4]);
    } else if n > 0 {
        // 1 to 3 bytes: first, middle and last cover them all.
        bytes[0] = b;
        bytes[n / 2] = b;
        bytes[n - 1] = b;
    }
}

/// Byte offset of the `n`-th character of `s` (or `s.len()`).
#[inline]
fn char_offset(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// Every character masked, or a fixed number of mask characters.
pub(crate) struct FullMask {
    pub(crate) fill: MaskFill,
    pub(crate) length: Option<usize>,
}

impl TextKernel for FullMask {
    type Scratch = ();

    #[inline]
    fn map(&self, value: &str, _: &mut (), out: &mut String) -> Result<()> {
        let n = match self.length {
            Some(n) => n,
            None if value.is_ascii() => value.len(),
            None => value.chars().count(),
        };
        self.fill.push(n, out);
        Ok(())
    }

    fn ascii_in_place(&self) -> bool {
        self.length.is_none() && self.fill.ascii().is_some()
    }

    #[inline]
    fn mask_ascii(&self, value: &mut [u8]) {
        self.fill.fill_ascii(value);
    }
}

/// Keep the first and last characters, mask the middle.
pub(crate) struct PartialMask {
    pub(crate) fill: MaskFill,
    pub(crate) keep_first: usize,
    pub(crate) keep_last: usize,
}

impl TextKernel for PartialMask {
    type Scratch = ();

    #[inline]
    fn map(&self, value: &str, _: &mut (), out: &mut String) -> Result<()> {
        let keep = self.keep_first.saturating_add(self.keep_last);
        if value.is_ascii() {
            let n = value.len();
            if n <= keep {
                self.fill.push(n, out);
            } else {
                out.push_str(&value[..self.keep_first]);
                self.fill.push(n - keep, out);
                out.push_str(&value[n - self.keep_last..]);
            }
            return Ok(());
        }
        let n = value.chars().count();
        if n <= keep {
            self.fill.push(n, out);
            return Ok(());
        }
        let head = char_offset(value, self.keep_first);
        let tail = char_offset(value, n - self.keep_last);
        out.push_str(&value[..head]);
        self.fill.push(n - keep, out);
        out.push_str(&value[tail..]);
        Ok(())
    }

    fn ascii_in_place(&self) -> bool {
        self.fill.ascii().is_some()
    }

    #[inline]
    fn mask_ascii(&self, value: &mut [u8]) {
        let n = value.len();
        let keep = self.keep_first.saturating_add(self.keep_last);
        let masked = if n <= keep {
            value
        } else {
            &mut value[self.keep_first..n - self.keep_last]
        };
        self.fill.fill_ascii(masked);
    }
}

/// Mask the local part of an address, keep `@domain`.
pub(crate) struct EmailMask {
    pub(crate) fill: MaskFill,
    pub(crate) keep_first: usize,
}

impl TextKernel for EmailMask {
    type Scratch = ();

    fn map(&self, value: &str, _: &mut (), out: &mut String) -> Result<()> {
        let Some(at) = value.rfind('@') else {
            self.fill.push(value.chars().count(), out);
            return Ok(());
        };
        let (local, domain) = value.split_at(at);
        let n = local.chars().count();
        if n <= self.keep_first {
            self.fill.push(n, out);
        } else {
            let head = char_offset(local, self.keep_first);
            out.push_str(&local[..head]);
            self.fill.push(n - self.keep_first, out);
        }
        out.push_str(domain);
        Ok(())
    }

    fn ascii_in_place(&self) -> bool {
        self.fill.ascii().is_some()
    }

    #[inline]
    fn mask_ascii(&self, value: &mut [u8]) {
        let Some(at) = value.iter().rposition(|&b| b == b'@') else {
            self.fill.fill_ascii(value);
            return;
        };
        let local = &mut value[..at];
        let skip = if local.len() <= self.keep_first {
            0
        } else {
            self.keep_first
        };
        self.fill.fill_ascii(&mut local[skip..]);
    }
}

/// The same text for every non-null value.
pub(crate) struct Constant(pub(crate) String);

impl TextKernel for Constant {
    type Scratch = ();

    #[inline]
    fn map(&self, _: &str, _: &mut (), out: &mut String) -> Result<()> {
        out.push_str(&self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(k: &impl TextKernel<Scratch = ()>, v: &str) -> String {
        let mut out = String::new();
        k.map(v, &mut (), &mut out).unwrap();
        out
    }

    #[test]
    fn partial_counts_characters() {
        let k = PartialMask {
            fill: MaskFill::new('*'),
            keep_first: 1,
            keep_last: 2,
        };
        assert_eq!(run(&k, "4111111111111111"), "4*************11");
        assert_eq!(run(&k, "Zoë Ünal"), "Z*****al");
        assert_eq!(run(&k, "日本語テキスト"), "日****スト");
        assert_eq!(run(&k, "abc"), "***");
        assert_eq!(run(&k, ""), "");
    }

    #[test]
    fn long_masks_and_wide_mask_chars() {
        let k = FullMask {
            fill: MaskFill::new('●'),
            length: None,
        };
        let v = "x".repeat(200);
        assert_eq!(run(&k, &v), "●".repeat(200));
    }

    #[test]
    fn fill_short_covers_every_length() {
        for n in 0..200 {
            let mut bytes = vec![b'a'; n + 2];
            fill_short(&mut bytes[1..n + 1], b'*');
            assert_eq!(bytes[0], b'a');
            assert_eq!(bytes[n + 1], b'a');
            assert!(bytes[1..n + 1].iter().all(|&x| x == b'*'), "{n}");
        }
    }

    /// The in-place path must give exactly what the appending path gives.
    fn same_in_place(k: &impl TextKernel<Scratch = ()>, v: &str) {
        assert!(k.ascii_in_place());
        let mut bytes = v.as_bytes().to_vec();
        k.mask_ascii(&mut bytes);
        assert_eq!(String::from_utf8(bytes).unwrap(), run(k, v), "{v:?}");
    }

    #[test]
    fn in_place_matches_append() {
        let fill = MaskFill::new('#');
        for (first, last) in [(0, 4), (2, 2), (0, 0), (5, 0), (10, 10)] {
            let k = PartialMask {
                fill: fill.clone(),
                keep_first: first,
                keep_last: last,
            };
            for v in [
                "",
                "a",
                "abcd",
                "+15550100123",
                "x@y",
                "0123456789abcdef",
                "no-at",
            ] {
                same_in_place(&k, v);
                same_in_place(
                    &EmailMask {
                        fill: fill.clone(),
                        keep_first: first,
                    },
                    v,
                );
                same_in_place(
                    &FullMask {
                        fill: fill.clone(),
                        length: None,
                    },
                    v,
                );
            }
        }
        for v in ["john.doe@example.com", "a@b@c.d", "@x.y", "ab@"] {
            same_in_place(
                &EmailMask {
                    fill: fill.clone(),
                    keep_first: 1,
                },
                v,
            );
        }
        assert!(!PartialMask {
            fill: MaskFill::new('●'),
            keep_first: 0,
            keep_last: 0
        }
        .ascii_in_place());
    }

    #[test]
    fn email_keeps_domain() {
        let k = EmailMask {
            fill: MaskFill::new('*'),
            keep_first: 1,
        };
        assert_eq!(run(&k, "john.doe@example.com"), "j*******@example.com");
        assert_eq!(run(&k, "a@b.c"), "*@b.c");
        assert_eq!(run(&k, "not an email"), "************");
        assert_eq!(run(&k, "élodie@exemple.fr"), "é*****@exemple.fr");
    }
}
