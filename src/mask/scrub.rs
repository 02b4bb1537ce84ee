//! Redaction of emails, phone numbers and card numbers inside free text.
//!
//! One regex pass finds candidates; card candidates (13-19 digits, optionally grouped by spaces
//! or dashes) are replaced only when they pass the Luhn check, so order numbers and other long
//! digit runs survive. Phone candidates need 9 to 15 digits, which leaves ISO dates
//! (`2024-01-15`, 8 digits) and years alone. Text with no `@` and too few digits to hold a
//! phone number skips the regex entirely.

use regex::{CaptureLocations, Regex};

use super::strings::TextKernel;
use crate::error::{Error, Result};

const PATTERN: &str = r"(?x)
    (?P<email>[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.\w{2,})
  | (?P<card>(?-u:\b)\d(?:[\ \-]?\d){12,18}(?-u:\b))
  | (?P<phone>(?:\+\d{1,3}[\ .\-]?)?(?:\(\d{1,4}\)[\ .\-]?)?\d{2,4}(?:[\ .\-]?\d{2,4}){1,5})
";

/// The scrub operator, compiled.
pub(crate) struct Scrubber {
    regex: Regex,
    emails: bool,
    phones: bool,
    cards: bool,
}

impl Scrubber {
    pub(crate) fn new(emails: bool, phones: bool, cards: bool) -> Result<Self> {
        let regex = Regex::new(PATTERN)
            .map_err(|e| Error::internal(format!("scrub pattern does not compile: {e}")))?;
        Ok(Scrubber {
            regex,
            emails,
            phones,
            cards,
        })
    }

    /// What replaces the match of `group` spelling `text`, if anything.
    fn replacement(&self, group: usize, text: &str) -> Option<&'static str> {
        let digits = || text.bytes().filter(u8::is_ascii_digit).count();
        match group {
            1 if self.emails => Some("[EMAIL]"),
            2 if self.cards && luhn(text) => Some("[CARD]"),
            // A long digit run that fails Luhn may still be a phone number.
            2 | 3 if self.phones && (9..=15).contains(&digits()) => Some("[PHONE]"),
            _ => None,
        }
    }
}

/// True when the digits of `text` pass the Luhn checksum.
pub(crate) fn luhn(text: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0;
    for b in text.bytes().rev().filter(u8::is_ascii_digit) {
        let mut d = u32::from(b - b'0');
        if count % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        count += 1;
    }
    count >= 13 && sum.is_multiple_of(10)
}

impl TextKernel for Scrubber {
    type Scratch = Option<CaptureLocations>;

    fn map(
        &self,
        value: &str,
        locs: &mut Option<CaptureLocations>,
        out: &mut String,
    ) -> Result<()> {
        let has_at = value.as_bytes().contains(&b'@');
        if !has_at && value.bytes().filter(u8::is_ascii_digit).count() < 9 {
            out.push_str(value);
            return Ok(());
        }
        let locs = locs.get_or_insert_with(|| self.regex.capture_locations());
        let mut at = 0;
        let mut copied = 0;
        while at <= value.len() {
            let Some(m) = self.regex.captures_read_at(locs, value, at) else {
                break;
            };
            let group = (1..=3).find(|&g| locs.get(g).is_some()).unwrap_or(0);
            if let Some(rep) = self.replacement(group, m.as_str()) {
                out.push_str(&value[copied..m.start()]);
                out.push_str(rep);
                copied = m.end();
            }
            // Empty matches cannot occur (every branch needs characters), but never loop.
            at = m.end().max(m.start() + 1);
        }
        out.push_str(&value[copied..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(v: &str) -> String {
        let s = Scrubber::new(true, true, true).unwrap();
        let mut out = String::new();
        s.map(v, &mut None, &mut out).unwrap();
        out
    }

    #[test]
    fn finds_each_kind() {
        assert_eq!(
            scrub("mail zoë.x+tag@exämple.co.uk now"),
            "mail [EMAIL] now"
        );
        assert_eq!(scrub("card 4111 1111 1111 1111 ok"), "card [CARD] ok");
        assert_eq!(
            scrub("card 4111-1111-1111-1112 ok"),
            "card 4111-1111-1111-1112 ok"
        );
        assert_eq!(scrub("call +1 (555) 123-4567 today"), "call [PHONE] today");
        assert_eq!(scrub("call 020 7946 0958."), "call [PHONE].");
        assert_eq!(scrub("on 2024-01-15 at 10:30"), "on 2024-01-15 at 10:30");
        assert_eq!(scrub("日本語 a@b.io 日本語"), "日本語 [EMAIL] 日本語");
    }

    #[test]
    fn luhn_check() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("5555 5555 5555 4444"));
        assert!(!luhn("4111111111111112"));
        assert!(!luhn("0"));
    }
}
