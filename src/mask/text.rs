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

    #[inline]
    pub(crate) fn push(&self, mut count: usize, out: &mut String) {
        while count > 0 {
            let take = count.min(RUN_CHARS);
            out.push_str(&self.run[..take * self.char_len]);
            count -= take;
        }
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
