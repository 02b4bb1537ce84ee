//! Detectors of personal data in text: email addresses, phone numbers and payment card numbers
//! (Luhn-checked, so that order numbers and ids of the same length rarely match).

use regex::Regex;

use crate::quality::rules::PiiKind;
use crate::{Error, Result};

/// A compiled detector; compile once per check, not per value.
pub(crate) struct PiiDetector {
    kind: PiiKind,
    pattern: Regex,
}

impl PiiDetector {
    pub(crate) fn new(kind: PiiKind) -> Result<Self> {
        let pattern = match kind {
            PiiKind::Email => r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            PiiKind::Phone => r"\+?\(?\d[\d\s().-]{7,22}\d",
            PiiKind::CreditCard => r"\d(?:[ -]?\d){12,18}",
            PiiKind::NationalId => r"\b(\d{3})-(\d{2})-(\d{4})\b",
            PiiKind::PersonName => {
                const NAMES: &str = include_str!("given_names.txt");
                let names: Vec<&str> = NAMES.split_whitespace().collect();
                let pattern = format!(
                    r"\b(?:{})\s+[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b",
                    names.join("|")
                );
                return Ok(PiiDetector {
                    kind,
                    pattern: Regex::new(&pattern).map_err(|e| {
                        Error::internal(format!("PII pattern does not compile: {e}"))
                    })?,
                });
            }
        };
        let pattern = Regex::new(pattern)
            .map_err(|e| Error::internal(format!("PII pattern does not compile: {e}")))?;
        Ok(PiiDetector { kind, pattern })
    }

    /// Whether `text` contains personal data of this detector's kind.
    pub(crate) fn detect(&self, text: &str) -> bool {
        match self.kind {
            PiiKind::Email => self.pattern.is_match(text),
            PiiKind::Phone => self.pattern.find_iter(text).any(|m| {
                let s = m.as_str();
                let digits = s.bytes().filter(u8::is_ascii_digit).count();
                // A bare run of digits is more often an id than a phone number.
                (10..=15).contains(&digits) && s.bytes().any(|b| !b.is_ascii_digit())
            }),
            PiiKind::CreditCard => self.pattern.find_iter(text).any(|m| {
                let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
                (13..=19).contains(&digits.len()) && luhn(&digits)
            }),
            // Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
            PiiKind::NationalId => self.pattern.captures_iter(text).any(|c| {
                let (area, group, serial) = (&c[1], &c[2], &c[3]);
                area != "000"
                    && area != "666"
                    && !area.starts_with('9')
                    && group != "00"
                    && serial != "0000"
            }),
            PiiKind::PersonName => self.pattern.is_match(text),
        }
    }
}

/// The Luhn checksum over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = (d - b'0') as u32;
            if i % 2 == 1 {
                let doubled = v * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_kind() {
        let email = PiiDetector::new(PiiKind::Email).unwrap();
        assert!(email.detect("write to jane.doe+x@example.co.uk today"));
        assert!(!email.detect("jane at example dot com"));
        let phone = PiiDetector::new(PiiKind::Phone).unwrap();
        assert!(phone.detect("call +1 (555) 123-4567"));
        assert!(phone.detect("030 1234 5678"));
        assert!(!phone.detect("order 1234567890"));
        assert!(!phone.detect("2024-01-31"));
        let card = PiiDetector::new(PiiKind::CreditCard).unwrap();
        assert!(card.detect("card 4111 1111 1111 1111"));
        assert!(card.detect("5500-0000-0000-0004"));
        assert!(!card.detect("4111 1111 1111 1112"));
    }

    #[test]
    fn luhn_checksum() {
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"79927398710"));
    }
}
