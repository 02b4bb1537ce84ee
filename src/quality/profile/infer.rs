//! Inferring what a string column holds: each value is classified by a cheap byte scan (no
//! allocation, no parsing into numbers), and the column's type is the narrowest one that every
//! non-empty value fits.

use serde::{Deserialize, Serialize};

/// The type a string value or column looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InferredType {
    /// No non-empty values.
    Empty,
    /// `true` or `false` in any case.
    Boolean,
    /// An optionally signed run of digits.
    Integral,
    /// A decimal or exponent number (integers fit too), or `nan`/`inf`.
    Fractional,
    /// `YYYY-MM-DD`, a valid calendar day.
    Date,
    /// A date followed by `T` or a space and `HH:MM[:SS[.fff]]`, with an optional `Z` or offset.
    Timestamp,
    /// Anything else.
    Text,
}

impl InferredType {
    /// Whether a value classified as `self` conforms to the `expected` column type.
    pub fn conforms_to(self, expected: InferredType) -> bool {
        use InferredType::*;
        match expected {
            Text => true,
            Fractional => matches!(self, Integral | Fractional | Empty),
            Timestamp => matches!(self, Date | Timestamp | Empty),
            other => self == other || self == Empty,
        }
    }
}

/// Classifies one value.
pub fn classify(value: &[u8]) -> InferredType {
    if value.is_empty() {
        InferredType::Empty
    } else if value.eq_ignore_ascii_case(b"true") || value.eq_ignore_ascii_case(b"false") {
        InferredType::Boolean
    } else if is_integral(value) {
        InferredType::Integral
    } else if is_fractional(value) {
        InferredType::Fractional
    } else if value.len() == 10 && is_date(value) {
        InferredType::Date
    } else if value.len() > 10 && is_date(&value[..10]) && is_time(&value[10..]) {
        InferredType::Timestamp
    } else {
        InferredType::Text
    }
}

fn digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

fn skip_sign(s: &[u8]) -> &[u8] {
    match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    }
}

fn is_integral(s: &[u8]) -> bool {
    let s = skip_sign(s);
    !s.is_empty() && digits(s) == s.len()
}

fn is_fractional(s: &[u8]) -> bool {
    let s = skip_sign(s);
    let special: [&[u8]; 4] = [b"nan", b"inf", b"infinity", b"NaN"];
    if special.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    let int = digits(s);
    let mut rest = &s[int..];
    let mut frac = 0;
    if rest.first() == Some(&b'.') {
        frac = digits(&rest[1..]);
        rest = &rest[1 + frac..];
    }
    if int + frac == 0 {
        return false;
    }
    match rest.first() {
        None => true,
        Some(b'e' | b'E') => {
            let exp = skip_sign(&rest[1..]);
            !exp.is_empty() && digits(exp) == exp.len()
        }
        _ => false,
    }
}

fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || digits(s) != s.len() {
        return None;
    }
    Some(s.iter().fold(0u32, |n, b| n * 10 + (b - b'0') as u32))
}

fn is_date(s: &[u8]) -> bool {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (number(&s[..4]), number(&s[5..7]), number(&s[8..]))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn is_time(s: &[u8]) -> bool {
    let Some((&sep, s)) = s.split_first() else {
        return false;
    };
    if (sep != b'T' && sep != b' ') || s.len() < 5 || s[2] != b':' {
        return false;
    }
    let (Some(h), Some(m)) = (number(&s[..2]), number(&s[3..5])) else {
        return false;
    };
    if h > 23 || m > 59 {
        return false;
    }
    let mut rest = &s[5..];
    if rest.first() == Some(&b':') {
        match rest.get(1..3).and_then(number) {
            Some(sec) if sec <= 60 => rest = &rest[3..],
            _ => return false,
        }
        if rest.first() == Some(&b'.') {
            let frac = digits(&rest[1..]);
            if frac == 0 {
                return false;
            }
            rest = &rest[1 + frac..];
        }
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', zone @ ..] => match zone {
            [h1, h2] | [h1, h2, _, _] | [h1, h2, b':', _, _] => {
                h1.is_ascii_digit()
                    && h2.is_ascii_digit()
                    && number(&zone[zone.len() - 2..]).is_some()
            }
            _ => false,
        },
        _ => false,
    }
}

/// Per-type counts of a column's non-empty values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TypeCounts {
    pub(crate) non_empty: u64,
    pub(crate) boolean: u64,
    pub(crate) integral: u64,
    pub(crate) fractional: u64,
    pub(crate) date: u64,
    pub(crate) timestamp: u64,
}

impl TypeCounts {
    #[inline]
    pub(crate) fn observe(&mut self, value: &[u8]) {
        match classify(value) {
            InferredType::Empty => return,
            InferredType::Boolean => self.boolean += 1,
            InferredType::Integral => self.integral += 1,
            InferredType::Fractional => self.fractional += 1,
            InferredType::Date => self.date += 1,
            InferredType::Timestamp => self.timestamp += 1,
            InferredType::Text => {}
        }
        self.non_empty += 1;
    }

    pub(crate) fn merge(&mut self, other: &TypeCounts) {
        self.non_empty += other.non_empty;
        self.boolean += other.boolean;
        self.integral += other.integral;
        self.fractional += other.fractional;
        self.date += other.date;
        self.timestamp += other.timestamp;
    }

    /// The narrowest type every non-empty value fits.
    pub(crate) fn inferred(&self) -> InferredType {
        let n = self.non_empty;
        if n == 0 {
            InferredType::Empty
        } else if self.integral == n {
            InferredType::Integral
        } else if self.integral + self.fractional == n {
            InferredType::Fractional
        } else if self.boolean == n {
            InferredType::Boolean
        } else if self.date == n {
            InferredType::Date
        } else if self.date + self.timestamp == n {
            InferredType::Timestamp
        } else {
            InferredType::Text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InferredType::*;

    #[test]
    fn classifies_values() {
        let cases: [(&str, InferredType); 18] = [
            ("", Empty),
            ("TRUE", Boolean),
            ("-42", Integral),
            ("+7", Integral),
            ("3.25", Fractional),
            (".5", Fractional),
            ("1e-3", Fractional),
            ("NaN", Fractional),
            ("1.", Fractional),
            ("2024-02-29", Date),
            ("2023-02-29", Text),
            ("2024-13-01", Text),
            ("2024-01-31T23:59:59.123Z", Timestamp),
            ("2024-01-31 08:00", Timestamp),
            ("2024-01-31T08:00:00+05:30", Timestamp),
            ("2024-01-31T25:00", Text),
            ("-", Text),
            ("1e", Text),
        ];
        for (value, expected) in cases {
            assert_eq!(classify(value.as_bytes()), expected, "{value:?}");
        }
    }

    #[test]
    fn column_type_is_the_narrowest_fit() {
        let mut counts = TypeCounts::default();
        for v in ["1", "2", ""] {
            counts.observe(v.as_bytes());
        }
        assert_eq!(counts.inferred(), Integral);
        counts.observe(b"2.5");
        assert_eq!(counts.inferred(), Fractional);
        counts.observe(b"x");
        assert_eq!(counts.inferred(), Text);
        assert!(Integral.conforms_to(Fractional));
        assert!(!Fractional.conforms_to(Integral));
    }
}
